#ifndef KK_SHIM_SHIM_LINUX_UNALIGNED_H
#define KK_SHIM_SHIM_LINUX_UNALIGNED_H
#include <linux/types.h>
#include <string.h>
/* Little-endian host (x86_64, arm64): a memcpy is the unaligned load. */
static inline u16 get_unaligned_le16(const void *p) { u16 v; memcpy(&v, p, 2); return v; }
static inline u32 get_unaligned_le32(const void *p) { u32 v; memcpy(&v, p, 4); return v; }
static inline u64 get_unaligned_le64(const void *p) { u64 v; memcpy(&v, p, 8); return v; }
static inline void put_unaligned_le64(u64 v, void *p) { memcpy(p, &v, 8); }
#define cpu_to_le16(x) ((u16)(x))
#define cpu_to_le64(x) ((u64)(x))
#define le64_to_cpu(x) ((u64)(x))
#define le64_to_cpus(p) ((void)(p))
#define get_unaligned(p) ({ __typeof__(*(p)) v_; memcpy(&v_, (p), sizeof(v_)); v_; })
#endif
