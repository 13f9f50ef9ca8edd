/* Offline CO-RE relocation with libbpf's own logic.
 *
 * `probe check` must give libbpf's answers, so it does not reimplement CO-RE: it calls
 * libbpf's bpf_core_calc_relo_insn(), the function bpftool's `gen min_core_btf` calls
 * (bpftool src/gen.c, btfgen_record_obj), on the candidate lists libbpf's
 * bpf_core_add_cands() makes (found through an index, below). They are global in
 * libbpf.a but not in its installed headers, so their declarations and the structures
 * they take are repeated here from libbpf 1.1's src/relo_core.h and src/libbpf.c, the
 * version Debian 12 ships and this package links statically (so the layout is the one
 * the code was compiled with). Candidate search follows libbpf's bpf_core_find_cands():
 * vmlinux first, and the modules' split BTF only when vmlinux has no candidate.
 *
 * What libbpf does not export, we parse: the .BTF.ext record layout (struct
 * btf_ext_header and the core_relo section, include/uapi/linux/btf.h and libbpf's
 * btf.c), read from btf_ext__raw_data(). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/bpf.h>
#include <bpf/btf.h>
#include <gelf.h>
#include <libelf.h>
#include "core_check.h"

/* libbpf 1.1 src/relo_core.h */
struct bpf_core_cand {
    const struct btf *btf;
    __u32 id;
};
struct bpf_core_cand_list {
    struct bpf_core_cand *cands;
    int len;
};
#define BPF_CORE_SPEC_MAX_LEN 64
struct bpf_core_accessor {
    __u32 type_id;
    __u32 idx;
    const char *name;
};
struct bpf_core_spec {
    const struct btf *btf;
    struct bpf_core_accessor spec[BPF_CORE_SPEC_MAX_LEN];
    __u32 root_type_id;
    enum bpf_core_relo_kind relo_kind;
    int len;
    int raw_spec[BPF_CORE_SPEC_MAX_LEN];
    int raw_len;
    __u32 bit_offset;
};
struct bpf_core_relo_res {
    __u64 orig_val;
    __u64 new_val;
    bool poison;
    bool validate;
    bool fail_memsz_adjust;
    __u32 orig_sz;
    __u32 orig_type_id;
    __u32 new_sz;
    __u32 new_type_id;
};
size_t bpf_core_essential_name_len(const char *name);
int bpf_core_calc_relo_insn(const char *prog_name, const struct bpf_core_relo *relo, int relo_idx,
                            const struct btf *local_btf, struct bpf_core_cand_list *cands,
                            struct bpf_core_spec *specs_scratch, struct bpf_core_relo_res *targ_res);
int bpf_core_format_spec(char *buf, size_t buf_sz, const struct bpf_core_spec *spec);
/* libbpf 1.1 src/libbpf.c (declared in its libbpf_internal.h) */
int bpf_core_add_cands(struct bpf_core_cand *local_cand, size_t local_essent_len, const struct btf *targ_btf,
                       const char *targ_btf_name, int targ_start_id, struct bpf_core_cand_list *cands);
void bpf_core_free_cands(struct bpf_core_cand_list *cands);

/* Candidate search. bpf_core_add_cands() walks every type of the target BTF for each
 * local type it is asked about (libbpf.c, bpf_core_find_cands()), and keeps those of a
 * compatible kind (the same kind, or any two enums: btf_kind_core_compat() in libbpf's
 * btf.h) whose names match the local name up to its flavour suffix ("___v1",
 * bpf_core_essential_name_len()). Its answer therefore depends on (kind, essential name)
 * alone, and asking it once per local type made those walks over the 6.1 kernel's
 * 100,000 types half of a probe check, more than all of bpftool's min_core_btf. So the
 * cache indexes each target BTF once per kind: one walk, making the same selection in
 * the same id order, puts every type under its essential name, and each question is then
 * one hash lookup. The lists stay libbpf's: ProbeCheckTests holds them equal to
 * bpf_core_add_cands()'s on three kernels, for every named type of every object and
 * every 29th type of the kernel itself (which has names repeated within one kind). */
#define KK_KINDS 20 /* BTF kinds 0..BTF_KIND_ENUM64 (19); a later kind goes to libbpf's walk */

static int kk_kind_class(const struct btf_type *t)
{
    int kind = btf_kind(t);
    return kind == BTF_KIND_ENUM64 ? BTF_KIND_ENUM : kind;
}

