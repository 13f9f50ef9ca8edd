/* The probes' shared header as a C module for Swift, and libbpf's log callback. */
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "probes.h"
#include "libbpf_log.h"

static kk_libbpf_log_fn log_fn;

static int print(enum libbpf_print_level level, const char *fmt, va_list args)
{
    /* Debug lines (a CO-RE line per relocation and candidate) were most of `probe
     * check`'s time in the btf fuzz target's profile, and no message quotes them: a
     * failed load's message is the verifier log, which libbpf prints as a warning. */
    if (level == LIBBPF_DEBUG)
        return 0;
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, args);
    if (log_fn)
        log_fn((int)level, buf);
    return 0;
}

void kk_libbpf_set_log(kk_libbpf_log_fn fn)
{
    log_fn = fn;
    libbpf_set_print(print);
}
