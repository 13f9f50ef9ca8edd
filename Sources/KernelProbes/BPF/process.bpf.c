// SPDX-License-Identifier: GPL-2.0
/* Processes as they start and end, for `kernelkit boot trace`: fork (the parent),
 * exec (the file) and exit (the status), from the sched tracepoints
 * (include/trace/events/sched.h); the modules loaded, with the time their init took
 * (module_load, include/trace/events/module.h, then initcall_start and initcall_finish,
 * include/trace/events/initcall.h, which do_init_module's do_one_initcall fires on the
 * same task); and the block I/O each process submits (block_bio_queue, which
 * submit_bio_noacct_nocheck fires once per bio in the submitter's context: the request
 * it becomes may be issued later from a kworker, as mq-deadline does, so block_rq_issue
 * would count it to the kworker). Plain tracepoint
 * programs: they need no BTF of the arguments, only of the tracepoints' own records,
 * which CO-RE relocates. */
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

struct trace_event_raw_module_load {
    unsigned int __data_loc_name;
} __attribute__((preserve_access_index));

struct trace_event_raw_initcall_finish {
    int ret;
} __attribute__((preserve_access_index));

/* DECLARE_EVENT_CLASS(block_bio): block_bio_queue's record. */
struct trace_event_raw_block_bio {
    unsigned int nr_sector;
} __attribute__((preserve_access_index));

struct mm_struct {
    unsigned long arg_start;
} __attribute__((preserve_access_index));

struct task_struct {
    int exit_code;
    struct mm_struct *mm;
} __attribute__((preserve_access_index));

#include "ringbuf.h"

/* A module being loaded, per task: its name and when module_load fired; then when its
 * init started. */
struct module_load {
    char name[KK_PATH_LEN];
    kk_u64 loaded;
    kk_u64 init_start;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, kk_u32);
    __type(value, struct module_load);
} loading SEC(".maps");

/* Block I/O submitted per process (tgid): bios and bytes, read by user space at the end. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8192);
    __type(key, kk_u32);
    __type(value, struct kk_proc_io);
} io SEC(".maps");

/* The same bios over time: bios and bytes per 50 ms of CLOCK_MONOTONIC (key: the time
 * divided by KK_IO_BUCKET_NS), for the timeline's I/O lane. Only buckets with I/O take an
 * entry: 65,536 of them are 54 minutes of busy disk. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, kk_u32);
    __type(value, struct kk_proc_io);
} io_time SEC(".maps");

static __always_inline struct kk_proc_event *reserve(kk_u32 kind)
{
    struct kk_proc_event *e;
    if (!KK_RESERVE(e))
        return 0;
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

SEC("tracepoint/module/module_load")
int module_load(struct trace_event_raw_module_load *ctx)
{
    kk_u32 pid = (kk_u32)bpf_get_current_pid_tgid();
    struct module_load m = {};
    unsigned int loc = BPF_CORE_READ(ctx, __data_loc_name);
    bpf_probe_read_kernel_str(m.name, sizeof(m.name), (char *)ctx + (loc & 0xffff));
    m.loaded = bpf_ktime_get_ns();
    bpf_map_update_elem(&loading, &pid, &m, BPF_ANY);
    return 0;
}

/* Only initcalls on a task that is loading a module: built-in ones ran before any BPF. */
SEC("tracepoint/initcall/initcall_start")
int initcall_start(void *ctx)
{
    kk_u32 pid = (kk_u32)bpf_get_current_pid_tgid();
    struct module_load *m = bpf_map_lookup_elem(&loading, &pid);
    if (m)
        m->init_start = bpf_ktime_get_ns();
    return 0;
}

SEC("tracepoint/initcall/initcall_finish")
int initcall_finish(struct trace_event_raw_initcall_finish *ctx)
{
    kk_u32 pid = (kk_u32)bpf_get_current_pid_tgid();
    struct module_load *m = bpf_map_lookup_elem(&loading, &pid);
    if (!m || !m->init_start)
        return 0;
    struct kk_proc_event *e = reserve(KK_PROC_MODULE);
    if (e) {
        kk_u64 now = bpf_ktime_get_ns();
        e->pid = bpf_get_current_pid_tgid() >> 32;
        e->ts_ns = m->init_start;
        e->exit_code = BPF_CORE_READ(ctx, ret);
        __builtin_memcpy(e->filename, m->name, sizeof(m->name));
        kk_u64 init_ns = now - m->init_start;
        __builtin_memcpy(&e->arg0[0], &init_ns, 8);
        __builtin_memcpy(&e->arg0[8], &m->loaded, 8);
        bpf_ringbuf_submit(e, 0);
    }
    bpf_map_delete_elem(&loading, &pid);
    return 0;
}

/* One bio more in `map` under `key`. */
static __always_inline void count_bio(void *map, kk_u32 *key, kk_u64 bytes)
{
    struct kk_proc_io *v = bpf_map_lookup_elem(map, key);
    if (v) {
        __sync_fetch_and_add(&v->requests, 1);
        __sync_fetch_and_add(&v->bytes, bytes);
        return;
    }
    struct kk_proc_io first = { .requests = 1, .bytes = bytes };
    /* Another CPU may have inserted it meanwhile: then add to that one. */
    if (bpf_map_update_elem(map, key, &first, BPF_NOEXIST) != 0) {
        v = bpf_map_lookup_elem(map, key);
        if (v) {
            __sync_fetch_and_add(&v->requests, 1);
            __sync_fetch_and_add(&v->bytes, bytes);
        }
    }
}

SEC("tracepoint/block/block_bio_queue")
int block_bio_queue(struct trace_event_raw_block_bio *ctx)
{
    kk_u32 tgid = bpf_get_current_pid_tgid() >> 32;
    kk_u64 bytes = (kk_u64)BPF_CORE_READ(ctx, nr_sector) << 9;
    kk_u32 bucket = bpf_ktime_get_ns() / KK_IO_BUCKET_NS;
    count_bio(&io, &tgid, bytes);
    count_bio(&io_time, &bucket, bytes);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