/* The ids, in walk order, of one kind's types with one essential name. */
struct kk_named {
    uint64_t hash;
    const char *name; /* the target BTF's own string: lives as long as the BTF */
    size_t len;
    __u32 *ids;
    int count, capacity;
};

/* One kind of one target BTF: an open-addressed table of kk_named. */
struct kk_kind_index {
    int built;
    struct kk_named *entries;
    int count, capacity;
    int *slots; /* entry + 1, 0 for empty; a power of two long */
    size_t mask;
};

struct kk_btf_index {
    const struct btf *btf;
    struct kk_kind_index kinds[KK_KINDS];
};

/* Objects are checked on threads of their own: the cache is locked around each lookup
 * (and the one walk a kind's first lookup makes). */
struct kk_cand_cache {
    pthread_mutex_t lock;
    struct kk_btf_index *indexes;
    int count;
};

struct kk_cand_cache *kk_cand_cache_new(void)
{
    struct kk_cand_cache *c = calloc(1, sizeof(struct kk_cand_cache));
    if (c)
        pthread_mutex_init(&c->lock, NULL);
    return c;
}

void kk_cand_cache_free(struct kk_cand_cache *cache)
{
    if (!cache)
        return;
    for (int i = 0; i < cache->count; i++)
        for (int k = 0; k < KK_KINDS; k++) {
            struct kk_kind_index *x = &cache->indexes[i].kinds[k];
            for (int e = 0; e < x->count; e++)
                free(x->entries[e].ids);
            free(x->entries);
            free(x->slots);
        }
    free(cache->indexes);
    pthread_mutex_destroy(&cache->lock);
    free(cache);
}

static uint64_t kk_name_hash(const char *name, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)name[i]) * 0x100000001b3ULL;
    return h;
}

static struct kk_named *kk_lookup(const struct kk_kind_index *x, uint64_t hash, const char *name, size_t len)
{
    if (!x->slots)
        return NULL;
    for (size_t s = hash & x->mask;; s = (s + 1) & x->mask) {
        int e = x->slots[s];
        if (!e)
            return NULL;
        struct kk_named *n = &x->entries[e - 1];
        if (n->hash == hash && n->len == len && memcmp(n->name, name, len) == 0)
            return n;
    }
}

static int kk_grow_slots(struct kk_kind_index *x)
{
    size_t size = x->slots ? (x->mask + 1) * 2 : 1024;
    int *slots = calloc(size, sizeof(int));
    if (!slots)
        return -ENOMEM;
    for (int e = 0; e < x->count; e++) {
        size_t s = x->entries[e].hash & (size - 1);
        while (slots[s])
            s = (s + 1) & (size - 1);
        slots[s] = e + 1;
    }
    free(x->slots);
    x->slots = slots;
    x->mask = size - 1;
    return 0;
}

/* The walk: bpf_core_add_cands()'s selection, for every name at once. */
static int kk_build(struct kk_kind_index *x, const struct btf *btf, int start, int kind)
{
    int n = (int)btf__type_cnt(btf);
    for (int id = start; id < n; id++) {
        const struct btf_type *t = btf__type_by_id(btf, id);
        if (!t || kk_kind_class(t) != kind)
            continue;
        const char *name = btf__name_by_offset(btf, t->name_off);
        if (!name || !*name)
            continue;
        size_t len = bpf_core_essential_name_len(name);
        uint64_t hash = kk_name_hash(name, len);
        struct kk_named *named = kk_lookup(x, hash, name, len);
        if (!named) {
            if ((size_t)(x->count + 1) * 2 > (x->slots ? x->mask + 1 : 0) && kk_grow_slots(x))
                return -ENOMEM;
            if (x->count == x->capacity) {
                int capacity = x->capacity ? x->capacity * 2 : 256;
                struct kk_named *grown = realloc(x->entries, sizeof(*grown) * (size_t)capacity);
                if (!grown)
                    return -ENOMEM;
                x->entries = grown;
                x->capacity = capacity;
            }
            named = &x->entries[x->count];
            *named = (struct kk_named){ .hash = hash, .name = name, .len = len };
            size_t s = hash & x->mask;
            while (x->slots[s])
                s = (s + 1) & x->mask;
            x->slots[s] = ++x->count;
        }
        if (named->count == named->capacity) {
            int capacity = named->capacity ? named->capacity * 2 : 2;
            __u32 *grown = realloc(named->ids, sizeof(*grown) * (size_t)capacity);
            if (!grown)
                return -ENOMEM;
            named->ids = grown;
            named->capacity = capacity;
        }
        named->ids[named->count++] = (__u32)id;
    }
    x->built = 1;
    return 0;
}

