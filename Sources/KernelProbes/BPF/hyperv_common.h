/* The ring buffer and loss counter the three Hyper-V probes share (one copy per object). */
#ifndef KERNELKIT_HYPERV_COMMON_H
#define KERNELKIT_HYPERV_COMMON_H

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 22);
} events SEC(".maps");

/* Events the ring buffer had no room for (read by user space from .bss). */
kk_u64 lost_events = 0;

static __always_inline struct kk_hv_event *hv_reserve(kk_u32 kind, kk_u32 id)
{
    struct kk_hv_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        __sync_fetch_and_add(&lost_events, 1);
        return 0;
    }
    __builtin_memset(e, 0, sizeof(*e));
    e->ts_ns = bpf_ktime_get_ns();
    e->kind = kind;
    e->cpu = bpf_get_smp_processor_id();
    e->id = id;
    return e;
}

#endif
