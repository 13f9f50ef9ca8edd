#!/usr/bin/env python3
"""Checks `kernelkit config resolve --defconfig` against the kernel's own conf on every
arch defconfig of a kernel tree, byte for byte, and prints pass/fail counts.

For each arch/ARCH/configs/NAME (NAME ending in defconfig) it runs
    make -s O=<scratch> ARCH=<arch> CROSS_COMPILE=TREE/scripts/dummy-tools/ NAME
in the tree and
    kernelkit config resolve --tree TREE --arch <arch> --set CROSS_COMPILE=TREE/scripts/dummy-tools/ --defconfig arch/ARCH/configs/NAME
and compares the two .config files. x86 defconfigs run with the host's gcc instead of
the dummy tools, so that real compiler probes are compared too.

With --batch, KernelKit resolves them all in one `kernelkit config defconfigs` run
(one loaded tree per ARCH=) before make runs each, and the script prints both wall
times: make's, --jobs at a time, and the batch's.

Usage: scripts/kconfig-defconfigs.py --tree TREE --kernelkit BIN [--sample] [--batch] [--jobs N]
"""
import argparse
import concurrent.futures
import glob
import os
import subprocess
import sys
import shutil
import tempfile
import threading
import time

# A fixed sample across architectures, for CI.
SAMPLE = [
    ("x86", "x86_64_defconfig"), ("x86", "i386_defconfig"), ("arm64", "defconfig"),
    ("arm", "multi_v7_defconfig"), ("riscv", "defconfig"), ("powerpc", "pmac32_defconfig"),
    ("s390", "defconfig"), ("mips", "malta_defconfig"), ("loongarch", "loongson3_defconfig"),
    ("sparc", "sparc64_defconfig"),
]


def make_arch(srcarch, name):
    if srcarch == "x86":
        return "i386" if name.startswith("i386") else "x86_64"
    if srcarch == "sparc":
        return "sparc64" if "64" in name else "sparc"
    return srcarch


_local = threading.local()


def scratch():
    # One output directory per worker, kept for its lifetime, so that make builds
    # scripts/kconfig/conf once per worker rather than once per defconfig.
    if not hasattr(_local, "dir"):
        _local.dir = tempfile.mkdtemp(prefix="kconfig-oracle-")
        SCRATCH.append(_local.dir)
    return _local.dir


SCRATCH = []


BATCH = None  # the directory `config defconfigs` wrote, with --batch


def check(tree, kernelkit, srcarch, name):
    arch = make_arch(srcarch, name)
    # Absolute: with O=, make runs in the output directory.
    cross = [] if srcarch == "x86" else [f"CROSS_COMPILE={tree}/scripts/dummy-tools/"]
    out = scratch()
    if True:
        r = subprocess.run(["make", "-s", "-C", tree, f"O={out}", f"ARCH={arch}"] + cross + [name],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            return ("oracle-failed", srcarch, name, r.stderr.decode(errors="replace")[-300:])
        with open(os.path.join(out, ".config"), "rb") as f:
            expected = f.read()
        if BATCH:
            ours = os.path.join(BATCH, srcarch, name + ".config")
            if not os.path.exists(ours):
                return ("error", srcarch, name, "config defconfigs wrote no file")
        else:
            ours = os.path.join(out, "ours.config")
            cmd = [kernelkit, "config", "resolve", "--tree", tree, "--arch", arch,
                   "--defconfig", f"arch/{srcarch}/configs/{name}", "-o", ours]
            if cross:
                cmd += ["--set", cross[0]]
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if r.returncode != 0:
                return ("error", srcarch, name, r.stderr.decode(errors="replace")[-300:])
        with open(ours, "rb") as f:
            actual = f.read()
        if actual == expected:
            return ("pass", srcarch, name, "")
        diff = subprocess.run(["diff", os.path.join(out, ".config"), ours], stdout=subprocess.PIPE)
        return ("fail", srcarch, name, diff.stdout.decode(errors="replace")[:400])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", required=True)
    ap.add_argument("--kernelkit", required=True)
    ap.add_argument("--sample", action="store_true", help="only the fixed sample of 10 defconfigs on 9 arches")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--batch", action="store_true", help="resolve them all in one `kernelkit config defconfigs` run first")
    args = ap.parse_args()
    tree = os.path.abspath(args.tree)
    global BATCH
    batch_seconds = None
    if args.batch and args.sample:
        sys.exit("--batch resolves whole trees; it does not go with --sample")
    if args.batch:
        BATCH = tempfile.mkdtemp(prefix="kernelkit-defconfigs-")
        SCRATCH.append(BATCH)
        cmd = [os.path.abspath(args.kernelkit), "config", "defconfigs", "--tree", tree, "--dummy-tools", "-o", BATCH]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        batch_seconds = time.perf_counter() - t0
        print(r.stdout.decode(errors="replace").strip().splitlines()[-1] if r.stdout else r.stderr.decode(errors="replace"))
    if args.sample:
        work = SAMPLE
    else:
        work = []
        for path in sorted(glob.glob(os.path.join(tree, "arch", "*", "configs", "*"))):
            name = os.path.basename(path)
            if name.endswith("defconfig"):
                work.append((path.split(os.sep)[-3], name))
    counts = {}
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for status, srcarch, name, detail in pool.map(lambda w: check(tree, os.path.abspath(args.kernelkit), *w), work):
            counts[status] = counts.get(status, 0) + 1
            if status != "pass" or args.verbose:
                print(f"{status.upper():14} arch/{srcarch}/configs/{name}")
                if detail:
                    print("    " + detail.replace("\n", "\n    ").rstrip())
            sys.stdout.flush()
    make_seconds = time.perf_counter() - t0
    for d in SCRATCH:
        shutil.rmtree(d, ignore_errors=True)
    if batch_seconds is not None:
        print(f"wall time: make {make_seconds:.1f} s ({args.jobs} at a time), kernelkit config defconfigs "
              f"{batch_seconds:.1f} s: {make_seconds / batch_seconds:.1f}x")
    total = sum(counts.values())
    compared = total - counts.get("oracle-failed", 0)
    print(f"defconfigs: {total}; compared with conf: {compared}; "
          f"not comparable (make itself failed, e.g. generated defconfigs): {counts.get('oracle-failed', 0)}")
    print(f"{counts.get('pass', 0)} passed, {compared - counts.get('pass', 0)} failed")
    sys.exit(0 if counts.get("pass", 0) == compared else 1)


if __name__ == "__main__":
    main()