/* Appends to `cands` what bpf_core_add_cands(local_cand, essent, btf, start) would:
 * from the index (the cache locked by the caller). */
static int kk_add_indexed(struct kk_cand_cache *cache, const struct btf *btf, int start, int kind,
                          const char *name, size_t essent, struct bpf_core_cand_list *cands)
{
    struct kk_btf_index *index = NULL;
    for (int i = 0; i < cache->count && !index; i++)
        if (cache->indexes[i].btf == btf)
            index = &cache->indexes[i];
    if (!index) {
        struct kk_btf_index *grown = realloc(cache->indexes, sizeof(*grown) * (size_t)(cache->count + 1));
        if (!grown)
            return -ENOMEM;
        cache->indexes = grown;
        index = &grown[cache->count++];
        memset(index, 0, sizeof(*index));
        index->btf = btf;
    }
    struct kk_kind_index *x = &index->kinds[kind];
    if (!x->built) {
        int err = kk_build(x, btf, start, kind);
        if (err)
            return err;
    }
    struct kk_named *named = kk_lookup(x, kk_name_hash(name, essent), name, essent);
    if (!named)
        return 0;
    struct bpf_core_cand *grown = realloc(cands->cands, sizeof(*grown) * (size_t)(cands->len + named->count));
    if (!grown)
        return -ENOMEM;
    cands->cands = grown;
    for (int i = 0; i < named->count; i++)
        grown[cands->len++] = (struct bpf_core_cand){ .btf = btf, .id = named->ids[i] };
    return 0;
}

/* One target BTF's candidates: from the index, or from libbpf's own walk when there is
 * no cache (or a kind the index does not know). */
static int kk_add_cands(struct kk_cand_cache *cache, struct bpf_core_cand *local_cand, const struct btf_type *t,
                        const char *name, size_t essent, const struct btf *btf, const char *btf_name, int start,
                        struct bpf_core_cand_list *cands)
{
    int kind = kk_kind_class(t);
    if (!cache || kind >= KK_KINDS)
        return bpf_core_add_cands(local_cand, essent, btf, btf_name, start, cands);
    pthread_mutex_lock(&cache->lock);
    int err = kk_add_indexed(cache, btf, start, kind, name, essent, cands);
    pthread_mutex_unlock(&cache->lock);
    return err;
}

static struct bpf_core_cand_list *find_cands(const struct btf *local, __u32 id, const struct btf *vmlinux,
                                             struct btf *const *modules, int module_count, struct kk_cand_cache *cache)
{
    struct bpf_core_cand local_cand = { .btf = local, .id = id };
    const struct btf_type *t = btf__type_by_id(local, id);
    if (!t)
        return NULL;
    const char *name = btf__name_by_offset(local, t->name_off);
    if (!name || !*name)
        return NULL;
    size_t essent = bpf_core_essential_name_len(name);
    struct bpf_core_cand_list *cands = calloc(1, sizeof(*cands));
    if (!cands)
        return NULL;
    if (kk_add_cands(cache, &local_cand, t, name, essent, vmlinux, "vmlinux", 1, cands))
        goto fail;
    /* libbpf's bpf_core_find_cands(): the modules only when vmlinux has no candidate. */
    if (!cands->len)
        for (int i = 0; i < module_count; i++)
            if (kk_add_cands(cache, &local_cand, t, name, essent, modules[i], "module", (int)btf__type_cnt(vmlinux), cands))
                goto fail;
    return cands;
fail:
    bpf_core_free_cands(cands);
    return NULL;
}

int kk_core_candidates(struct kk_cand_cache *cache, const struct btf *local, unsigned int id, const struct btf *vmlinux,
                       struct btf *const *modules, int module_count, unsigned int *ids, int *which, int max)
{
    struct bpf_core_cand_list *cands = find_cands(local, id, vmlinux, modules, module_count, cache);
    if (!cands)
        return -1;
    int len = cands->len;
    for (int i = 0; i < len && i < max; i++) {
        ids[i] = cands->cands[i].id;
        which[i] = -1;
        for (int m = 0; m < module_count; m++)
            if (cands->cands[i].btf == modules[m])
                which[i] = m;
    }
    bpf_core_free_cands(cands);
    return len;
}

