// OpenSSL's libcrypto, the system's, for two jobs swift-crypto does not do: the PKCS#12 key derivation of
// RFC 7292 Appendix B (PKCS12_key_gen_uni, the reference the profiles' MAC is checked against), and the
// signing key held in locked memory by the security provider (LockedSigningKey: decryption into the locked
// pages, then one key per signature, freed — and so cleansed — at once; RSA's through CBlindedRSA).
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/core_names.h>

// EVP_PKEY_KEYPAIR, a macro of macros Swift does not import.
static const int paraphe_evp_pkey_keypair = EVP_PKEY_KEYPAIR;
