/* Offline CO-RE: each relocation of a BPF object computed against a target kernel's BTF
 * by libbpf's own code (CBPFProbes/core_check.c), without loading anything. */
#ifndef KERNELKIT_CORE_CHECK_H
#define KERNELKIT_CORE_CHECK_H
#include <stddef.h>

struct btf;

struct kk_core_result {
    const char *section;  /* the program's ELF section, as libbpf names it in its log */
    int index;            /* the relocation's number in that section (libbpf's "relo #N") */
    int kind;             /* enum bpf_core_relo_kind */
    int resolved;         /* 0: libbpf would poison the instruction (no matching target) */
    int candidates;       /* target types whose name matches the local root type */
    int error;            /* nonzero: libbpf would fail the whole load (e.g. ambiguity) */
    char spec[512];       /* the local spec, formatted as libbpf formats it */
};

typedef void (*kk_core_result_fn)(const struct kk_core_result *result, void *context);

/* The target kernel's types indexed by kind and name, shared by the objects checked
 * against one kernel (core_check.c says why). */
struct kk_cand_cache;
struct kk_cand_cache *kk_cand_cache_new(void);
void kk_cand_cache_free(struct kk_cand_cache *cache);

/* The CO-RE candidates of the local type `id` in `vmlinux`, or, when it has none, in
 * `modules`: from `cache`'s index, or with `cache` NULL from libbpf's own
 * bpf_core_add_cands() walk (the tests hold the two equal). Writes up to `max` target
 * ids and, for each, the module it is in (-1: vmlinux); returns how many there are, or
 * -1 when the local type has no name or cannot be read. */
int kk_core_candidates(struct kk_cand_cache *cache, const struct btf *local, unsigned int id, const struct btf *vmlinux,
                       struct btf *const *modules, int module_count, unsigned int *ids, int *which, int max);

/* Calls `fn` for every CO-RE relocation of `local` (an object's BTF) and its .BTF.ext
 * bytes, against `vmlinux` and then `modules`. Returns 0, or a negative errno when the
 * .BTF.ext is malformed. */
int kk_core_check(const struct btf *local, const void *ext, size_t ext_size, const struct btf *vmlinux,
                  struct btf *const *modules, int module_count, struct kk_cand_cache *shared,
                  kk_core_result_fn fn, void *context);

/* The same over a whole BPF object file (its .BTF.ext section); 0 when it has none. */
int kk_core_check_object(const struct btf *local, const void *object, size_t size, const struct btf *vmlinux,
                         struct btf *const *modules, int module_count, struct kk_cand_cache *shared,
                         kk_core_result_fn fn, void *context);

/* Where the section `name` of an in-memory ELF file is: 0, -ENOENT when it has none,
 * -EINVAL when the ELF is unreadable or the section lies outside it. */
int kk_elf_section(const void *image, size_t size, const char *name, size_t *offset, size_t *length);

/* Checks what libbpf 1.1's parser leaves unchecked and its CO-RE code trusts: every type
 * id a type refers to exists, every name offset is in the string section, and no type
 * contains itself by value (a cycle through modifiers, typedefs, arrays or struct
 * members, which libbpf's skip_mods_and_typedefs() and bpf_core_match_member() would
 * follow for ever). Only the types of `btf` itself are checked (from the split start on).
 * Returns 0, or -EINVAL with `bad` set to the offending type's id and `why` to a message. */
int kk_btf_validate(const struct btf *btf, unsigned int *bad, char *why, size_t why_size);

/* An anonymous memory file for libbpf's path-based parsers (btf__parse_split). */
int kk_memfd(const char *name);
#endif