struct ext_header {
    __u16 magic;
    __u8 version;
    __u8 flags;
    __u32 hdr_len;
    __u32 func_info_off, func_info_len, line_info_off, line_info_len;
    __u32 core_relo_off, core_relo_len;
};

int kk_core_check(const struct btf *local, const void *ext, size_t ext_size, const struct btf *vmlinux,
                  struct btf *const *modules, int module_count, struct kk_cand_cache *shared,
                  kk_core_result_fn fn, void *context)
{
    struct ext_header h;
    if (ext_size < 24)
        return -EINVAL;
    memset(&h, 0, sizeof(h));
    memcpy(&h, ext, ext_size < sizeof(h) ? ext_size : sizeof(h));
    if (h.magic != 0xeB9F || h.hdr_len > ext_size)
        return -EINVAL;
    if (h.hdr_len < sizeof(h) || h.core_relo_len == 0)
        return 0;
    const unsigned char *p = (const unsigned char *)ext + h.hdr_len + h.core_relo_off;
    const unsigned char *end = p + h.core_relo_len;
    if (p + 4 > end || end > (const unsigned char *)ext + ext_size)
        return -EINVAL;
    __u32 rec_size;
    memcpy(&rec_size, p, 4);
    p += 4;
    if (rec_size < sizeof(struct bpf_core_relo))
        return -EINVAL;
    /* Candidates per local type, as libbpf caches them per object. */
    __u32 ntypes = btf__type_cnt(local);
    struct bpf_core_cand_list **cache = calloc(ntypes, sizeof(*cache));
    if (!cache)
        return -ENOMEM;
    int rc = 0;
    while (p + 8 <= end) {
        __u32 sec_off, count;
        memcpy(&sec_off, p, 4);
        memcpy(&count, p + 4, 4);
        p += 8;
        if ((size_t)(end - p) < (size_t)count * rec_size) {
            rc = -EINVAL;
            break;
        }
        const char *section = btf__name_by_offset(local, sec_off);
        for (__u32 i = 0; i < count; i++, p += rec_size) {
            struct bpf_core_relo relo;
            memcpy(&relo, p, sizeof(relo));
            struct bpf_core_spec specs[3];
            struct bpf_core_relo_res res;
            memset(specs, 0, sizeof(specs));
            memset(&res, 0, sizeof(res));
            struct bpf_core_cand_list *cands = NULL;
            if (relo.kind != BPF_CORE_TYPE_ID_LOCAL && relo.type_id < ntypes) {
                if (!cache[relo.type_id])
                    cache[relo.type_id] = find_cands(local, relo.type_id, vmlinux, modules, module_count, shared);
                cands = cache[relo.type_id];
                if (!cands) {
                    rc = -EINVAL;
                    goto out;
                }
            }
            struct kk_core_result r;
            memset(&r, 0, sizeof(r));
            r.section = section ? section : "";
            r.index = (int)i;
            r.kind = relo.kind;
            r.candidates = cands ? cands->len : 0;
            /* calc trims the candidate list to the matching ones: count before. */
            int err = bpf_core_calc_relo_insn(r.section, &relo, (int)i, local, cands, specs, &res);
            r.error = err;
            r.resolved = err == 0 && !res.poison;
            bpf_core_format_spec(r.spec, sizeof(r.spec), &specs[0]);
            fn(&r, context);
        }
    }
out:
    for (__u32 i = 0; i < ntypes; i++)
        if (cache[i])
            bpf_core_free_cands(cache[i]);
    free(cache);
    return rc;
}

int kk_memfd(const char *name)
{
    return memfd_create(name, MFD_CLOEXEC);
}

int kk_core_check_object(const struct btf *local, const void *object, size_t size, const struct btf *vmlinux,
                         struct btf *const *modules, int module_count, struct kk_cand_cache *shared,
                         kk_core_result_fn fn, void *context)
{
    size_t offset, length;
    int rc = kk_elf_section(object, size, ".BTF.ext", &offset, &length);
    if (rc == -ENOENT)
        return 0;
    if (rc)
        return rc;
    return kk_core_check(local, (const char *)object + offset, length, vmlinux, modules, module_count, shared, fn, context);
}

