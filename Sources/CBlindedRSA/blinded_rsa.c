// See include/blinded_rsa.h. The legacy RSA functions are the only ones OpenSSL 3 offers for a private operation
// without its own blinding (RSA_FLAG_NO_BLINDING) and for the paddings alone; they are deprecated, not removed.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "blinded_rsa.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/rsa.h>
#include <string.h>

struct paraphe_rsa_blinding {
    BIGNUM *n, *e;
    BN_MONT_CTX *mont;
    BN_BLINDING *blinding;
    size_t modulus_length;
};

void paraphe_rsa_blinding_free(paraphe_rsa_blinding *blinding) {
    if (blinding == NULL) return;
    BN_BLINDING_free(blinding->blinding);
    BN_MONT_CTX_free(blinding->mont);
    BN_free(blinding->n);
    BN_free(blinding->e);
    OPENSSL_free(blinding);
}

paraphe_rsa_blinding *paraphe_rsa_blinding_new(paraphe_rsa_number n, paraphe_rsa_number e) {
    paraphe_rsa_blinding *result = OPENSSL_zalloc(sizeof *result);
    BN_CTX *context = BN_CTX_new();
    BIGNUM *constant_time_n = BN_new();
    if (result == NULL || context == NULL || constant_time_n == NULL) goto failed;
    result->n = BN_bin2bn(n.bytes, (int)n.length, NULL);
    result->e = BN_bin2bn(e.bytes, (int)e.length, NULL);
    result->mont = BN_MONT_CTX_new();
    if (result->n == NULL || result->e == NULL || result->mont == NULL || !BN_is_odd(result->n) || BN_num_bits(result->n) < 1024 ||
        BN_num_bits(result->n) > 4096 || !BN_is_odd(result->e) || !BN_MONT_CTX_set(result->mont, result->n, context))
        goto failed;
    result->modulus_length = (size_t)BN_num_bytes(result->n);
    // As OpenSSL's own RSA blinding: the inverse computed in constant time, the public exponentiation in Montgomery form.
    BN_with_flags(constant_time_n, result->n, BN_FLG_CONSTTIME);
    result->blinding = BN_BLINDING_create_param(NULL, result->e, constant_time_n, context, BN_mod_exp_mont, result->mont);
    if (result->blinding == NULL) goto failed;
    BN_free(constant_time_n);
    BN_CTX_free(context);
    return result;
failed:
    BN_free(constant_time_n);
    BN_CTX_free(context);
    paraphe_rsa_blinding_free(result);
    return NULL;
}

// The key as a legacy RSA object run by OpenSSL's own implementation (never a host's ENGINE), its private numbers
// in BIGNUMs flagged secure (RSA_free clears them), without OpenSSL's blinding (ours is applied around it).
static RSA *rsa_key(const paraphe_rsa_key *key) {
    RSA *rsa = RSA_new();
    if (rsa == NULL) return NULL;
    if (RSA_set_method(rsa, RSA_PKCS1_OpenSSL()) != 1) {
        RSA_free(rsa);
        return NULL;
    }
    const paraphe_rsa_number *numbers[8] = {&key->n, &key->e, &key->d, &key->p, &key->q, &key->dp, &key->dq, &key->qinv};
    BIGNUM *values[8] = {NULL};
    int read = 1;
    for (int i = 0; i < 8 && read; i++) {
        values[i] = i < 2 ? BN_new() : BN_secure_new();
        read = values[i] != NULL && numbers[i]->length > 0 && numbers[i]->length <= 1024 &&
               BN_bin2bn(numbers[i]->bytes, (int)numbers[i]->length, values[i]) != NULL;
    }
    if (!read || RSA_set0_key(rsa, values[0], values[1], values[2]) != 1) goto failed;
    values[0] = values[1] = values[2] = NULL;
    if (RSA_set0_factors(rsa, values[3], values[4]) != 1) goto failed;
    values[3] = values[4] = NULL;
    if (RSA_set0_crt_params(rsa, values[5], values[6], values[7]) != 1) goto failed;
    RSA_set_flags(rsa, RSA_FLAG_NO_BLINDING);
    return rsa;
failed:
    for (int i = 0; i < 8; i++) BN_clear_free(values[i]);
    RSA_free(rsa);
    return NULL;
}

