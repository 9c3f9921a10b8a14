// The security provider's allocator for its own copy of BoringSSL (the one inside swift-crypto): see arena.c.
// Nothing to call: BoringSSL finds the three functions by name (weak symbols it declares).
#pragma once
#include <stddef.h>

/// Bytes the arena holds in locked pages now (for the tests and the benchmark's curiosity; 0 before any use).
size_t paraphe_arena_bytes_in_use(void);
