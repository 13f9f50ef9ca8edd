// libbpf (Debian: libbpf-dev, 1.1), for loading and attaching the probes.
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
