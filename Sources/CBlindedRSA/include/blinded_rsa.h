// RSA signatures for the security provider's key, which lives in locked memory and is rebuilt for each signature:
// the private numbers are read where they lie into BIGNUMs OpenSSL clears as it frees them, the message is padded
// (PKCS #1 v1.5 or PSS) and the private operation runs blinded with a blinding kept across signatures.
//
// Why not EVP_PKEY_sign on a key built per signature: OpenSSL creates a key's blinding on its first private
// operation, and the modular inverse that takes (~0.3 ms for RSA-2048) doubled the time of every signature. Here the
// blinding belongs to the log-in (it is derived from the public modulus and a random value, not from the key) and
// is used exactly as OpenSSL uses its own: squared after each use, made afresh every 32 uses.
#ifndef PARAPHE_BLINDED_RSA_H
#define PARAPHE_BLINDED_RSA_H

#include <stddef.h>
#include <openssl/evp.h>

// Big-endian bytes (an ASN.1 INTEGER's contents), read in place.
typedef struct {
    const unsigned char *bytes;
    size_t length;
} paraphe_rsa_number;

// An RSA private key as RFC 8017 lists it (two primes).
typedef struct {
    paraphe_rsa_number n, e, d, p, q, dp, dq, qinv;
} paraphe_rsa_key;

typedef struct paraphe_rsa_blinding paraphe_rsa_blinding;

// A blinding for the modulus `n` and public exponent `e`; NULL if they are not a usable public key.
paraphe_rsa_blinding *paraphe_rsa_blinding_new(paraphe_rsa_number n, paraphe_rsa_number e);
void paraphe_rsa_blinding_free(paraphe_rsa_blinding *blinding);

// The paddings: PKCS #1 v1.5 over `input` as given (a DigestInfo), PKCS #1 v1.5 over a hash (`hash` names it: the
// DigestInfo is encoded here), PSS over a hash with MGF1 over `mgf` and `salt` bytes of salt.
enum { PARAPHE_RSA_PKCS1_ENCODED = 0, PARAPHE_RSA_PKCS1 = 1, PARAPHE_RSA_PSS = 2 };

// Signs `input` with `key` and writes the modulus's length of bytes to `signature` (`signature_length` must be
// that length). Returns 1, or 0 on any failure (OpenSSL's error queue says which). Not thread-safe for one
// `blinding`: the caller serialises the signatures of one log-in.
int paraphe_rsa_sign(paraphe_rsa_blinding *blinding, const paraphe_rsa_key *key, int padding, const EVP_MD *hash, const EVP_MD *mgf,
                     int salt, const unsigned char *input, size_t input_length, unsigned char *signature, size_t signature_length);

#endif