// RFC 8017 §9.2, note 1: the DigestInfo before each hash.
static const unsigned char sha256_info[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                            0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const unsigned char sha384_info[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                            0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
static const unsigned char sha512_info[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                            0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

static int pad(RSA *rsa, int padding, const EVP_MD *hash, const EVP_MD *mgf, int salt, const unsigned char *input, size_t input_length,
               unsigned char *encoded, size_t length) {
    switch (padding) {
    case PARAPHE_RSA_PKCS1_ENCODED:
        return RSA_padding_add_PKCS1_type_1(encoded, (int)length, input, (int)input_length);
    case PARAPHE_RSA_PKCS1: {
        if (hash == NULL) return 0;
        const unsigned char *info;
        size_t info_length;
        switch (EVP_MD_get_type(hash)) {
        case NID_sha256: info = sha256_info, info_length = sizeof sha256_info; break;
        case NID_sha384: info = sha384_info, info_length = sizeof sha384_info; break;
        case NID_sha512: info = sha512_info, info_length = sizeof sha512_info; break;
        default: return 0;
        }
        unsigned char digest_info[sizeof sha512_info + EVP_MAX_MD_SIZE];
        if (input_length != (size_t)EVP_MD_get_size(hash)) return 0;
        memcpy(digest_info, info, info_length);
        memcpy(digest_info + info_length, input, input_length);
        return RSA_padding_add_PKCS1_type_1(encoded, (int)length, digest_info, (int)(info_length + input_length));
    }
    case PARAPHE_RSA_PSS:
        if (hash == NULL || input_length != (size_t)EVP_MD_get_size(hash)) return 0;
        return RSA_padding_add_PKCS1_PSS_mgf1(rsa, encoded, input, hash, mgf, salt);
    default:
        return 0;
    }
}

int paraphe_rsa_sign(paraphe_rsa_blinding *blinding, const paraphe_rsa_key *key, int padding, const EVP_MD *hash, const EVP_MD *mgf,
                     int salt, const unsigned char *input, size_t input_length, unsigned char *signature, size_t signature_length) {
    if (blinding == NULL || key == NULL || signature_length != blinding->modulus_length || signature_length > 512) return 0;
    int result = 0;
    unsigned char encoded[512];
    RSA *rsa = rsa_key(key);
    BN_CTX *context = BN_CTX_new();
    BIGNUM *value = BN_new();
    // The key must be the one the blinding was made for.
    if (rsa == NULL || context == NULL || value == NULL || BN_cmp(RSA_get0_n(rsa), blinding->n) != 0 ||
        BN_cmp(RSA_get0_e(rsa), blinding->e) != 0 || pad(rsa, padding, hash, mgf, salt, input, input_length, encoded, signature_length) != 1)
        goto done;
    // m·r^e, then (m·r^e)^d = s·r by OpenSSL (which checks the result against the public key), then s·r·r⁻¹.
    if (BN_bin2bn(encoded, (int)signature_length, value) == NULL || BN_BLINDING_convert_ex(value, NULL, blinding->blinding, context) != 1 ||
        BN_bn2binpad(value, encoded, (int)signature_length) != (int)signature_length ||
        RSA_private_encrypt((int)signature_length, encoded, signature, rsa, RSA_NO_PADDING) != (int)signature_length ||
        BN_bin2bn(signature, (int)signature_length, value) == NULL || BN_BLINDING_invert_ex(value, NULL, blinding->blinding, context) != 1 ||
        BN_bn2binpad(value, signature, (int)signature_length) != (int)signature_length)
        goto done;
    result = 1;
done:
    if (result != 1) OPENSSL_cleanse(signature, signature_length);
    OPENSSL_cleanse(encoded, sizeof encoded);
    BN_clear_free(value);
    BN_CTX_free(context);
    RSA_free(rsa);
    return result;
}
