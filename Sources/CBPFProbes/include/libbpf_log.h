/* libbpf hands its log to a printf-style callback with a va_list, which Swift cannot
 * take apart: kk_libbpf_set_log installs a callback that formats each message and
 * passes the text on (CBPFProbes/shim.c). */
#ifndef KERNELKIT_LIBBPF_LOG_H
#define KERNELKIT_LIBBPF_LOG_H
typedef void (*kk_libbpf_log_fn)(int level, const char *text);
void kk_libbpf_set_log(kk_libbpf_log_fn fn);
#endif
