// Where the security provider's BoringSSL keeps what it allocates: pages that are locked in RAM (mlock, where the
// process's RLIMIT_MEMLOCK allows), left out of core dumps (MADV_DONTDUMP) and read as zeros by a forked child
// (MADV_WIPEONFORK); every block is zeroed when it is freed. BoringSSL (vendored by swift-crypto) calls
// OPENSSL_memory_alloc/free/get_size when a program defines them; only the module (libparaphe-pkcs11.so) links this
// file, and its version script keeps the three names local, so no other copy of BoringSSL in a host sees them.
//
// With it, an RSA key parsed by BoringSSL — its numbers, Montgomery contexts, blinding values — can stay ready for
// the whole log-in without a byte of it in ordinary memory, and a signature costs what OpenSSL's does.
//
// Blocks come in power-of-two classes (32 B to 64 KiB) from 256 KiB chunks (mlock makes them resident at once), with
// a free list a class; larger ones get pages of their own. A forked child starts a new chunk at its first allocation:
// what the parent held reads as zeros there and is never handed out again (a free of it is ignored).
#define _GNU_SOURCE
#include "CLockedArena.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

enum { HEADER = 16, SMALLEST = 5, LARGEST = 16, CHUNK = 1 << 18 };

struct header {
    size_t block;      // the block's size (header included); 0 in a page the kernel wiped
    size_t requested;  // what the caller asked for
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t owner;
static unsigned char *chunk;
static size_t used;
static void *free_lists[LARGEST + 1];
static size_t in_use;

static void *map_pages(size_t size) {
    void *pages = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED) return NULL;
    (void)mlock(pages, size);  // best effort: RLIMIT_MEMLOCK may be small
    (void)madvise(pages, size, MADV_DONTDUMP);
    if (madvise(pages, size, MADV_WIPEONFORK) != 0) {
        munmap(pages, size);  // without it a forked child would keep the key: no memory rather than that
        return NULL;
    }
    return pages;
}

static int class_of(size_t size) {
    int class = SMALLEST;
    while (((size_t)1 << class) < size) class++;
    return class;
}

// Under the lock: a forked child forgets the parent's chunk and free lists (their pages read as zeros).
static void adopt_process(void) {
    pid_t self = getpid();
    if (owner == self) return;
    owner = self;
    chunk = NULL;
    used = 0;
    in_use = 0;
    memset(free_lists, 0, sizeof free_lists);
}

static void acquire(void) {
    // In a child the lock may have been held by a thread that did not follow the fork: make a new one.
    if (__atomic_load_n(&owner, __ATOMIC_ACQUIRE) != getpid()) pthread_mutex_init(&lock, NULL);
    pthread_mutex_lock(&lock);
    adopt_process();
}

void *OPENSSL_memory_alloc(size_t size) {
    if (size > SIZE_MAX - HEADER - 4096) return NULL;
    size_t total = size + HEADER;
    acquire();
    unsigned char *block = NULL;
    size_t block_size;
    if (total > ((size_t)1 << LARGEST)) {
        block_size = (total + 4095) & ~(size_t)4095;
        block = map_pages(block_size);
    } else {
        int class = class_of(total);
        block_size = (size_t)1 << class;
        if (free_lists[class]) {
            block = free_lists[class];
            memcpy(&free_lists[class], block + HEADER, sizeof(void *));
            memset(block + HEADER, 0, sizeof(void *));
        } else {
            if (!chunk || used + block_size > CHUNK) {
                chunk = map_pages(CHUNK);  // the previous chunk stays: its blocks are in use or on the lists
                used = 0;
            }
            if (chunk) {
                block = chunk + used;
                used += block_size;
            }
        }
    }
    if (block) {
        struct header header = {block_size, size};
        memcpy(block, &header, sizeof header);
        in_use += block_size;
    }
    pthread_mutex_unlock(&lock);
    return block ? block + HEADER : NULL;
}

void OPENSSL_memory_free(void *pointer) {
    unsigned char *block = (unsigned char *)pointer - HEADER;
    struct header header;
    acquire();
    memcpy(&header, block, sizeof header);
    if (header.block == 0) {  // the parent's, wiped by the fork: never reused
        pthread_mutex_unlock(&lock);
        return;
    }
    explicit_bzero(pointer, header.block - HEADER);
    in_use -= header.block;
    if (header.block > ((size_t)1 << LARGEST)) {
        explicit_bzero(block, HEADER);
        munlock(block, header.block);
        munmap(block, header.block);
    } else {
        int class = class_of(header.block);
        memcpy(block + HEADER, &free_lists[class], sizeof(void *));
        free_lists[class] = block;
    }
    pthread_mutex_unlock(&lock);
}

size_t OPENSSL_memory_get_size(void *pointer) {
    struct header header;
    memcpy(&header, (unsigned char *)pointer - HEADER, sizeof header);
    return header.requested;
}

size_t paraphe_arena_bytes_in_use(void) {
    acquire();
    size_t bytes = in_use;
    pthread_mutex_unlock(&lock);
    return bytes;
}
