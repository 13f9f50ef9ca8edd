// SPDX-License-Identifier: GPL-2.0
/* VMBus channels: the interrupt path and the host signals, per channel (relid) and CPU,
 * and the channel offers and rescinds that map relids to devices while running.
 *
 * drivers/hv/hv_trace.h: vmbus_chan_sched fires in vmbus_chan_sched() for each channel
 * the ISR finds pending; vmbus_on_event in the per-channel tasklet before the driver's
 * callback (not for HV_CALL_ISR channels such as netvsc's, whose callback runs in the
 * ISR); vmbus_setevent in vmbus_setevent() when the guest signals the host. Plain
 * tracepoint programs: they load wherever the tracepoints exist, and read only the
 * records, which CO-RE relocates against the target's BTF. */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "probes.h"
#include "hyperv_min.h"
#include "hyperv_common.h"

static __always_inline int channel_event(struct trace_event_raw_vmbus_channel *ctx, kk_u32 kind)
{
    struct kk_hv_event *e = hv_reserve(kind, BPF_CORE_READ(ctx, relid));
    if (e)
        bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tracepoint/hyperv/vmbus_chan_sched")
int vmbus_chan_sched(struct trace_event_raw_vmbus_channel *ctx) { return channel_event(ctx, KK_HV_CHAN_SCHED); }

SEC("tracepoint/hyperv/vmbus_on_event")
int vmbus_on_event(struct trace_event_raw_vmbus_channel *ctx) { return channel_event(ctx, KK_HV_ON_EVENT); }

SEC("tracepoint/hyperv/vmbus_setevent")
int vmbus_setevent(struct trace_event_raw_vmbus_channel *ctx) { return channel_event(ctx, KK_HV_SETEVENT); }

SEC("tracepoint/hyperv/vmbus_onoffer")
int vmbus_onoffer(struct trace_event_raw_vmbus_onoffer *ctx)
{
    struct kk_hv_event *e = hv_reserve(KK_HV_OFFER, BPF_CORE_READ(ctx, child_relid));
    if (!e)
        return 0;
    e->value = BPF_CORE_READ(ctx, sub_idx);
    bpf_core_read(&e->data[0], 16, &ctx->if_type);
    bpf_core_read(&e->data[16], 16, &ctx->if_instance);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tracepoint/hyperv/vmbus_onoffer_rescind")
int vmbus_onoffer_rescind(struct trace_event_raw_vmbus_onoffer_rescind *ctx)
{
    struct kk_hv_event *e = hv_reserve(KK_HV_RESCIND, BPF_CORE_READ(ctx, child_relid));
    if (e)
        bpf_ringbuf_submit(e, 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
