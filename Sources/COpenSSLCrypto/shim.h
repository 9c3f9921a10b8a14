// OpenSSL's libcrypto, for one function: the PKCS#12 key derivation of RFC 7292 Appendix B
// (PKCS12_key_gen_uni), the reference implementation the profiles' MAC is checked against.
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
