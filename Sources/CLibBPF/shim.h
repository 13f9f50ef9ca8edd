// libbpf (Debian: libbpf-dev, 1.1), for loading and attaching the probes, and reading BTF.
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
