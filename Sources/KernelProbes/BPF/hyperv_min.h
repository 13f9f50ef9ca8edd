/* The Hyper-V drivers' records and structures, as far as the Hyper-V probes read them,
 * for CO-RE (preserve_access_index): libbpf relocates every field against the target
 * kernel's BTF, which for the drivers is the split BTF of hv_vmbus, hv_netvsc and
 * hv_storvsc when they are modules. Only the fields read are declared; their order and
 * offsets here do not matter. Names as in Linux 6.12 and 7.2:
 *   drivers/hv/hv_trace.h            (TRACE_SYSTEM hyperv)
 *   drivers/net/hyperv/netvsc_trace.h (TRACE_SYSTEM netvsc)
 *   include/linux/hyperv.h, include/scsi/scsi_cmnd.h, include/scsi/scsi_host.h */
#ifndef KERNELKIT_HYPERV_MIN_H
#define KERNELKIT_HYPERV_MIN_H

/* DECLARE_EVENT_CLASS(vmbus_channel): vmbus_chan_sched, vmbus_setevent, vmbus_on_event. */
struct trace_event_raw_vmbus_channel {
    __u32 relid;
} __attribute__((preserve_access_index));

struct trace_event_raw_vmbus_onoffer {
    __u32 child_relid;
    char if_type[16];
    char if_instance[16];
    __u16 sub_idx;
} __attribute__((preserve_access_index));

struct trace_event_raw_vmbus_onoffer_rescind {
    __u32 child_relid;
} __attribute__((preserve_access_index));

/* __string(name, ndev->name) is a __data_loc word: offset in the low 16 bits, length in
 * the high 16 (include/trace/stages/stage2_data_offsets.h). */
struct trace_event_raw_nvsp_send_pkt {
    __u32 __data_loc_name;
    __u16 qid;
    __u32 section_index;
    __u32 section_size;
} __attribute__((preserve_access_index));

struct trace_event_raw_nvsp_recv {
    __u32 __data_loc_name;
    __u16 qid;
    __u32 msg_type;
} __attribute__((preserve_access_index));

/* DECLARE_EVENT_CLASS(rndis_msg_class): rndis_send, rndis_recv. */
struct trace_event_raw_rndis_msg_class {
    __u32 __data_loc_name;
    __u16 queue;
    __u32 msg_type;
    __u32 msg_len;
} __attribute__((preserve_access_index));

/* include/trace/events/net.h: the core's view of each packet, with its queue and length.
 * napi_gro_receive_entry is of the class net_dev_rx_verbose_template; its queue_mapping
 * is the rx queue + 1 (skb_record_rx_queue). */
struct trace_event_raw_net_dev_start_xmit {
    __u32 __data_loc_name;
    __u16 queue_mapping;
    unsigned int len;
} __attribute__((preserve_access_index));

struct trace_event_raw_net_dev_rx_verbose_template {
    __u32 __data_loc_name;
    __u16 queue_mapping;
    unsigned int len;
} __attribute__((preserve_access_index));

/* storvsc: the channel in its callback, the command it queues and completes. */
struct vmbus_channel_offer_channel {
    __u32 child_relid;
} __attribute__((preserve_access_index));

struct vmbus_channel {
    struct vmbus_channel_offer_channel offermsg;
} __attribute__((preserve_access_index));

struct Scsi_Host {
    unsigned int host_no;
} __attribute__((preserve_access_index));

struct scsi_device {
    struct Scsi_Host *host;
    unsigned int id;
    __u64 lun;
} __attribute__((preserve_access_index));

struct scsi_data_buffer {
    unsigned int length;
} __attribute__((preserve_access_index));

struct scsi_cmnd {
    struct scsi_device *device;
    struct scsi_data_buffer sdb;
} __attribute__((preserve_access_index));

#endif
