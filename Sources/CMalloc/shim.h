// glibc's malloc tuning, mallopt(3) (HeapPolicy): <malloc.h> is not in Swift's Glibc module.
// Part of libc: nothing to link.
#include <malloc.h>
