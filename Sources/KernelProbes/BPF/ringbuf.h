/* The ring buffer every probe object streams its records through, and the count of
 * records it had no room for. lost_events is the object's first .bss word: user space
 * reads it there (BPFObject.lostEvents, and from the pinned .bss of a handed-over
 * boot trace). 4 MiB: some 20,000 boot-trace events, enough for a boot handed over
 * from the initramfs, which nobody reads until `boot trace --finish`. */
#ifndef KERNELKIT_RINGBUF_H
#define KERNELKIT_RINGBUF_H

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 22);
} events SEC(".maps");

kk_u64 lost_events = 0;

/* Reserves a zeroed record for the pointer `e` (whose type gives the size), or counts
 * it lost and leaves `e` null. A macro: the size must be a constant for the verifier. */
#define KK_RESERVE(e)                                                  \
    ({                                                                 \
        (e) = bpf_ringbuf_reserve(&events, sizeof(*(e)), 0);           \
        if (e)                                                         \
            __builtin_memset((e), 0, sizeof(*(e)));                    \
        else                                                           \
            __sync_fetch_and_add(&lost_events, 1);                     \
        (e);                                                           \
    })

#endif
