// PKCS#11 2.40 as p11-kit ships it (package libp11-kit-dev), in its standard ("compat") names: the types and
// constants of the security provider's C interface. Included by path so that nothing links libp11-kit: the
// provider is a module p11-kit loads, not a client of it.
#include "/usr/include/p11-kit-1/p11-kit/pkcs11.h"
