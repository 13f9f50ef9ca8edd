/* btf-merge KERNEL MODULE OUT: writes raw BTF holding KERNEL's types followed by
 * MODULE's split BTF, with the type ids they have in the kernel (split ids continue
 * the base's). An oracle-side helper: bpftool's `gen min_core_btf` reads one BTF file
 * and no module BTF, and the tests compare its verdicts with `probe check --module-btf`.
 * KERNEL and MODULE are anything libbpf's btf__parse reads (an ELF with .BTF, raw BTF). */
#include <stdio.h>
#include <bpf/btf.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: btf-merge KERNEL MODULE OUT\n");
        return 2;
    }
    struct btf *base = btf__parse(argv[1], NULL);
    struct btf *split = base ? btf__parse_split(argv[2], base) : NULL;
    struct btf *out = btf__new_empty();
    if (!base || !split || !out || btf__add_btf(out, base) < 0) {
        fprintf(stderr, "btf-merge: cannot read %s or %s\n", argv[1], argv[2]);
        return 1;
    }
    /* Appended in order, each split type keeps its id; btf__add_type copies its strings. */
    for (unsigned id = btf__type_cnt(base); id < btf__type_cnt(split); id++) {
        if (btf__add_type(out, split, btf__type_by_id(split, id)) < 0) {
            fprintf(stderr, "btf-merge: cannot copy type %u\n", id);
            return 1;
        }
    }
    unsigned size;
    const void *data = btf__raw_data(out, &size);
    FILE *f = fopen(argv[3], "wb");
    if (!data || !f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "btf-merge: cannot write %s\n", argv[3]);
        return 1;
    }
    return 0;
}
