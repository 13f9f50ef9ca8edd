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
    kk_u64 sum;     /* of the exact values (ns for latency, bytes for size), for _sum and means */
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
/* A module loaded and initialised (module_load, then its init between initcall_start
 * and initcall_finish on the same task): filename = its name, ts_ns = the init's start,
 * exit_code = the init's return, arg0 = durations (below). */
#define KK_PROC_MODULE 4
#define KK_PATH_LEN 128
#define KK_ARG0_LEN 32

struct kk_proc_event {
    kk_u64 ts_ns;       /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
    kk_u32 kind;        /* KK_PROC_* */
    kk_u32 pid;         /* the process (tgid); for a fork, the new task's id */
    kk_u32 ppid;        /* fork: the parent process (tgid) */
    kk_u32 exit_code;   /* exit: task->exit_code (status << 8 | signal) */
    char comm[KK_COMM_LEN];
    char filename[KK_PATH_LEN]; /* exec: the file executed; module: its name */
    char arg0[KK_ARG0_LEN];     /* exec: argv[0] (busybox applets all execute one file);
                                   module: the init's duration in ns, a kk_u64 in the
                                   first 8 bytes, and the load's ns in the next 8 */
};
_Static_assert(sizeof(struct kk_proc_event) == 200, "kk_proc_event layout");

/* boot trace: block I/O submitted per process (block_bio_queue, by the submitting task). */
struct kk_proc_io {
    kk_u64 requests;
    kk_u64 bytes;
};
_Static_assert(sizeof(struct kk_proc_io) == 16, "kk_proc_io layout");
/* The width of process.bpf.c's io_time buckets: 50 ms. */
#define KK_IO_BUCKET_NS 50000000ULL

/* Hyper-V probes (vmbus.bpf.c, netvsc.bpf.c, storvsc.bpf.c): one ring-buffer record per
 * driver event; user space (KernelProbes/HyperV) pairs, aggregates and labels them. */
#define KK_HV_CHAN_SCHED 1    /* vmbus_chan_sched: the ISR scheduled the channel; id = relid */
#define KK_HV_ON_EVENT 2      /* vmbus_on_event: the channel's tasklet ran its callback; id = relid */
#define KK_HV_SETEVENT 3      /* vmbus_setevent: the guest signalled the host; id = relid */
#define KK_HV_OFFER 4         /* vmbus_onoffer: id = relid, value = sub-channel index,
                                 data = interface type GUID then instance GUID (16 + 16 bytes) */
#define KK_HV_RESCIND 5       /* vmbus_onoffer_rescind: id = relid */
#define KK_HV_NV_SEND 10      /* nvsp_send_pkt: id = queue, value = send-section index
                                 (0xffffffff: none), value2 = section bytes; data = the interface (netvsc events) */
#define KK_HV_NV_RECV 11      /* nvsp_recv: one inbound VMBus packet; id = queue, value = NVSP type */
#define KK_HV_RNDIS_RECV 12   /* rndis_recv: one RNDIS message; id = queue, value = its length,
                                 value2 = its type (RNDIS_MSG_PACKET 1: a data packet) */
#define KK_HV_NV_XMIT 13      /* net_dev_start_xmit on a netvsc interface: id = tx queue, value = bytes */
#define KK_HV_NV_GRO 14       /* napi_gro_receive_entry on a netvsc interface: id = rx queue, value = bytes */
#define KK_HV_SV_SUBMIT 20    /* storvsc_queuecommand: key = the scsi_cmnd, value = bytes,
                                 value2 = SCSI host number, extra = target id << 16 | lun */
#define KK_HV_SV_DONE 21      /* scsi_done in storvsc's channel callback: key = the scsi_cmnd,
                                 id = relid of the channel (0: completed outside a callback) */

struct kk_hv_event {
    kk_u64 ts_ns;       /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
    kk_u64 key;         /* storvsc: the request, pairing submit with completion */
    kk_u32 kind;        /* KK_HV_* */
    kk_u32 cpu;         /* the CPU the event ran on */
    kk_u32 id;          /* relid or queue */
    kk_u32 value;
    kk_u32 value2;
    kk_u32 extra;
    kk_u8 data[32];
};
_Static_assert(sizeof(struct kk_hv_event) == 72, "kk_hv_event layout");

#endif
