// SPDX-License-Identifier: GPL-2.0
/* storvsc: each SCSI command from submission to completion, with the VMBus channel it
 * completed on. drivers/scsi/storvsc_drv.c has no tracepoints, so these are fentry
 * programs: storvsc_queuecommand (the submitting CPU picks the outgoing channel,
 * get_og_chn), storvsc_on_channel_callback (the channel's target CPU) and scsi_done,
 * which storvsc calls from inside that callback for each completed command. The
 * callback's channel is kept per CPU between its entry and exit, so each completion is
 * attributed to its channel. The kprobe twins of the four programs are the second
 * choice, for kernels that refuse fentry but allow kprobes; where neither attaches,
 * `probe storvsc` falls back to the block tracepoints (block.bpf.c), filtered to
 * storvsc's disks. */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "probes.h"
#include "hyperv_min.h"
#include "hyperv_common.h"

/* The relid of the channel whose callback runs on this CPU, 0 outside callbacks. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, kk_u32);
    __type(value, kk_u32);
} current_channel SEC(".maps");

static __always_inline int on_submit(struct Scsi_Host *host, struct scsi_cmnd *cmd)
{
    struct kk_hv_event *e = hv_reserve(KK_HV_SV_SUBMIT, 0);
    if (!e)
        return 0;
    e->key = (kk_u64)cmd;
    e->value = BPF_CORE_READ(cmd, sdb.length);
    e->value2 = BPF_CORE_READ(host, host_no);
    e->extra = (BPF_CORE_READ(cmd, device, id) & 0xffff) << 16 | (BPF_CORE_READ(cmd, device, lun) & 0xffff);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

static __always_inline int on_callback_enter(void *context)
{
    kk_u32 zero = 0;
    kk_u32 *slot = bpf_map_lookup_elem(&current_channel, &zero);
    if (slot)
        *slot = BPF_CORE_READ((struct vmbus_channel *)context, offermsg.child_relid);
    return 0;
}

static __always_inline int on_callback_exit(void)
{
    kk_u32 zero = 0;
    kk_u32 *slot = bpf_map_lookup_elem(&current_channel, &zero);
    if (slot)
        *slot = 0;
    return 0;
}

static __always_inline int on_done(struct scsi_cmnd *cmd)
{
    kk_u32 zero = 0;
    kk_u32 *slot = bpf_map_lookup_elem(&current_channel, &zero);
    /* scsi_done serves every SCSI driver: keep only completions inside storvsc's callback. */
    if (!slot || *slot == 0)
        return 0;
    struct kk_hv_event *e = hv_reserve(KK_HV_SV_DONE, *slot);
    if (!e)
        return 0;
    e->key = (kk_u64)cmd;
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("fentry/storvsc_queuecommand")
int BPF_PROG(storvsc_submit, struct Scsi_Host *host, struct scsi_cmnd *cmd) { return on_submit(host, cmd); }

SEC("fentry/storvsc_on_channel_callback")
int BPF_PROG(storvsc_callback_enter, void *context) { return on_callback_enter(context); }

SEC("fexit/storvsc_on_channel_callback")
int BPF_PROG(storvsc_callback_exit, void *context) { return on_callback_exit(); }

SEC("fentry/scsi_done")
int BPF_PROG(storvsc_done, struct scsi_cmnd *cmd) { return on_done(cmd); }

SEC("kprobe/storvsc_queuecommand")
int BPF_KPROBE(storvsc_submit_kprobe, struct Scsi_Host *host, struct scsi_cmnd *cmd) { return on_submit(host, cmd); }

SEC("kprobe/storvsc_on_channel_callback")
int BPF_KPROBE(storvsc_callback_enter_kprobe, void *context) { return on_callback_enter(context); }

SEC("kretprobe/storvsc_on_channel_callback")
int BPF_KRETPROBE(storvsc_callback_exit_kprobe) { return on_callback_exit(); }

SEC("kprobe/scsi_done")
int BPF_KPROBE(storvsc_done_kprobe, struct scsi_cmnd *cmd) { return on_done(cmd); }

char LICENSE[] SEC("license") = "GPL";
