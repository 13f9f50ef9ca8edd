/* The record header the three Hyper-V probes fill (one copy per object). */
#ifndef KERNELKIT_HYPERV_COMMON_H
#define KERNELKIT_HYPERV_COMMON_H
#include "ringbuf.h"

static __always_inline struct kk_hv_event *hv_reserve(kk_u32 kind, kk_u32 id)
{
    struct kk_hv_event *e;
    if (!KK_RESERVE(e))
        return 0;
    e->ts_ns = bpf_ktime_get_ns();
    e->kind = kind;
    e->cpu = bpf_get_smp_processor_id();
    e->id = id;
    return e;
}

#endif
