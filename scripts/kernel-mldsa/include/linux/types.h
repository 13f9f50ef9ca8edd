/* Userspace stand-in for <linux/types.h>: just the kernel's fixed-width names. */
#ifndef KK_SHIM_TYPES_H
#define KK_SHIM_TYPES_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <errno.h>
typedef uint8_t u8; typedef uint16_t u16; typedef uint32_t u32; typedef uint64_t u64;
typedef int8_t s8; typedef int16_t s16; typedef int32_t s32; typedef int64_t s64;
typedef uint16_t __le16; typedef uint32_t __le32; typedef uint64_t __le64;
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define __maybe_unused __attribute__((unused))
#define __init
#define __exit
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define EKEYREJECTED 129
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif
#ifndef KK_SHIM_TYPES_EXTRA
#define KK_SHIM_TYPES_EXTRA
#define IS_ENABLED(x) 0
#define __initconst
#define __ro_after_init
#include <assert.h>
#define WARN_ON_ONCE(c) ((void)(c))
static inline uint64_t rol64(uint64_t w, unsigned int s) { return (w << (s & 63)) | (w >> ((-s) & 63)); }
static inline bool mem_is_zero(const void *p, size_t n) { const uint8_t *b = p; for (size_t i = 0; i < n; i++) if (b[i]) return false; return true; }
#endif
