#ifndef KK_SHIM_SHIM_CRYPTO_UTILS_H
#define KK_SHIM_SHIM_CRYPTO_UTILS_H
#include <linux/types.h>
static inline void crypto_xor(u8 *dst, const u8 *src, unsigned int n) { while (n--) *dst++ ^= *src++; }
#endif
