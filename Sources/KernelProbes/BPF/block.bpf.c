// SPDX-License-Identifier: GPL-2.0
/* Block I/O probes: latency and size histograms and per-request events.
 *
 * One object for biolatency, bitesize and biosnoop; user space picks the mode and the
 * attach kind. tp_btf programs read `struct request` directly; the raw_tp twins are
 * the fallback where tp_btf cannot attach. Both read fields with BPF_CORE_READ, so the
 * CO-RE relocations in vmlinux_min.h adapt them to the running kernel. */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "probes.h"

#define MODE_LATENCY 0
#define MODE_SIZE 1
#define MODE_SNOOP 2

#define REQ_OP_MASK 0xff
#define REQ_SYNC (1u << 11) /* __REQ_SYNC = REQ_OP_BITS (8) + 3, include/linux/blk_types.h */

const volatile struct kk_config cfg = {};

struct start_info {
    kk_u64 ts;
    kk_u32 pid;
    kk_u32 pad;
    char comm[KK_COMM_LEN];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, struct request *);
    __type(value, struct start_info);
} start SEC(".maps");

/* Per-CPU, so that updates need no atomic instructions; user space sums the CPUs. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 4096);
    __type(key, struct kk_hist_key);
    __type(value, struct kk_hist);
} hists SEC(".maps");

#include "ringbuf.h"

/* Requests seen without a start (the second .bss word, after lost_events). */
kk_u64 missed_starts = 0;

static struct kk_hist zero_hist;

/* Field reads: tp_btf programs dereference typed pointers directly (the verifier turns
 * them into fault-safe loads, no helper call); raw_tp programs must go through
 * bpf_probe_read_kernel (BPF_CORE_READ). `btf` is a constant at every call site, so
 * each program keeps only its own kind of read. */
#define RQ_READ(btf, rq, field) ((btf) ? __builtin_preserve_access_index((rq)->field) : BPF_CORE_READ(rq, field))

static __always_inline kk_u32 request_dev(struct request *rq, bool btf)
{
    struct gendisk *disk = btf ? __builtin_preserve_access_index(rq->q->disk) : BPF_CORE_READ(rq, q, disk);
    if (!disk)
        return 0;
    if (btf)
        return ((kk_u32)__builtin_preserve_access_index(disk->major) << 20) | (kk_u32)__builtin_preserve_access_index(disk->first_minor);
    return ((kk_u32)BPF_CORE_READ(disk, major) << 20) | (kk_u32)BPF_CORE_READ(disk, first_minor);
}

static __always_inline kk_u32 op_class(kk_u32 flags)
{
    switch (flags & REQ_OP_MASK) {
    case 0: return KK_OP_READ;
    case 1: return KK_OP_WRITE;
    case 2: return KK_OP_FLUSH;
    case 3: return KK_OP_DISCARD;
    default: return KK_OP_OTHER;
    }
}

/* floor(log2(v)), 0 for 0 and 1: bcc's log2l. */
static __always_inline kk_u32 log2l(kk_u64 v)
{
    kk_u32 r = 0;
    if (v >> 32) { v >>= 32; r += 32; }
    if (v >> 16) { v >>= 16; r += 16; }
    if (v >> 8) { v >>= 8; r += 8; }
    if (v >> 4) { v >>= 4; r += 4; }
    if (v >> 2) { v >>= 2; r += 2; }
    if (v >> 1) { r += 1; }
    return r;
}

/* `value` picks the log2 slot (in the histogram's unit: µs, KiB, as bcc's tools);
 * `exact` is added to the sum in the finer unit (ns, bytes), so that a Prometheus
 * histogram's _sum is the true total, not one of truncated values. */
static __always_inline void hist_add(struct kk_hist_key *key, kk_u64 value, kk_u64 exact)
{
    struct kk_hist *h = bpf_map_lookup_elem(&hists, key);
    if (!h) {
        bpf_map_update_elem(&hists, key, &zero_hist, BPF_NOEXIST);
        h = bpf_map_lookup_elem(&hists, key);
        if (!h)
            return;
    }
    kk_u32 slot = log2l(value);
    if (slot >= KK_MAX_SLOTS)
        slot = KK_MAX_SLOTS - 1;
    h->slots[slot] += 1;
    h->count += 1;
    h->sum += exact;
}

