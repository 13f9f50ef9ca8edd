/* Structures shared by the BPF programs (Sources/KernelProbes/BPF, the .bpf.c files) and the
 * Swift side (KernelProbes), so that both agree on every byte. The _Static_asserts
 * pin the sizes: a change on one side that the other does not see fails the build. */
#ifndef KERNELKIT_PROBES_H
#define KERNELKIT_PROBES_H

#ifdef __bpf__
typedef unsigned char kk_u8;
typedef unsigned int kk_u32;
typedef unsigned long long kk_u64;
#else
#include <stdint.h>
typedef uint8_t kk_u8;
typedef uint32_t kk_u32;
typedef uint64_t kk_u64;
#endif

/* log2 buckets, as bcc's tools: slot i counts 2^i <= v < 2^(i+1); slot 0 counts 0 and 1. */
#define KK_MAX_SLOTS 27
#define KK_COMM_LEN 16

/* Operation classes for -F (REQ_OP_* in include/linux/blk_types.h). */
#define KK_OP_READ 0
#define KK_OP_WRITE 1
#define KK_OP_FLUSH 2
#define KK_OP_DISCARD 3
#define KK_OP_OTHER 4

/* A histogram key: per disk (-D), per operation and sync flag (-F), per process (bitesize). */
struct kk_hist_key {
    kk_u32 dev;     /* MKDEV(major, first_minor) as the kernel encodes it: major << 20 | minor */
    kk_u32 op;      /* KK_OP_*, or 0 when not split by operation */
    kk_u32 sync;    /* REQ_SYNC set */
    kk_u32 pad;
    char comm[KK_COMM_LEN]; /* bitesize: the issuing task; empty otherwise */
};
_Static_assert(sizeof(struct kk_hist_key) == 32, "kk_hist_key layout");

struct kk_hist {
    kk_u64 slots[KK_MAX_SLOTS];
    kk_u64 count;
    kk_u64 sum;     /* of the values, for means */
};
_Static_assert(sizeof(struct kk_hist) == (KK_MAX_SLOTS + 2) * 8, "kk_hist layout");

/* What biosnoop sends through its ring buffer for each completed request. */
struct kk_event {
    kk_u64 ts_ns;       /* completion, CLOCK_MONOTONIC */
    kk_u64 latency_ns;  /* issue (or insert with -Q) to completion */
    kk_u64 sector;
    kk_u32 bytes;
    kk_u32 dev;
    kk_u32 pid;
    kk_u32 op;
    kk_u32 sync;
    kk_u32 pad;
    char comm[KK_COMM_LEN];
};
_Static_assert(sizeof(struct kk_event) == 64, "kk_event layout");

/* Set before load: the programs' whole .rodata (so user space writes it as one block).
 * What to measure, split by and filter on. */
struct kk_config {
    kk_u32 per_disk;
    kk_u32 per_op;
    kk_u32 queued;
    kk_u32 filter_dev;  /* 0: every disk */
    kk_u32 mode;        /* 0 latency histogram, 1 size histogram, 2 events */
};
_Static_assert(sizeof(struct kk_config) == 20, "kk_config layout");

/* boot trace: processes from fork, exec and exit (sched tracepoints). */
#define KK_PROC_FORK 1
#define KK_PROC_EXEC 2
#define KK_PROC_EXIT 3
#define KK_PATH_LEN 128
#define KK_ARG0_LEN 32

struct kk_proc_event {
    kk_u64 ts_ns;       /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
    kk_u32 kind;        /* KK_PROC_* */
    kk_u32 pid;         /* the process (tgid); for a fork, the new task's id */
    kk_u32 ppid;        /* fork: the parent process (tgid) */
    kk_u32 exit_code;   /* exit: task->exit_code (status << 8 | signal) */
    char comm[KK_COMM_LEN];
    char filename[KK_PATH_LEN]; /* exec: the file executed */
    char arg0[KK_ARG0_LEN];     /* exec: argv[0] (busybox applets all execute one file) */
};
_Static_assert(sizeof(struct kk_proc_event) == 200, "kk_proc_event layout");

#endif
