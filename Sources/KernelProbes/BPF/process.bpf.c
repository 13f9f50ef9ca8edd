// SPDX-License-Identifier: GPL-2.0
/* Processes as they start and end, for `kernelkit boot trace`: fork (the parent),
 * exec (the file) and exit (the status), from the sched tracepoints
 * (include/trace/events/sched.h). Plain tracepoint programs: they need no BTF of the
 * arguments, only of the tracepoints' own records, which CO-RE relocates. */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "probes.h"

/* The records of the three tracepoints, as far as they are read; field names as in
 * 6.18's include/trace/events/sched.h (libbpf relocates their offsets). */
struct trace_entry {
    unsigned short type;
} __attribute__((preserve_access_index));

struct trace_event_raw_sched_process_fork {
    struct trace_entry ent;
    int parent_pid;
    int child_pid;
} __attribute__((preserve_access_index));

struct trace_event_raw_sched_process_exec {
    struct trace_entry ent;
    unsigned int __data_loc_filename;
    int pid;
} __attribute__((preserve_access_index));

struct mm_struct {
    unsigned long arg_start;
} __attribute__((preserve_access_index));

struct task_struct {
    int exit_code;
    struct mm_struct *mm;
} __attribute__((preserve_access_index));

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 20);
} events SEC(".maps");

/* Events the ring buffer had no room for (read by user space from .bss). */
kk_u64 lost_events = 0;

static __always_inline struct kk_proc_event *reserve(kk_u32 kind)
{
    struct kk_proc_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        __sync_fetch_and_add(&lost_events, 1);
        return 0;
    }
    __builtin_memset(e, 0, sizeof(*e));
    e->ts_ns = bpf_ktime_get_ns();
    e->kind = kind;
    bpf_get_current_comm(&e->comm, sizeof(e->comm));
    return e;
}

SEC("tracepoint/sched/sched_process_fork")
int process_fork(struct trace_event_raw_sched_process_fork *ctx)
{
    struct kk_proc_event *e = reserve(KK_PROC_FORK);
    if (!e)
        return 0;
    e->pid = BPF_CORE_READ(ctx, child_pid);
    e->ppid = bpf_get_current_pid_tgid() >> 32; /* current is the parent */
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int process_exec(struct trace_event_raw_sched_process_exec *ctx)
{
    struct kk_proc_event *e = reserve(KK_PROC_EXEC);
    if (!e)
        return 0;
    e->pid = bpf_get_current_pid_tgid() >> 32;
    /* __data_loc: the low 16 bits are the string's offset in the record. */
    unsigned int loc = BPF_CORE_READ(ctx, __data_loc_filename);
    bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + (loc & 0xFFFF));
    /* The new program's argv[0]: the tracepoint fires after the exec installed the new
     * mm (fs/exec.c, exec_binprm()), so arg_start is the new argument block. */
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    unsigned long args = BPF_CORE_READ(task, mm, arg_start);
    bpf_probe_read_user_str(e->arg0, sizeof(e->arg0), (void *)args);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int process_exit(void *ctx)
{
    kk_u64 id = bpf_get_current_pid_tgid();
    /* Only the end of a process: its thread group leader. */
    if ((kk_u32)id != (kk_u32)(id >> 32))
        return 0;
    struct kk_proc_event *e = reserve(KK_PROC_EXIT);
    if (!e)
        return 0;
    e->pid = id >> 32;
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    e->exit_code = BPF_CORE_READ(task, exit_code);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