int kk_elf_section(const void *image, size_t size, const char *wanted, size_t *offset, size_t *length)
{
    if (elf_version(EV_CURRENT) == EV_NONE)
        return -EINVAL;
    Elf *elf = elf_memory((char *)image, size);
    if (!elf)
        return -EINVAL;
    size_t shstrndx;
    int rc = -ENOENT;
    if (elf_getshdrstrndx(elf, &shstrndx) == 0) {
        for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
            GElf_Shdr shdr;
            if (!gelf_getshdr(scn, &shdr))
                continue;
            const char *name = elf_strptr(elf, shstrndx, shdr.sh_name);
            if (!name || strcmp(name, wanted) != 0)
                continue;
            if (shdr.sh_type == SHT_NOBITS || shdr.sh_offset > size || shdr.sh_size > size - shdr.sh_offset) {
                rc = -EINVAL;
            } else {
                *offset = shdr.sh_offset;
                *length = shdr.sh_size;
                rc = 0;
            }
            break;
        }
    } else {
        rc = -EINVAL;
    }
    elf_end(elf);
    return rc;
}

/* BTF validation. libbpf 1.3 and later check each type's references and names when
 * they parse (btf.c, btf_validate_type()); libbpf 1.1, Debian 12's, does not, and its
 * CO-RE code then reads through a reference past the last type (a NULL type: the btf
 * fuzz target's first crash, which bpftool's `btf dump` shares) or loops on a typedef
 * that names itself. The checks are those of btf_validate_type(), in our words, plus
 * the containment cycles that no C type can have. */
static int kk_btf_fail(char *why, size_t size, unsigned int *bad, __u32 id, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    *bad = id;
    vsnprintf(why, size, format, args);
    va_end(args);
    return -EINVAL;
}

/* The records that follow a type of some kinds: their size, and where a name offset and
 * a type id sit in each (-1: not there). */
struct kk_records {
    size_t size;
    int name, type;
    const char *what;
};

/* The types `t` holds by value (or names, for modifiers and typedefs): what a walk
 * through it follows without a pointer. `i` counts from 0; returns 0 past the last. */
static int kk_btf_contained(const struct btf_type *t, unsigned int i, __u32 *id)
{
    switch (btf_kind(t)) {
    case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG:
        if (i == 0) { *id = t->type; return 1; }
        return 0;
    case BTF_KIND_ARRAY:
        if (i == 0) { *id = btf_array(t)->type; return 1; }
        return 0;
    case BTF_KIND_STRUCT: case BTF_KIND_UNION:
        if (i < btf_vlen(t)) { *id = btf_members(t)[i].type; return 1; }
        return 0;
    default:
        return 0;
    }
}

/* Each type's own references and names (the first half of kk_btf_validate). */
static int kk_btf_check_types(const struct btf *btf, __u32 start, __u32 count, __u32 strings_end,
                              const struct btf_type **types, unsigned int *bad, char *why, size_t why_size)
{
#define NAME_OK(off) ((off) < strings_end)
#define TYPE_OK(ref) ((ref) < count)
    for (__u32 id = start; id < count; id++) {
        const struct btf_type *t = btf__type_by_id(btf, id);
        types[id - start] = t;
        if (!t)
            return kk_btf_fail(why, why_size, bad, id, "type %u cannot be read", id);
        if (!NAME_OK(t->name_off))
            return kk_btf_fail(why, why_size, bad, id, "its name is at offset %u, outside the string section", t->name_off);
        __u32 refs[2] = { 0, 0 };
        int nrefs = 0;
        struct kk_records records = { 0, -1, -1, "" };
        switch (btf_kind(t)) {
        case BTF_KIND_UNKN: case BTF_KIND_INT: case BTF_KIND_FWD: case BTF_KIND_FLOAT:
            break;
        case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST:
        case BTF_KIND_RESTRICT: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG: case BTF_KIND_TYPE_TAG:
            refs[nrefs++] = t->type;
            break;
        case BTF_KIND_ARRAY:
            refs[nrefs++] = btf_array(t)->type;
            refs[nrefs++] = btf_array(t)->index_type;
            break;
        case BTF_KIND_STRUCT: case BTF_KIND_UNION:
            records = (struct kk_records){ sizeof(struct btf_member), 0, 4, "a member" };
            break;
        case BTF_KIND_ENUM:
            records = (struct kk_records){ sizeof(struct btf_enum), 0, -1, "an enumerator" };
            break;
        case BTF_KIND_ENUM64:
            records = (struct kk_records){ sizeof(struct btf_enum64), 0, -1, "an enumerator" };
            break;
        case BTF_KIND_FUNC: {
            const struct btf_type *proto = TYPE_OK(t->type) ? btf__type_by_id(btf, t->type) : NULL;
            if (!proto || !btf_is_func_proto(proto))
                return kk_btf_fail(why, why_size, bad, id, "a function whose type %u is not a function prototype", t->type);
            break;
        }
        case BTF_KIND_FUNC_PROTO:
            refs[nrefs++] = t->type;
            records = (struct kk_records){ sizeof(struct btf_param), 0, 4, "a parameter" };
            break;
        case BTF_KIND_DATASEC:
            records = (struct kk_records){ sizeof(struct btf_var_secinfo), -1, 0, "a section variable" };
            break;
        default:
            return kk_btf_fail(why, why_size, bad, id, "unknown kind %u", btf_kind(t));
        }
        for (int i = 0; i < nrefs; i++)
            if (!TYPE_OK(refs[i]))
                return kk_btf_fail(why, why_size, bad, id, "it refers to type %u, which does not exist", refs[i]);
        /* The records after the type (members, enumerators, parameters, variables). */
        const unsigned char *record = (const unsigned char *)(t + 1);
        for (__u16 i = 0; records.size && i < btf_vlen(t); i++, record += records.size) {
            __u32 value;
            if (records.name >= 0) {
                memcpy(&value, record + records.name, 4);
                if (!NAME_OK(value))
                    return kk_btf_fail(why, why_size, bad, id, "%s's name is at offset %u, outside the string section", records.what, value);
            }
            if (records.type >= 0) {
                memcpy(&value, record + records.type, 4);
                if (!TYPE_OK(value))
                    return kk_btf_fail(why, why_size, bad, id, "%s has type %u, which does not exist", records.what, value);
            }
        }
    }
    return 0;
#undef NAME_OK
#undef TYPE_OK
}

