/* The few kernel types the block probes read, for CO-RE: libbpf relocates each field
 * access against the running kernel's BTF at load time (preserve_access_index), so
 * this header is never generated from the build host's BTF and need not match its
 * layout. Field names are those of Linux 6.18 (include/linux/blk-mq.h, blkdev.h). */
#ifndef KERNELKIT_VMLINUX_MIN_H
#define KERNELKIT_VMLINUX_MIN_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u32 __be32;
typedef __u16 __be16;
typedef __u32 __wsum;
typedef __u64 sector_t;
typedef __u32 blk_opf_t;
typedef __u32 dev_t;
typedef _Bool bool;
enum { false = 0, true = 1 };

enum {
    BPF_ANY = 0,
    BPF_NOEXIST = 1,
    BPF_EXIST = 2,
};

enum bpf_map_type {
    BPF_MAP_TYPE_HASH = 1,
    BPF_MAP_TYPE_ARRAY = 2,
    BPF_MAP_TYPE_PERCPU_HASH = 5,
    BPF_MAP_TYPE_PERCPU_ARRAY = 6,
    BPF_MAP_TYPE_RINGBUF = 27,
};

struct gendisk {
    int major;
    int first_minor;
} __attribute__((preserve_access_index));

struct request_queue {
    struct gendisk *disk;
} __attribute__((preserve_access_index));

struct block_device {
    dev_t bd_dev;
} __attribute__((preserve_access_index));

struct request {
    struct request_queue *q;
    blk_opf_t cmd_flags;
    unsigned int __data_len;
    sector_t __sector;
    struct block_device *part;
} __attribute__((preserve_access_index));

/* The registers a kprobe program receives (its context), for bpf_tracing.h's
 * BPF_KPROBE: the kernel's own layout (arch/x86/include/asm/ptrace.h,
 * arch/arm64/include/uapi/asm/ptrace.h), which the verifier checks accesses against.
 * __VMLINUX_H__ tells bpf_tracing.h to use the kernel's field names, as with a
 * generated vmlinux.h. */
#define __VMLINUX_H__
#if defined(__TARGET_ARCH_x86)
struct pt_regs {
    unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};
#elif defined(__TARGET_ARCH_arm64)
struct user_pt_regs {
    __u64 regs[31];
    __u64 sp;
    __u64 pc;
    __u64 pstate;
};
struct pt_regs {
    struct user_pt_regs user_regs;
    __u64 orig_x0;
    __s32 syscallno;
    __u32 unused2;
    __u64 sdei_ttbr1;
    __u64 pmr_save;
    __u64 stackframe[2];
    __u64 lockdep_hardirqs;
    __u64 exit_rcu;
};
#endif

#endif
