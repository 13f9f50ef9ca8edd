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
        setup()
    _, a = timed(peer["cmd"], peer.get("cwd"), peer.get("env"))
    if setup:
        setup()
    _, b = timed(ours["cmd"], ours.get("cwd"), ours.get("env"))
    if a.returncode != b.returncode or (same or (lambda x, y: x.stdout == y.stdout))(a, b) is False:
        sys.exit(f"{name}: outputs differ (exit {a.returncode} vs {b.returncode}); not timing a wrong answer")
    pt, ot = [], []
    for _ in range(runs):
        if setup:
            setup()
        pt.append(timed(peer["cmd"], peer.get("cwd"), peer.get("env"))[0])
        if setup:
            setup()
        ot.append(timed(ours["cmd"], ours.get("cwd"), ours.get("env"))[0])
    p, o = statistics.median(pt), statistics.median(ot)
    return f"| {name} | {peer_label} | {p * 1000:.1f} ms | {o * 1000:.1f} ms | **{p / o:.1f}×** |"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernelkit", required=True)
    ap.add_argument("--oracles", required=True)
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--only")
    args = ap.parse_args()
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
    print("| operation | peer | peer median | KernelKit median | speed-up |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
