/* A PKCS#11 host for the provider's tests: loads a module with dlopen as any application does, then, by mode,
 *
 *   scan MODULE PASSWORD-FILE NEEDLE-FILE   logs in, signs, and counts the key's bytes in its own memory while
 *                                           logged in (must be found: the scanner works) and after C_Logout, after
 *                                           C_Finalize (must not be);
 *   fork MODULE PASSWORD-FILE NEEDLE-FILE   logs in, forks: the child finds the module not initialized, no key
 *                                           bytes in its memory, and initializes it again;
 *   threads MODULE PASSWORD-FILE N COUNT    logs in and signs from N threads at once, COUNT times each, one session
 *                                           per thread, printing each signature (hex) for the test to verify;
 *   bench MODULE PASSWORD-FILE ROUNDS SIGNATURES ITERATIONS [PROFILE]
 *                                           the provider's benchmark rows (bench/scripts/provider): C_Login against
 *                                           its floor — PBKDF2-HMAC-SHA256 and RFC 7292 App. B at ITERATIONS, OpenSSL's
 *                                           own, alternated with it in this process — then SHA256-RSA-PKCS C_Sign
 *                                           times, and this process's resident memory before the module and after;
 *                                           with PROFILE (the .p12), each C_Sign alternates with a signature of the
 *                                           same data by OpenSSL with the profile's key held in ordinary memory
 *                                           (EVP_DigestSign), the reference a C_Sign's time is judged against.
 *
 * The needle file holds a mask and the key's byte strings XORed with it, so the key never sits in this process's
 * memory in clear except where the module put it. Not part of the product: the test compiles it with cc.
 * Output: lines "name value" the test reads; exit 0 when every PKCS#11 call answered as expected. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include "/usr/include/p11-kit-1/p11-kit/pkcs11.h"

static CK_FUNCTION_LIST_PTR p11;
static unsigned char password[1100];
static size_t password_length;

#define CHECK(call, expected) do { CK_RV rv_ = (call); if (rv_ != (CK_RV)(expected)) { \
    fprintf(stderr, "%s:%d %s = 0x%lx, expected 0x%lx\n", __FILE__, __LINE__, #call, rv_, (CK_RV)(expected)); exit(2); } } while (0)

static void load(const char *path) {
    void *module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!module) { fprintf(stderr, "dlopen: %s\n", dlerror()); exit(2); }
    CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR) = (CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR))dlsym(module, "C_GetFunctionList");
    if (!get) { fprintf(stderr, "no C_GetFunctionList\n"); exit(2); }
    CHECK(get(&p11), CKR_OK);
}

static void initialize(void) {
    CK_C_INITIALIZE_ARGS args;
    memset(&args, 0, sizeof args);
    args.flags = CKF_OS_LOCKING_OK;
    CHECK(p11->C_Initialize(&args), CKR_OK);
}

static void read_password(const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) { perror(path); exit(2); }
    password_length = fread(password, 1, sizeof password, file);
    fclose(file);
    while (password_length > 0 && (password[password_length - 1] == '\n' || password[password_length - 1] == '\r')) password_length--;
}

static CK_SESSION_HANDLE open_session(void) {
    CK_SESSION_HANDLE session;
    CHECK(p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &session), CKR_OK);
    return session;
}

static CK_OBJECT_HANDLE private_key(CK_SESSION_HANDLE session, CK_KEY_TYPE *type) {
    CK_OBJECT_CLASS class = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE template[] = {{CKA_CLASS, &class, sizeof class}};
    CK_OBJECT_HANDLE key = 0;
    CK_ULONG found = 0;
    CHECK(p11->C_FindObjectsInit(session, template, 1), CKR_OK);
    CHECK(p11->C_FindObjects(session, &key, 1, &found), CKR_OK);
    CHECK(p11->C_FindObjectsFinal(session), CKR_OK);
    if (found != 1) { fprintf(stderr, "no private key\n"); exit(2); }
    CK_ATTRIBUTE attribute = {CKA_KEY_TYPE, type, sizeof *type};
    CHECK(p11->C_GetAttributeValue(session, key, &attribute, 1), CKR_OK);
    return key;
}

/* Signs 32 bytes of data with SHA256-RSA-PKCS or ECDSA-SHA256; returns the signature's length. */
static CK_ULONG sign(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key, CK_KEY_TYPE type, const unsigned char *data, size_t length,
                     unsigned char *signature) {
    CK_MECHANISM mechanism = {type == CKK_EC ? CKM_ECDSA_SHA256 : CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_ULONG signature_length = 512;
    CHECK(p11->C_SignInit(session, &mechanism, key), CKR_OK);
    CHECK(p11->C_Sign(session, (CK_BYTE_PTR)data, length, signature, &signature_length), CKR_OK);
    return signature_length;
}

/* The needles: a mask, then strings of the same length XORed with it. */
static unsigned char *needles;
static size_t needle_length, needle_count;

static void read_needles(const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) { perror(path); exit(2); }
    unsigned char header[2];
    if (fread(header, 1, 2, file) != 2) exit(2);
    needle_length = header[0];
    needle_count = header[1];
    needles = malloc(needle_length * (needle_count + 1));
    if (fread(needles, 1, needle_length * (needle_count + 1), file) != needle_length * (needle_count + 1)) { fprintf(stderr, "short needle file\n"); exit(2); }
    fclose(file);
}