/* No type contains itself: an iterative depth-first walk over the containment edges
 * (0 unseen, 1 on the walk, 2 done); the base's types are done already. */
static int kk_btf_check_cycles(__u32 start, __u32 count, const struct btf_type *const *types,
                               unsigned int *bad, char *why, size_t why_size)
{
    __u32 n = count - start;
    unsigned char *state = calloc(n ? n : 1, 1);
    struct frame { __u32 id; unsigned int next; } *stack = malloc(sizeof(struct frame) * (n ? n : 1));
    if (!state || !stack) {
        free(state);
        free(stack);
        return kk_btf_fail(why, why_size, bad, 0, "out of memory checking %u types", n);
    }
    int rc = 0;
    for (__u32 root = start; root < count && rc == 0; root++) {
        if (state[root - start])
            continue;
        int depth = 0;
        stack[depth++] = (struct frame){ root, 0 };
        state[root - start] = 1;
        while (depth > 0) {
            struct frame *f = &stack[depth - 1];
            __u32 child;
            if (!kk_btf_contained(types[f->id - start], f->next++, &child)) {
                state[f->id - start] = 2;
                depth--;
                continue;
            }
            if (child < start)
                continue;
            if (state[child - start] == 1) {
                rc = kk_btf_fail(why, why_size, bad, child, "it contains itself (through typedefs, modifiers, arrays or struct members)", child);
                break;
            }
            if (state[child - start] == 0) {
                state[child - start] = 1;
                stack[depth++] = (struct frame){ child, 0 };
            }
        }
    }
    free(state);
    free(stack);
    return rc;
}

int kk_btf_validate(const struct btf *btf, unsigned int *bad, char *why, size_t why_size)
{
    const struct btf *base = btf__base_btf(btf);
    __u32 start = base ? btf__type_cnt(base) : 1, count = btf__type_cnt(btf);
    /* btf__str_by_offset() answers for every offset below the end of the strings (the
     * base's, then this BTF's own) and for none past it, so one bound, found by halving
     * with libbpf's own answer, checks a name without a call: a kernel has half a million
     * names (types, members, parameters), and those calls were a quarter of this check. */
    __u32 lo = 0, hi = UINT32_MAX;
    while (lo < hi) {
        __u32 mid = lo + (hi - lo) / 2;
        if (btf__str_by_offset(btf, mid) != NULL)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Each type once, by id, for the walk (btf__type_by_id() is a call per step). */
    __u32 n = count - start;
    const struct btf_type **types = malloc(sizeof(*types) * (n ? n : 1));
    if (!types)
        return kk_btf_fail(why, why_size, bad, 0, "out of memory checking %u types", n);
    int rc = kk_btf_check_types(btf, start, count, lo, types, bad, why, why_size);
    if (rc == 0)
        rc = kk_btf_check_cycles(start, count, types, bad, why, why_size);
    free(types);
    return rc;
}
