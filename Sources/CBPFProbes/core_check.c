/* Offline CO-RE relocation with libbpf's own logic.
 *
 * `probe check` must give libbpf's answers, so it does not reimplement CO-RE: it calls
 * libbpf's bpf_core_add_cands() and bpf_core_calc_relo_insn(), the functions bpftool's
 * `gen min_core_btf` calls (bpftool src/gen.c, btfgen_record_obj). They are global in
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

/* bpf_core_add_cands() keeps the target types of the local type's kind whose names
 * match its essential name (the name up to "___"), so its answer depends on (kind,
 * essential name) alone: the same for every object that declares the type. The cache
 * keeps each answer and gives every object its own copy, because
 * bpf_core_calc_relo_insn() narrows an object's list as it goes, as in libbpf. */
struct cache_entry {
    int kind;
    char *name;
    struct bpf_core_cand *cands;
    int len;
};
/* Objects are checked on threads of their own: the cache is locked around each lookup
 * and insertion (a list computed twice by two threads is the same list). */
struct kk_cand_cache {
    pthread_mutex_t lock;
    struct cache_entry *entries;
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
    for (int i = 0; i < cache->count; i++) {
        free(cache->entries[i].name);
        free(cache->entries[i].cands);
    }
    free(cache->entries);
    pthread_mutex_destroy(&cache->lock);
    free(cache);
}

static struct bpf_core_cand_list *copy_list(const struct bpf_core_cand *cands, int len)
{
    struct bpf_core_cand_list *out = calloc(1, sizeof(*out));
    if (!out)
        return NULL;
    if (len > 0) {
        out->cands = malloc(sizeof(*cands) * (size_t)len);
        if (!out->cands) {
            free(out);
            return NULL;
        }
        memcpy(out->cands, cands, sizeof(*cands) * (size_t)len);
    }
    out->len = len;
    return out;
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
    int kind = btf_kind(t);
    if (cache) {
        struct bpf_core_cand_list *hit = NULL;
        int found = 0;
        pthread_mutex_lock(&cache->lock);
        for (int i = 0; i < cache->count && !found; i++) {
            struct cache_entry *e = &cache->entries[i];
            if (e->kind == kind && strlen(e->name) == essent && strncmp(e->name, name, essent) == 0) {
                hit = copy_list(e->cands, e->len);
                found = 1;
            }
        }
        pthread_mutex_unlock(&cache->lock);
        if (found)
            return hit;
    }
    struct bpf_core_cand_list *cands = calloc(1, sizeof(*cands));
    if (!cands)
        return NULL;
    if (bpf_core_add_cands(&local_cand, essent, vmlinux, "vmlinux", 1, cands))
        goto fail;
    /* libbpf's bpf_core_find_cands(): the modules only when vmlinux has no candidate. */
    if (!cands->len)
        for (int i = 0; i < module_count; i++)
            if (bpf_core_add_cands(&local_cand, essent, modules[i], "module", btf__type_cnt(vmlinux), cands))
                goto fail;
    if (cache) {
        pthread_mutex_lock(&cache->lock);
        struct cache_entry *grown = realloc(cache->entries, sizeof(*grown) * (size_t)(cache->count + 1));
        if (grown) {
            cache->entries = grown;
            struct cache_entry *e = &grown[cache->count];
            e->kind = kind;
            e->name = strndup(name, essent);
            e->len = cands->len;
            e->cands = cands->len ? malloc(sizeof(*cands->cands) * (size_t)cands->len) : NULL;
            if (e->name && (e->cands || !cands->len)) {
                if (cands->len)
                    memcpy(e->cands, cands->cands, sizeof(*cands->cands) * (size_t)cands->len);
                cache->count++;
            } else {
                free(e->name);
                free(e->cands);
            }
        }
        pthread_mutex_unlock(&cache->lock);
    }
    return cands;
fail:
    bpf_core_free_cands(cands);
    return NULL;
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

int kk_btf_validate(const struct btf *btf, unsigned int *bad, char *why, size_t why_size)
{
    const struct btf *base = btf__base_btf(btf);
    __u32 start = base ? btf__type_cnt(base) : 1, count = btf__type_cnt(btf);
#define NAME_OK(off) (btf__str_by_offset(btf, (off)) != NULL)
#define TYPE_OK(ref) ((ref) < count)
    for (__u32 id = start; id < count; id++) {
        const struct btf_type *t = btf__type_by_id(btf, id);
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
    /* No type contains itself: an iterative depth-first walk over the containment edges
     * (0 unseen, 1 on the walk, 2 done); the base's types are done already. */
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
            if (!kk_btf_contained(btf__type_by_id(btf, f->id), f->next++, &child)) {
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
#undef NAME_OK
#undef TYPE_OK
}
