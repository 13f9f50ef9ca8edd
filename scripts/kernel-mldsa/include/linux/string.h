#ifndef KK_SHIM_SHIM_LINUX_STRING_H
#define KK_SHIM_SHIM_LINUX_STRING_H
#include <string.h>
#include <linux/types.h>
static inline void memzero_explicit(void *p, size_t n) { explicit_bzero(p, n); }
#endif