/* Counts the places in this process's readable memory that hold a needle (compared through the mask). */
static long scan(void) {
    const size_t chunk = 1 << 20;
    unsigned char *buffer = mmap(NULL, chunk + 256, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int memory = open("/proc/self/mem", O_RDONLY);
    FILE *maps = fopen("/proc/self/maps", "r");
    if (buffer == MAP_FAILED || memory < 0 || !maps) { perror("scan"); exit(2); }
    const unsigned char *mask = needles;
    long hits = 0;
    char line[512];
    while (fgets(line, sizeof line, maps)) {
        uintptr_t start, end;
        char permissions[5];
        if (sscanf(line, "%lx-%lx %4s", &start, &end, permissions) != 3 || permissions[0] != 'r') continue;
        if (strstr(line, "[vvar]") || strstr(line, "[vsyscall]")) continue;
        if (start == (uintptr_t)buffer) continue;
        for (uintptr_t at = start; at < end; at += chunk) {
            size_t want = end - at < chunk + needle_length ? end - at : chunk + needle_length;
            ssize_t got = pread(memory, buffer, want, (off_t)at);
            if (got <= 0) continue;
            for (ssize_t i = 0; i + (ssize_t)needle_length <= got && i < (ssize_t)chunk; i++) {
                for (size_t n = 0; n < needle_count; n++) {
                    const unsigned char *masked = needles + needle_length * (n + 1);
                    if ((buffer[i] ^ mask[0]) != masked[0]) continue;
                    size_t k = 1;
                    while (k < needle_length && (buffer[i + k] ^ mask[k]) == masked[k]) k++;
                    if (k == needle_length) {
                        hits++;
                        fprintf(stderr, "needle %zu at %#lx: %s", n, (unsigned long)(at + i), line);
                    }
                }
            }
        }
    }
    fclose(maps);
    close(memory);
    explicit_bzero(buffer, chunk + 256);
    munmap(buffer, chunk + 256);
    return hits;
}

static void login(CK_SESSION_HANDLE session) {
    CHECK(p11->C_Login(session, CKU_USER, password, password_length), CKR_OK);
}

struct worker { CK_KEY_TYPE type; int count; unsigned char signatures[64][512]; CK_ULONG lengths[64]; };

static void *work(void *argument) {
    struct worker *worker = argument;
    CK_SESSION_HANDLE session = open_session();
    CK_KEY_TYPE type;
    CK_OBJECT_HANDLE key = private_key(session, &type);
    static const unsigned char data[] = "signed from many threads at once";
    for (int i = 0; i < worker->count; i++) worker->lengths[i] = sign(session, key, type, data, sizeof data - 1, worker->signatures[i]);
    CHECK(p11->C_CloseSession(session), CKR_OK);
    return NULL;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(double *values, int count, double p) {
    qsort(values, count, sizeof *values, by_value);
    int index = (int)(p * (count - 1) + 0.5);
    return values[index];
}

static long resident_kib(void) {
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    long value = -1;
    while (status && fgets(line, sizeof line, status))
        if (sscanf(line, "VmRSS: %ld", &value) == 1) break;
    if (status) fclose(status);
    return value;
}

/* The profile's two derivations at `iterations`, by OpenSSL: the floor of a log-in. */
static void derivations(int iterations) {
    static const unsigned char salt[16] = "sixteen byte sal";
    unsigned char key[32], bmp[2 * sizeof password + 2];
    size_t length = 0;
    for (size_t i = 0; i < password_length; i++) { bmp[length++] = 0; bmp[length++] = password[i]; }
    bmp[length++] = 0;
    bmp[length++] = 0;
    if (PKCS5_PBKDF2_HMAC((const char *)password, (int)password_length, salt, sizeof salt, iterations, EVP_sha256(), 32, key) != 1 ||
        PKCS12_key_gen_uni(bmp, (int)length, (unsigned char *)salt, sizeof salt, 3, iterations, 32, key, EVP_sha256()) != 1) {
        fprintf(stderr, "derivation failed\n");
        exit(2);
    }
}

static int bench(int argc, char **argv) {
    if (argc < 7) return 64;
    long before = resident_kib();
    load(argv[2]);
    read_password(argv[3]);
    initialize();
    int rounds = atoi(argv[4]), signatures = atoi(argv[5]), iterations = atoi(argv[6]);
    if (rounds < 1 || rounds > 1000 || signatures < 10 || signatures > 1000000 || iterations < 1) return 64;
    CK_SESSION_HANDLE session = open_session();
    double *logins = calloc(rounds, sizeof *logins), *floors = calloc(rounds, sizeof *floors), *ratios = calloc(rounds, sizeof *ratios);
    for (int round = 0; round <= rounds; round++) {
        double login_time = 0, floor_time = 0;
        for (int side = 0; side < 2; side++) {
            double start = now_ms();
            if ((side + round) % 2 == 0) {
                login(session);
                login_time = now_ms() - start;
                CHECK(p11->C_Logout(session), CKR_OK);
            } else {
                derivations(iterations);
                floor_time = now_ms() - start;
            }
        }
        if (round == 0) continue; /* warm-up */
        logins[round - 1] = login_time;
        floors[round - 1] = floor_time;
        ratios[round - 1] = login_time / floor_time;
    }
    printf("login-median-ms %.2f\nfloor-median-ms %.2f\nlogin-ratio-median %.3f\n", percentile(logins, rounds, 0.5),
           percentile(floors, rounds, 0.5), percentile(ratios, rounds, 0.5));
    login(session);
    CK_KEY_TYPE type;
    CK_OBJECT_HANDLE key = private_key(session, &type);
    unsigned char signature[512];
    static const unsigned char data[] = "a document to sign, 32 bytes...";
    EVP_PKEY *reference = NULL;
    if (argc > 7) {
        FILE *file = fopen(argv[7], "rb");
        PKCS12 *profile = file ? d2i_PKCS12_fp(file, NULL) : NULL;
        if (file) fclose(file);
        char text[sizeof password + 1];
        memcpy(text, password, password_length);
        text[password_length] = 0;
        if (!profile || PKCS12_parse(profile, text, &reference, NULL, NULL) != 1 || !reference) { fprintf(stderr, "%s: not read\n", argv[7]); return 2; }
        PKCS12_free(profile);
    }
    double *times = calloc(signatures, sizeof *times), *references = calloc(signatures, sizeof *references);
    for (int i = 0; i < 20; i++) sign(session, key, type, data, sizeof data - 1, signature);
    for (int i = 0; i < signatures; i++) {
        double start = now_ms();
        sign(session, key, type, data, sizeof data - 1, signature);
        times[i] = (now_ms() - start) * 1000;
        if (!reference) continue;
        start = now_ms();
        EVP_MD_CTX *context = EVP_MD_CTX_new();
        size_t length = sizeof signature;
        if (!context || EVP_DigestSignInit(context, NULL, EVP_sha256(), NULL, reference) != 1 ||
            EVP_DigestSign(context, signature, &length, data, sizeof data - 1) != 1) { fprintf(stderr, "OpenSSL did not sign\n"); return 2; }
        EVP_MD_CTX_free(context);
        references[i] = (now_ms() - start) * 1000;
    }
    double p50 = percentile(times, signatures, 0.5), p99 = percentile(times, signatures, 0.99);
    printf("sign-p50-us %.1f\nsign-p99-us %.1f\n", p50, p99);
    if (reference) {
        printf("openssl-sign-p50-us %.1f\nopenssl-sign-p99-us %.1f\n", percentile(references, signatures, 0.5), percentile(references, signatures, 0.99));
        EVP_PKEY_free(reference);
    }
    printf("rss-before-kib %ld\nrss-after-kib %ld\n", before, resident_kib());
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: host scan|fork|threads|bench MODULE PASSWORD-FILE ...\n"); return 64; }
    if (strcmp(argv[1], "bench") == 0) return bench(argc, argv);
    load(argv[2]);
    read_password(argv[3]);
    initialize();
    CK_SESSION_HANDLE session = open_session();
    login(session);
    CK_KEY_TYPE type;
    CK_OBJECT_HANDLE key = private_key(session, &type);
    unsigned char signature[512];
    static const unsigned char data[] = "a document";
    sign(session, key, type, data, sizeof data - 1, signature);

    if (strcmp(argv[1], "scan") == 0) {
        /* The key's secret attributes are sensitive, and it says it cannot be extracted. */
        unsigned char value[4096];
        CK_BBOOL extractable = CK_TRUE, sensitive = CK_FALSE;
        CK_ATTRIBUTE secret = {type == CKK_EC ? CKA_VALUE : CKA_PRIVATE_EXPONENT, value, sizeof value};
        CHECK(p11->C_GetAttributeValue(session, key, &secret, 1), CKR_ATTRIBUTE_SENSITIVE);
        CK_ATTRIBUTE flags[] = {{CKA_EXTRACTABLE, &extractable, sizeof extractable}, {CKA_SENSITIVE, &sensitive, sizeof sensitive}};
        CHECK(p11->C_GetAttributeValue(session, key, flags, 2), CKR_OK);
        if (extractable != CK_FALSE || sensitive != CK_TRUE) { fprintf(stderr, "the key is extractable or not sensitive\n"); return 2; }
        /* A search for a class the token does not hold finds nothing, without an error; what the module does not do
         * answers the standard's error. */
        CK_OBJECT_CLASS data_class = CKO_DATA;
        CK_ATTRIBUTE by_class = {CKA_CLASS, &data_class, sizeof data_class};
        CK_OBJECT_HANDLE none[4];
        CK_ULONG none_count = 99;
        CHECK(p11->C_FindObjectsInit(session, &by_class, 1), CKR_OK);
        CHECK(p11->C_FindObjects(session, none, 4, &none_count), CKR_OK);
        CHECK(p11->C_FindObjectsFinal(session), CKR_OK);
        if (none_count != 0) { fprintf(stderr, "a search for data objects found %lu\n", none_count); return 2; }
        CHECK(p11->C_SignInit(session, &(CK_MECHANISM){CKM_MD5_RSA_PKCS, NULL, 0}, key), CKR_MECHANISM_INVALID);
        CHECK(p11->C_EncryptInit(session, &(CK_MECHANISM){CKM_RSA_PKCS, NULL, 0}, key), CKR_FUNCTION_NOT_SUPPORTED);
        CHECK(p11->C_GenerateRandom(session, value, 16), CKR_RANDOM_NO_RNG);
        CHECK(p11->C_OpenSession(1, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &(CK_SESSION_HANDLE){0}), CKR_TOKEN_WRITE_PROTECTED);
        CHECK(p11->C_Login(session, CKU_USER, password, password_length), CKR_USER_ALREADY_LOGGED_IN);
        CHECK(p11->C_GetSlotList(CK_TRUE, NULL, NULL), CKR_ARGUMENTS_BAD);
        read_needles(argv[4]);
        printf("logged-in %ld\n", scan());
        CHECK(p11->C_Logout(session), CKR_OK);
        printf("logged-out %ld\n", scan());
        CHECK(p11->C_SignInit(session, &(CK_MECHANISM){type == CKK_EC ? CKM_ECDSA : CKM_SHA256_RSA_PKCS, NULL, 0}, key), CKR_USER_NOT_LOGGED_IN);
        login(session);
        sign(session, key, type, data, sizeof data - 1, signature);
        CHECK(p11->C_CloseAllSessions(1), CKR_OK);
        printf("sessions-closed %ld\n", scan());
        session = open_session();
        login(session);
        CHECK(p11->C_Finalize(NULL), CKR_OK);
        printf("finalized %ld\n", scan());
        return 0;
    }
    if (strcmp(argv[1], "fork") == 0) {
        read_needles(argv[4]);
        pid_t child = fork();
        if (child == 0) {
            CK_ULONG count = 0;
            CHECK(p11->C_GetSlotList(CK_TRUE, NULL, &count), CKR_CRYPTOKI_NOT_INITIALIZED);
            printf("child %ld\n", scan());
            fflush(stdout);
            initialize();
            CK_SESSION_HANDLE again = open_session();
            CHECK(p11->C_SignInit(again, &(CK_MECHANISM){CKM_SHA256_RSA_PKCS, NULL, 0}, key), CKR_USER_NOT_LOGGED_IN);
            _exit(0);
        }
        int status = 0;
        waitpid(child, &status, 0);
        sign(session, key, type, data, sizeof data - 1, signature);
        printf("child-exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128);
        return 0;
    }
    if (strcmp(argv[1], "threads") == 0) {
        int threads = atoi(argv[4]);
        int count = argc > 5 ? atoi(argv[5]) : 8;
        if (threads < 1 || threads > 64 || count < 1 || count > 64) return 64;
        pthread_t ids[64];
        static struct worker workers[64];
        for (int t = 0; t < threads; t++) {
            workers[t].count = count;
            pthread_create(&ids[t], NULL, work, &workers[t]);
        }
        for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
        for (int t = 0; t < threads; t++)
            for (int i = 0; i < count; i++) {
                printf("signature ");
                for (CK_ULONG b = 0; b < workers[t].lengths[i]; b++) printf("%02x", workers[t].signatures[i][b]);
                printf("\n");
            }
        CHECK(p11->C_Finalize(NULL), CKR_OK);
        return 0;
    }
    return 64;
}
