// SPDX-License-Identifier: GPL-2.0
/* netvsc: packets per interface, queue and direction, and how the driver moves them.
 *
 * drivers/net/hyperv/netvsc_trace.h gives the driver's side: nvsp_send_pkt for every
 * VMBus send (queue = the channel's sub-channel index, the send-buffer section and how
 * much was copied into it), nvsp_recv for every inbound VMBus packet, rndis_recv for
 * every RNDIS message in it (so rndis_recv per nvsp_recv is the receive batch). The
 * packets and bytes themselves come from the core's tracepoints (include/trace/events/
 * net.h): net_dev_start_xmit and napi_gro_receive_entry, which netvsc's transmit and
 * receive paths (netvsc_start_xmit, netvsc_recv_callback) pass through, with the queue
 * and the length. Those fire for every interface, so they keep only the interfaces
 * user space puts in `interfaces` (netvsc's). Plain tracepoint programs, CO-RE records. */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "probes.h"
#include "hyperv_min.h"
#include "hyperv_common.h"

#define IFNAMSIZ 16

struct ifname {
    char name[IFNAMSIZ];
};

/* netvsc's interfaces, by name, filled by user space before attach. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, struct ifname);
    __type(value, kk_u32);
} interfaces SEC(".maps");

/* The interface name behind a __data_loc word (offset in the low 16 bits). */
static __always_inline void read_name(void *ctx, kk_u32 loc, void *out)
{
    bpf_probe_read_kernel_str(out, IFNAMSIZ, (char *)ctx + (loc & 0xffff));
}

static __always_inline int emit(void *ctx, kk_u32 kind, kk_u32 queue, kk_u32 value, kk_u32 value2, kk_u32 loc)
{
    struct kk_hv_event *e = hv_reserve(kind, queue);
    if (!e)
        return 0;
    e->value = value;
    e->value2 = value2;
    read_name(ctx, loc, e->data);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tracepoint/netvsc/nvsp_send_pkt")
int nvsp_send_pkt(struct trace_event_raw_nvsp_send_pkt *ctx)
{
    return emit(ctx, KK_HV_NV_SEND, BPF_CORE_READ(ctx, qid), BPF_CORE_READ(ctx, section_index),
                BPF_CORE_READ(ctx, section_size), BPF_CORE_READ(ctx, __data_loc_name));
}

SEC("tracepoint/netvsc/nvsp_recv")
int nvsp_recv(struct trace_event_raw_nvsp_recv *ctx)
{
    return emit(ctx, KK_HV_NV_RECV, BPF_CORE_READ(ctx, qid), BPF_CORE_READ(ctx, msg_type), 0,
                BPF_CORE_READ(ctx, __data_loc_name));
}

SEC("tracepoint/netvsc/rndis_recv")
int rndis_recv(struct trace_event_raw_rndis_msg_class *ctx)
{
    return emit(ctx, KK_HV_RNDIS_RECV, BPF_CORE_READ(ctx, queue), BPF_CORE_READ(ctx, msg_len),
                BPF_CORE_READ(ctx, msg_type), BPF_CORE_READ(ctx, __data_loc_name));
}

/* The core tracepoints, for netvsc's interfaces only. */
static __always_inline int core_packet(void *ctx, kk_u32 kind, kk_u32 loc, kk_u32 queue, kk_u32 len)
{
    struct ifname key = {};
    read_name(ctx, loc, key.name);
    if (!bpf_map_lookup_elem(&interfaces, &key))
        return 0;
    struct kk_hv_event *e = hv_reserve(kind, queue);
    if (!e)
        return 0;
    e->value = len;
    __builtin_memcpy(e->data, key.name, IFNAMSIZ);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tracepoint/net/net_dev_start_xmit")
int net_dev_start_xmit(struct trace_event_raw_net_dev_start_xmit *ctx)
{
    return core_packet(ctx, KK_HV_NV_XMIT, BPF_CORE_READ(ctx, __data_loc_name), BPF_CORE_READ(ctx, queue_mapping),
                       BPF_CORE_READ(ctx, len));
}

SEC("tracepoint/net/napi_gro_receive_entry")
int napi_gro_receive_entry(struct trace_event_raw_net_dev_rx_verbose_template *ctx)
{
    kk_u32 mapping = BPF_CORE_READ(ctx, queue_mapping);
    return core_packet(ctx, KK_HV_NV_GRO, BPF_CORE_READ(ctx, __data_loc_name), mapping ? mapping - 1 : 0,
                       BPF_CORE_READ(ctx, len));
}

char LICENSE[] SEC("license") = "GPL";
