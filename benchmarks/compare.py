#!/usr/bin/env python3
"""Times KernelKit against the real tools, side by side in one run.

Each row runs the peer and KernelKit alternately (peer, ours, peer, ours, ...), so that
machine noise hits both alike; it reports the median wall time of each and the ratio.
Before timing, it checks that both produce the same output, so a fast wrong answer
cannot pass for a win.

Usage: benchmarks/compare.py --kernelkit BIN --oracles DIR [--runs N] [--only ROW]
Prints a Markdown table (the one in benchmarks/README.md).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd, cwd=None, env=None):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return time.perf_counter() - t0, r


def row(name, peer_label, peer, ours, runs, setup=None, same=None):
    """Alternate peer and ours `runs` times; returns a Markdown table row."""
    if setup:
        setup("peer")
    _, a = timed(peer["cmd"], peer.get("cwd"), peer.get("env"))
    if setup:
        setup("ours")
    _, b = timed(ours["cmd"], ours.get("cwd"), ours.get("env"))
    if a.returncode != b.returncode or (same or (lambda x, y: x.stdout == y.stdout))(a, b) is False:
        sys.exit(f"{name}: outputs differ (exit {a.returncode} vs {b.returncode}); not timing a wrong answer")
    pt, ot = [], []
    for _ in range(runs):
        if setup:
            setup("peer")
        pt.append(timed(peer["cmd"], peer.get("cwd"), peer.get("env"))[0])
        if setup:
            setup("ours")
        ot.append(timed(ours["cmd"], ours.get("cwd"), ours.get("env"))[0])
    p, o = statistics.median(pt), statistics.median(ot)
    return f"| {name} | {peer_label} | {p * 1000:.1f} ms | {o * 1000:.1f} ms | **{p / o:.1f}×** |"


def resolve_rows(kk, tree, runs):
    """olddefconfig of Debian's cloud-amd64 config through the 6.12 x86 tree: the
    kernel's conf (built by make, run with the environment make gives it) against
    kernelkit with a cold and with a warm probe cache."""
    work = tempfile.mkdtemp(prefix="kernelkit-bench-conf-")
    try:
        src = os.path.join(args_oracles(tree), "debian-6.12", "amd64_none_cloud-amd64.config")
        shutil.copy(src, os.path.join(work, ".config"))
        subprocess.run(["make", "-s", "-C", tree, f"O={work}", "ARCH=x86_64", "olddefconfig"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        conf = os.path.join(work, "scripts", "kconfig", "conf")
        sh = lambda c: subprocess.run(c, shell=True, cwd=tree, stdout=subprocess.PIPE).stdout.decode().strip()
        # conf runs in the output directory, as under make O=, so that it writes its
        # include/config there and never into the tree.
        env = dict(os.environ, srctree=os.path.abspath(tree), objtree=work, ARCH="x86_64", SRCARCH="x86", KERNELVERSION=sh(
            "make -s kernelversion"), CC="gcc", LD="ld", AR="ar", NM="nm", OBJCOPY="objcopy", RUSTC="rustc",
            BINDGEN="bindgen", PAHOLE="pahole", PYTHON3="python3", HOSTCC="gcc",
            CC_VERSION_TEXT=sh("LC_ALL=C gcc --version 2>/dev/null | head -n 1").replace("#", ""),
            RUSTC_VERSION_TEXT=sh("rustc --version 2>/dev/null").replace("#", ""),
            KCONFIG_CONFIG=os.path.join(work, "conf.config"))
        cache = os.path.join(work, "probe-cache")
        # conf reads and rewrites its KCONFIG_CONFIG, so the peer gets a fresh copy each run;
        # the cold rows empty kernelkit's probe cache before each of its runs.
        def reset(who):
            if who == "peer":
                shutil.copy(src, os.path.join(work, "conf.config"))

        def cold(who):
            reset(who)
            if who == "ours":
                shutil.rmtree(cache, ignore_errors=True)
        peer = {"cmd": [conf, "--olddefconfig", "Kconfig"], "cwd": work, "env": env}
        ours = {"cmd": [kk, "config", "resolve", "--tree", tree, "--arch", "x86_64", "--olddefconfig", src,
                        "-o", os.path.join(work, "ours.config")], "env": dict(os.environ, XDG_CACHE_HOME=cache)}

        def same(a, b):
            with open(os.path.join(work, "conf.config"), "rb") as f1, open(os.path.join(work, "ours.config"), "rb") as f2:
                return f1.read() == f2.read()
        n = max(5, runs // 4)
        return [row("olddefconfig, Debian cloud-amd64 on the 6.12 x86 tree, cold probe cache", "scripts/kconfig/conf",
                    peer, ours, n, setup=cold, same=same),
                row("olddefconfig, same, warm probe cache", "scripts/kconfig/conf", peer, ours, n, setup=reset, same=same)]
    finally:
        shutil.rmtree(work, ignore_errors=True)


ORACLES = [None]


def args_oracles(tree):
    return ORACLES[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernelkit", required=True)
    ap.add_argument("--oracles", required=True)
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--only")
    args = ap.parse_args()
    ORACLES[0] = os.path.abspath(args.oracles)
    kk = os.path.abspath(args.kernelkit)
    scripts = os.path.join(args.oracles, "linux-6.12", "scripts")
    fixtures = os.path.join(ROOT, "Tests", "Fixtures", "configs")
    old = os.path.join(fixtures, "azl3-6.6-x86_64.config")
    new = os.path.join(ROOT, "kconfigs", "azure-linux", "azl3-hwe-6.18-x86_64.config")
    azl4 = os.path.join(ROOT, "kconfigs", "azure-linux", "azl4-6.18-x86_64.config")

    rows = []
    want = lambda r: args.only in (None, r)
    diffconfig = os.path.join(scripts, "diffconfig")
    if want("diff"):
        # As a user runs it: the script itself, whose shebang is `/usr/bin/env python3`
        # (the first python3 on PATH).
        rows.append(row("diff, AZL 6.6 x86_64 vs AZL-hwe 6.18 x86_64", "scripts/diffconfig",
                        {"cmd": [diffconfig, old, new]},
                        {"cmd": [kk, "config", "diff", "--format", "diffconfig", old, new]}, args.runs))
    if want("diff-sys"):
        # The fastest way to run it: Debian's own interpreter, named directly.
        rows.append(row("diff, same pair", "/usr/bin/python3 scripts/diffconfig",
                        {"cmd": ["/usr/bin/python3", diffconfig, old, new]},
                        {"cmd": [kk, "config", "diff", "--format", "diffconfig", old, new]}, args.runs))
    if want("diff-m"):
        rows.append(row("diff -m, same pair", "scripts/diffconfig -m",
                        {"cmd": [diffconfig, "-m", old, new]},
                        {"cmd": [kk, "config", "diff", "-m", old, new]}, args.runs))
    if want("merge"):
        work = tempfile.mkdtemp(prefix="kernelkit-bench-")
        try:
            shutil.copy(azl4, os.path.join(work, "base.config"))
            # A realistic fragment: 60 options from the AZL3-hwe config, onto the AZL4 base.
            with open(new) as f:
                lines = [l for l in f if l.startswith("CONFIG_") or l.endswith(" is not set\n")]
            with open(os.path.join(work, "frag.config"), "w") as f:
                f.writelines(lines[::len(lines) // 60][:60])
            env = dict(os.environ, KCONFIG_CONFIG="out.config")
            same = lambda a, b: a.stdout == b.stdout
            rows.append(row("merge -m, AZL4 6.18 base + 60-option fragment", "merge_config.sh -m",
                            {"cmd": ["sh", os.path.join(scripts, "kconfig", "merge_config.sh"), "-m", "base.config",
                                     "frag.config"], "cwd": work, "env": env},
                            {"cmd": [kk, "config", "merge", "-m", "base.config", "frag.config"], "cwd": work,
                             "env": env}, max(5, args.runs // 3), same=same))
        finally:
            shutil.rmtree(work)
    tree = os.path.join(args.oracles, "linux-6.12-tree")
    if want("resolve") and os.path.exists(os.path.join(tree, "Makefile")):
        rows += resolve_rows(kk, tree, args.runs)
    print("| operation | peer | peer median | KernelKit median | speed-up |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