/* The histogram key's disk and operation, when asked (-D, -F; the Prometheus metrics'
 * device and operation labels). */
static __always_inline void key_request(struct kk_hist_key *key, struct request *rq, bool btf)
{
    if (cfg.per_disk)
        key->dev = request_dev(rq, btf);
    if (cfg.per_op) {
        kk_u32 flags = RQ_READ(btf, rq, cmd_flags);
        key->op = op_class(flags);
        key->sync = !!(flags & REQ_SYNC);
    }
}

static __always_inline int filtered(struct request *rq, bool btf)
{
    return cfg.filter_dev && request_dev(rq, btf) != cfg.filter_dev;
}

static __always_inline int on_start(struct request *rq, int is_insert, bool btf)
{
    if (filtered(rq, btf))
        return 0;
    if (cfg.mode == MODE_SIZE) {
        if (is_insert)
            return 0;
        struct kk_hist_key key = {};
        bpf_get_current_comm(&key.comm, sizeof(key.comm));
        key_request(&key, rq, btf);
        kk_u32 bytes = RQ_READ(btf, rq, __data_len);
        hist_add(&key, bytes / 1024, bytes);
        return 0;
    }
    /* With -Q the clock starts at insert; requests that skip the scheduler (and so
     * have no insert) start at issue. Without -Q, only issue counts. */
    if (is_insert && !cfg.queued)
        return 0;
    if (!is_insert && cfg.queued && bpf_map_lookup_elem(&start, &rq))
        return 0;
    struct start_info info = {};
    info.ts = bpf_ktime_get_ns();
    /* Who issued it matters only for biosnoop's events. */
    if (cfg.mode == MODE_SNOOP) {
        info.pid = bpf_get_current_pid_tgid() >> 32;
        bpf_get_current_comm(&info.comm, sizeof(info.comm));
    }
    bpf_map_update_elem(&start, &rq, &info, BPF_ANY);
    return 0;
}

static __always_inline int on_complete(struct request *rq, bool btf)
{
    if (cfg.mode == MODE_SIZE)
        return 0;
    struct start_info *info = bpf_map_lookup_elem(&start, &rq);
    if (!info) {
        if (!filtered(rq, btf))
            __sync_fetch_and_add(&missed_starts, 1);
        return 0;
    }
    kk_u64 now = bpf_ktime_get_ns();
    kk_u64 delta = now - info->ts;
    if (cfg.mode == MODE_SNOOP) {
        kk_u32 flags = RQ_READ(btf, rq, cmd_flags);
        struct kk_event *e;
        if (KK_RESERVE(e)) {
            e->ts_ns = now;
            e->latency_ns = delta;
            e->sector = RQ_READ(btf, rq, __sector);
            e->bytes = RQ_READ(btf, rq, __data_len);
            e->dev = request_dev(rq, btf);
            e->pid = info->pid;
            e->op = op_class(flags);
            e->sync = !!(flags & REQ_SYNC);
            __builtin_memcpy(e->comm, info->comm, sizeof(e->comm));
            bpf_ringbuf_submit(e, 0);
        }
    } else {
        struct kk_hist_key key = {};
        key_request(&key, rq, btf);
        hist_add(&key, delta / 1000, delta);
    }
    bpf_map_delete_elem(&start, &rq);
    return 0;
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(btf_rq_insert, struct request *rq) { return on_start(rq, 1, true); }

SEC("tp_btf/block_rq_issue")
int BPF_PROG(btf_rq_issue, struct request *rq) { return on_start(rq, 0, true); }

SEC("tp_btf/block_rq_complete")
int BPF_PROG(btf_rq_complete, struct request *rq) { return on_complete(rq, true); }

SEC("raw_tp/block_rq_insert")
int BPF_PROG(raw_rq_insert, struct request *rq) { return on_start(rq, 1, false); }

SEC("raw_tp/block_rq_issue")
int BPF_PROG(raw_rq_issue, struct request *rq) { return on_start(rq, 0, false); }

SEC("raw_tp/block_rq_complete")
int BPF_PROG(raw_rq_complete, struct request *rq) { return on_complete(rq, false); }

char LICENSE[] SEC("license") = "GPL";
