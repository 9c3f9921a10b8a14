// The declarations of CFuzzer.h are libFuzzer's; nothing to define here.
#include "CFuzzer.h"
