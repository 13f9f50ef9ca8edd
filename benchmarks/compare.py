#!/usr/bin/env python3
"""Times KernelKit against the real tools, side by side in one run.

Each row runs the peer and KernelKit alternately (peer, ours, peer, ours, ...), so that
machine noise hits both alike; it reports the median wall time of each and the ratio.
Before timing, it checks that both produce the same output, so a fast wrong answer
cannot pass for a win.

Usage: benchmarks/compare.py --kernelkit BIN --oracles DIR [--runs N] [--only ROW] [--khc CHECKOUT]
                             [--azl CHECKOUT]
Prints a Markdown table (the one in benchmarks/README.md).
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd, cwd=None, env=None, stdin=None):
    """`stdin`: a file the command reads as its standard input (opened before the clock)."""
    f = open(stdin, "rb") if stdin else None
    try:
        t0 = time.perf_counter()
        r = subprocess.run(cmd, cwd=cwd, env=env, stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return time.perf_counter() - t0, r
    finally:
        if f:
            f.close()


def row(name, peer_label, peer, ours, runs, setup=None, same=None, exits=None):
    """Alternate peer and ours `runs` times; returns a Markdown table row. `exits`, when
    given, is the (peer, ours) pair of exit statuses expected instead of equal ones."""
    if setup:
        setup("peer")
    _, a = timed(peer["cmd"], peer.get("cwd"), peer.get("env"), peer.get("stdin"))
    if setup:
        setup("ours")
    _, b = timed(ours["cmd"], ours.get("cwd"), ours.get("env"), ours.get("stdin"))
    codes_ok = (a.returncode, b.returncode) == exits if exits else a.returncode == b.returncode
    if not codes_ok or (same or (lambda x, y: x.stdout == y.stdout))(a, b) is False:
        sys.exit(f"{name}: outputs differ (exit {a.returncode} vs {b.returncode}); not timing a wrong answer")
    pt, ot = [], []
    for _ in range(runs):
        if setup:
            setup("peer")
        pt.append(timed(peer["cmd"], peer.get("cwd"), peer.get("env"), peer.get("stdin"))[0])
        if setup:
            setup("ours")
        ot.append(timed(ours["cmd"], ours.get("cwd"), ours.get("env"), ours.get("stdin"))[0])
    p, o = statistics.median(pt), statistics.median(ot)
    return f"| {name} | {peer_label} | {p * 1000:.1f} ms | {o * 1000:.1f} ms | **{p / o:.1f}×** |"


def kconfig_scale_rows(kk, tree72, runs):
    """Kconfig at scale on the 7.2 tree, the peer being what a maintainer runs without
    KernelKit: make once per config. randconfig: 10 seeds (make randconfig with
    KCONFIG_SEED each, against one --count 10 run). impact: the x86_64 and arm64
    defconfigs, make on the old tree and on an edited copy and scripts/diffconfig
    between them, against one config impact run. Both sides must agree first."""
    out = []
    dummy = f"CROSS_COMPILE={tree72}/scripts/dummy-tools/"
    work = tempfile.mkdtemp(prefix="kernelkit-bench-scale-")
    try:
        seeds = [0x5eed + i for i in range(10)]
        mk = os.path.join(work, "mk")
        loop = (f"for s in {' '.join(hex(s) for s in seeds)}; do make -s -C {tree72} O={mk} ARCH=riscv {dummy} "
                f"KCONFIG_SEED=$s randconfig >/dev/null && cp {mk}/.config {work}/peer-$s.config || exit 1; done")
        def same_rand(a, b):
            for s in seeds:
                with open(f"{work}/peer-{hex(s)}.config", "rb") as f1, open(f"{work}/ours/0x{s:X}.config", "rb") as f2:
                    if f1.read() != f2.read():
                        return False
            return True
        out.append(row("randconfig, 10 seeds, riscv, 7.2 tree (warm probe cache)", "make KCONFIG_SEED=S randconfig, once per seed",
                       {"cmd": ["sh", "-c", loop]},
                       {"cmd": [kk, "config", "resolve", "--tree", tree72, "--arch", "riscv", "--dummy-tools", "--randconfig",
                                "--seed", hex(seeds[0]), "--count", "10", "-o", os.path.join(work, "ours")]},
                       max(3, runs // 5), same=same_rand))
        # The edited tree: links to the 7.2 tree, a changed default in init/Kconfig.
        new = os.path.join(work, "new-tree")
        os.mkdir(new)
        for e in os.listdir(tree72):
            if e != "init":
                os.symlink(os.path.join(tree72, e), os.path.join(new, e))
        os.mkdir(os.path.join(new, "init"))
        for e in os.listdir(os.path.join(tree72, "init")):
            if e != "Kconfig":
                os.symlink(os.path.join(tree72, "init", e), os.path.join(new, "init", e))
        with open(os.path.join(tree72, "init", "Kconfig")) as f:
            k = f.read()
        i = k.index("config LOG_BUF_SHIFT\n")
        j = k.index("\tdefault 17\n", i)
        with open(os.path.join(new, "init", "Kconfig"), "w") as f:
            f.write(k[:j] + "\tdefault 18\n" + k[j + len("\tdefault 17\n"):])
        defconfigs = [("x86_64", "x86", "x86_64_defconfig", ""), ("arm64", "arm64", "defconfig", dummy)]
        diffconfig = os.path.join(tree72, "scripts", "diffconfig")
        steps = []
        for arch, _, name, cross in defconfigs:
            steps.append(f"make -s -C {tree72} O={work}/o ARCH={arch} {cross} {name} && cp {work}/o/.config {work}/old.config && "
                         f"make -s -C {new} O={work}/n ARCH={arch} {cross} {name} && "
                         f"/usr/bin/python3 {diffconfig} {work}/old.config {work}/n/.config | sed 's/^/{arch} {name}:/'")
        peer_cmd = " && ".join(steps)
        def same_impact(a, b):
            peer = set(a.stdout.decode().splitlines())
            ours = set()
            for c in json.loads(b.stdout)["configs"]:
                for ch in c.get("changes", []):
                    o, n = ch["old"], ch["new"]
                    line = f"+{ch['option']} {n}" if o is None else f"-{ch['option']} {o}" if n is None else f" {ch['option']} {o} -> {n}"
                    ours.add(f"{c['arch']} {c['config']}:{line}")
            return peer == ours and len(peer) > 0
        out.append(row("config impact, x86_64 and arm64 defconfigs, 7.2 tree against an edited copy",
                       "make on both trees + scripts/diffconfig, per defconfig",
                       {"cmd": ["sh", "-c", peer_cmd]},
                       {"cmd": [kk, "config", "impact", "--tree", tree72, "--tree", new, "--arch", "x86_64", "--arch", "arm64",
                                "--dummy-tools", "--format", "json"]},
                       max(3, runs // 5), same=same_impact))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


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


def modsign_rows(kk, oracles, runs):
    """Bulk-signing Debian's 1,121 cloud modules with an RSA-4096 key: a shell loop of the
    kernel's sign-file (one process per module, as modules_install runs it) against one
    `kernelkit modsign sign`; both must give byte-identical trees. Then verifying all of
    them against the keyring in the vmlinuz (no peer does this in bulk: time only)."""
    image = os.path.join(oracles, "debian-cloud-image")
    sign_file = os.path.join(oracles, "sign-file")
    genkey = os.path.join(oracles, "linux-6.12-tree", "certs", "default_x509.genkey")
    if not (os.path.exists(sign_file) and os.path.isdir(os.path.join(image, "lib", "modules"))):
        return []
    work = tempfile.mkdtemp(prefix="kernelkit-bench-modsign-")
    try:
        key, cert = os.path.join(work, "signing_key.pem"), os.path.join(work, "signing_key.x509")
        subprocess.run(["openssl", "req", "-new", "-nodes", "-utf8", "-sha512", "-days", "36500", "-batch", "-x509",
                        "-config", genkey, "-outform", "PEM", "-out", key, "-keyout", key], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["openssl", "x509", "-in", key, "-outform", "DER", "-out", cert], check=True)
        pristine = os.path.join(work, "unsigned")
        shutil.copytree(os.path.join(image, "lib", "modules"), pristine, symlinks=True)
        subprocess.run([kk, "modsign", "strip"] + module_files(pristine), check=True)
        trees = {who: os.path.join(work, who) for who in ("peer", "ours")}
        with open(os.path.join(work, "list"), "w") as f:
            f.write("\n".join(module_files(trees["peer"], pristine)) + "\n")
        loop = f'while read -r m; do "{sign_file}" sha512 "{key}" "{cert}" "$m" || exit 1; done < "{work}/list"'

        def fresh(who):
            shutil.rmtree(trees[who], ignore_errors=True)
            shutil.copytree(pristine, trees[who], symlinks=True)

        def same(a, b):
            ours = module_files(trees["ours"])
            theirs = module_files(trees["peer"])
            return len(ours) == 1121 and all(open(x, "rb").read() == open(y, "rb").read() for x, y in zip(theirs, ours))
        out = [row("bulk-sign 1,121 Debian cloud modules, RSA-4096, sha512", "loop of scripts/sign-file",
                   {"cmd": ["sh", "-c", loop]},
                   {"cmd": [kk, "modsign", "sign", "--key", key, "--cert", cert, "--hash", "sha512", trees["ours"]]},
                   max(3, runs // 7), setup=fresh, same=same)]
        vmlinuz = next(os.path.join(image, "boot", n) for n in os.listdir(os.path.join(image, "boot")) if n.startswith("vmlinuz"))
        modules = os.path.join(image, "lib", "modules")
        times = []
        for _ in range(max(3, runs // 3)):
            t, r = timed([kk, "modsign", "verify", "--keyring", vmlinuz, modules])
            if r.returncode != 0:
                sys.exit("verify: not every module verified; not timing a wrong answer")
            times.append(t)
        out.append(f"| verify 1,121 Debian cloud modules against their vmlinuz's keyring | (none in bulk) | – | "
                   f"{statistics.median(times) * 1000:.1f} ms | – |")
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def audit_live_rows(kk, oracles, runs):
    """`audit --live` of this machine with Debian's 1,121 cloud modules as its modules tree
    (verified against their vmlinuz's keyring, beside the config, lockdown and probe
    checks) against a shell loop of kmod's modinfo over the same modules, which only
    prints each one's fields and signer, checking nothing."""
    image = os.path.join(oracles, "debian-cloud-image")
    if not os.path.isdir(os.path.join(image, "lib", "modules")):
        return []
    release = os.listdir(os.path.join(image, "lib", "modules"))[0]
    tree = os.path.join(image, "lib", "modules", release)
    vmlinuz = os.path.join(image, "boot", "vmlinuz-" + release)
    files = module_files(tree)
    work = tempfile.mkdtemp(prefix="kernelkit-bench-audit-")
    try:
        with open(os.path.join(work, "list"), "w") as f:
            f.write("\n".join(files) + "\n")
        loop = f'while read -r m; do /sbin/modinfo "$m" > /dev/null || exit 1; done < "{work}/list"'
        ours = [kk, "audit", "--live", "--format", "json", "--modules", tree, "--kernel-image", vmlinuz]
        code = subprocess.run(ours, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode

        def same(a, b):
            report = json.loads(b.stdout)
            return len(files) == 1121 and report["modules"]["summary"]["signed-trusted"] == 1121
        return [row("audit --live, Debian's 1,121 cloud modules as the tree (all verified)", "loop of kmod's modinfo",
                    {"cmd": ["sh", "-c", loop]}, {"cmd": ours}, max(3, runs // 7), same=same, exits=(0, code))]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def module_files(root, relative_to=None):
    """Every .ko below root, sorted; with relative_to, the same names under root."""
    base = relative_to or root
    names = sorted(os.path.relpath(os.path.join(d, f), base) for d, _, fs in os.walk(base) for f in fs if f.endswith(".ko"))
    return [os.path.join(root, n) for n in names]


def harden_rows(kk, runs, khc=None):
    """harden check against kernel-hardening-checker (khc), the checker the field uses.
    khc is in no package registry: it runs from a git checkout given as --khc (the
    search tool's fetch, then git clone; its code is never committed). Each row checks
    first that both give the same output (ours `--format khc-json` of the khc baseline:
    one config, the same bytes; seven, the same lists), so a fast wrong answer cannot
    pass for a win. Without --khc, only
    KernelKit's medians are printed, against the shipped baselines."""
    configs = [os.path.join(ROOT, "kconfigs", "azure-linux", f) for f in
               ("azl4-6.18-x86_64.config", "azl4-6.18-aarch64.config", "azl3-hwe-6.18-x86_64.config", "azl3-hwe-6.18-aarch64.config")]
    configs += [os.path.join(ROOT, "Tests", "Fixtures", "configs", f) for f in
                ("azl3-6.6-x86_64.config", "azl3-6.6-aarch64.config", "host-6.18.config")]
    inputs = os.path.join(ROOT, "Tests", "Fixtures", "khc", "inputs")
    cmdline, sysctl = os.path.join(inputs, "hardened.cmdline"), os.path.join(inputs, "hardened.sysctl")
    out = []
    if khc:
        # Debian's interpreter directly: `python3` on PATH may be a shim (pyenv's costs
        # ~30 ms a run), which would flatter us.
        py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        tool = [py, os.path.join(khc, "bin", "kernel-hardening-checker")]
        out.append(row("harden check, AZL4 6.18 x86_64 config + cmdline + sysctl, every khc check (363), JSON",
                       "kernel-hardening-checker -m json",
                       {"cmd": tool + ["-c", configs[0], "-l", cmdline, "-s", sysctl, "-m", "json"]},
                       {"cmd": [kk, "harden", "check", "--baseline", "khc", "--config", configs[0], "--cmdline", cmdline,
                                "--sysctl", sysctl, "--format", "khc-json"]},
                       runs, exits=(0, 1)))  # the same bytes: khc-json is khc's own print(json.dumps(...))
        # khc checks one config per process; a CI job over a repository of configs runs it
        # once per file, and KernelKit once for all of them (an array, one report each).
        loop = "for c in \"$@\"; do " + " ".join(tool) + " -c \"$c\" -m json; echo; done"
        def same_many(a, b):
            peer = [json.loads(chunk) for chunk in a.stdout.decode().split("\n\n") if chunk.strip()]
            return peer == json.loads(b.stdout)
        out.append(row(f"harden check, the {len(configs)} bundled configs, every khc check, JSON",
                       f"kernel-hardening-checker, once per config",
                       {"cmd": ["sh", "-c", loop, "sh"] + configs},
                       {"cmd": [kk, "harden", "check", "--baseline", "khc", "--format", "khc-json"] +
                               sum([["--config", c] for c in configs], [])},
                       max(3, runs // 5), same=same_many, exits=(0, 1)))
    every = ["--baseline", "kspp", "--baseline", "kernel-hardening", "--baseline", "azure-hyperv-6.18",
             "--baseline", "azure-linux", "--azl-package", "kernel"]
    for label, cmd in [
        ("harden check, AZL4 6.18 x86_64 against kspp, kernel-hardening, azure-hyperv-6.18, azure-linux (633 rules)",
         [kk, "harden", "check", "--config", configs[0]] + every),
        ("harden check, 100 configs (the 7 bundled, repeated) in one invocation, same baselines",
         [kk, "harden", "check"] + sum([["--config", configs[i % len(configs)]] for i in range(100)], []) + every + ["--format", "json"]),
    ]:
        times = []
        for _ in range(runs):
            t, r = timed(cmd)
            if r.returncode not in (0, 1):
                sys.exit(f"harden: exit {r.returncode}: {r.stderr.decode()[:200]}")
            times.append(t)
        out.append(f"| {label} | (no peer checks these baselines) | – | {statistics.median(times) * 1000:.1f} ms | – |")
    return out


def probe_rows(kk, runs):
    """Probe overhead on fio 4 KiB random reads against a loop device (direct I/O):
    IOPS with nothing attached, with `kernelkit probe biolatency`, and with the
    equivalent bpftrace script, alternating; and the probe's own user CPU per event."""
    if os.geteuid() != 0 or not shutil.which("fio") or not shutil.which("bpftrace"):
        return []
    work = tempfile.mkdtemp(prefix="kernelkit-bench-probe-")
    img = os.path.join(work, "disk.img")
    subprocess.run(["truncate", "-s", "256M", img], check=True)
    loop = subprocess.run(["losetup", "-f", "--show", "--direct-io=on", img], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.strip()
    try:
        name = loop[5:]
        major, minor = open(f"/sys/class/block/{name}/dev").read().strip().split(":")
        dev = (int(major) << 20) | int(minor)
        fio = ["fio", "--name=r", f"--filename={loop}", "--rw=randread", "--bs=4k", "--direct=1", "--ioengine=psync",
               "--time_based", "--runtime=4", "--output-format=json"]
        script = (f"tracepoint:block:block_rq_issue /args->dev == {dev}/ {{ @s[args->sector] = nsecs; }} "
                  f"tracepoint:block:block_rq_complete /args->dev == {dev} && @s[args->sector]/ "
                  f"{{ @us = hist((nsecs - @s[args->sector]) / 1000); delete(@s[args->sector]); }}")

        def iops(tracer):
            p = None
            if tracer == "kernelkit":
                p = subprocess.Popen([kk, "probe", "biolatency", "--disk", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            elif tracer == "bpftrace":
                p = subprocess.Popen(["bpftrace", "-e", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if p:
                time.sleep(2.5)
            out = json.loads(subprocess.run(fio, stdout=subprocess.PIPE, check=True).stdout)
            cpu = None
            if p:
                with open(f"/proc/{p.pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                cpu = (int(fields[11]), int(fields[12]))  # utime, stime in ticks
                p.send_signal(2)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    # bpftrace 0.17 sometimes misses a SIGINT that comes early.
                    p.kill()
                    p.wait()
            return out["jobs"][0]["read"]["iops"], cpu
        none, ours, theirs, cpus = [], [], [], []
        for _ in range(max(3, runs // 7)):
            none.append(iops(None)[0])
            o, cpu = iops("kernelkit")
            ours.append(o)
            cpus.append(cpu)
            theirs.append(iops("bpftrace")[0])
        base, o, t = statistics.median(none), statistics.median(ours), statistics.median(theirs)
        rows = [f"| fio 4k randread on a loop device, IOPS lost to the probe | bpftrace biolatency script: {100 * (base - t) / base:.1f}% "
                f"({t:.0f} of {base:.0f}) | – | {100 * (base - o) / base:.1f}% ({o:.0f}) | – |"]
        # The probe's own user CPU at a high event rate: fio with io_uring and 32 requests
        # in flight, the probe's utime read just before and after the fio run.
        hz = os.sysconf("SC_CLK_TCK")
        fast = ["fio", "--name=r", f"--filename={loop}", "--rw=randread", "--bs=4k", "--direct=1", "--ioengine=io_uring",
                "--iodepth=32", "--time_based", "--runtime=5", "--output-format=json"]
        p = subprocess.Popen([kk, "probe", "biolatency", "--disk", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2.5)

        def utime():
            with open(f"/proc/{p.pid}/stat") as f:
                return int(f.read().rsplit(")", 1)[1].split()[11])
        u0, t0 = utime(), time.perf_counter()
        out = json.loads(subprocess.run(fast, stdout=subprocess.PIPE, check=True).stdout)
        u1, t1 = utime(), time.perf_counter()
        p.send_signal(2)
        p.wait(timeout=10)
        rate = out["jobs"][0]["read"]["iops"]
        pct = 100 * (u1 - u0) / hz / (t1 - t0)
        bound = "" if u1 > u0 else f" (under one {1000 // hz} ms tick in {t1 - t0:.1f} s: < {100 / hz / (t1 - t0):.2f}%)"
        rows.append(f"| user CPU of `probe biolatency` at {rate:,.0f} events/s (fio io_uring, depth 32) | – | – | "
                    f"{pct:.2f}% of one core{bound} | – |")
        return rows
    finally:
        subprocess.run(["losetup", "-d", loop])
        shutil.rmtree(work, ignore_errors=True)


def probe_check_rows(kk, oracles, runs):
    """`probe check` of every probe against Debian's 6.1 cloud kernel and its three
    Hyper-V modules, against bpftool's `gen min_core_btf` (libbpf's relocation code, no
    kernel) over the same five BPF objects. bpftool reads one BTF file and no modules, so
    it gets the kernel's BTF with hv_vmbus's merged in (scripts/btf-merge.c), made
    beforehand and not timed; probe check reads the ELF vmlinux and the three .ko files."""
    image = os.path.join(oracles, "debian-cloud-image")
    merge = os.path.join(oracles, "btf-merge")
    objects = sorted(glob.glob(os.path.join(ROOT, ".build", "plugins", "outputs", "*", "KernelProbes", "destination",
                                            "BPFCompilerPlugin", "*.bpf.o")))
    if not os.path.exists(merge) or not objects or not shutil.which("bpftool"):
        return []
    vmlinuz = sorted(glob.glob(os.path.join(image, "boot", "vmlinuz-*")))[0]
    release = os.path.basename(vmlinuz)[len("vmlinuz-"):]
    mods = os.path.join(image, "lib", "modules", release, "kernel", "drivers")
    modules = [os.path.join(mods, "hv", "hv_vmbus.ko"), os.path.join(mods, "scsi", "hv_storvsc.ko"),
               os.path.join(mods, "net", "hyperv", "hv_netvsc.ko")]
    work = tempfile.mkdtemp(prefix="kernelkit-bench-btf-")
    try:
        vmlinux = os.path.join(work, "vmlinux")
        with open(vmlinux, "wb") as f:
            subprocess.run([os.path.join(oracles, "linux-6.12-tree", "scripts", "extract-vmlinux"), vmlinuz], stdout=f, check=True)
        merged = os.path.join(work, "merged.btf")
        subprocess.run([merge, vmlinux, modules[0], merged], check=True)
        mod_args = [a for m in modules for a in ("--module-btf", m)]
        same = lambda a, b: True  # different outputs by nature; both must succeed (exit 0)
        rows = [row(f"probe check, all {len(objects)} BPF objects, one BTF file (6.1 cloud vmlinux + hv_vmbus merged)",
                    "bpftool gen min_core_btf, same file and objects",
                    {"cmd": ["bpftool", "gen", "min_core_btf", merged, os.path.join(work, "min.btf")] + objects},
                    {"cmd": [kk, "probe", "check", "--btf", merged, "--format", "json"]}, runs, same=lambda a, b: True,
                    exits=(0, 1)),
                row(f"probe check, all {len(objects)} BPF objects, 6.1 cloud vmlinux + hv_vmbus, hv_storvsc, hv_netvsc",
                    "bpftool gen min_core_btf (vmlinux + hv_vmbus merged)",
                    {"cmd": ["bpftool", "gen", "min_core_btf", merged, os.path.join(work, "min.btf")] + objects},
                    {"cmd": [kk, "probe", "check", "--btf", vmlinux, "--format", "json"] + mod_args}, runs, same=same)]
        # (The merged file has hv_vmbus only, so storvsc and netvsc do not fit there and
        # probe check exits 1, where bpftool exits 0: the first row compares the work.)
        times = []
        for _ in range(runs):
            times.append(timed([kk, "probe", "check", "--btf", vmlinuz, "--format", "json"] + mod_args)[0])
        rows.append(f"| probe check from the compressed vmlinuz (decompressed in process) + the three modules | – | – | "
                    f"{statistics.median(times) * 1000:.1f} ms | – |")
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


ORACLES = [None]


def args_oracles(tree):
    return ORACLES[0]


def azl_rows(kk, runs, checkout):
    """harden check --baseline azure-linux against Azure Linux's own config checker
    (toolkit/scripts/kernel_config_checker in microsoft/azurelinux, the oracle of
    Tests/Fixtures/azl-checker). It is in no package registry: --azl names a checkout
    (the search tool's fetch, then `git archive` of the toolkit; its code is never
    committed), and it needs pydantic 2 from PyPI. Before timing, each row checks that
    both fail the same options with the same expected and actual values."""
    scripts = os.path.join(checkout, "toolkit", "scripts")
    policy = os.path.join(ROOT, "kconfigs", "baselines", "azure-linux", "azl3-os-required-kernel-configs.json")
    # An interpreter with pydantic 2: Debian's (named directly, not through a shim) if it
    # has it, else the one running this script.
    py = next((c for c in ("/usr/bin/python3", sys.executable) if os.path.exists(c) and subprocess.run(
        [c, "-c", "import pydantic, sys; sys.exit(int(pydantic.VERSION.split('.')[0]) < 2)"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0), None)
    if py is None:
        sys.exit("azl: Azure Linux's checker needs pydantic 2: pip install 'pydantic>=2'")
    configs = [(os.path.join(ROOT, "kconfigs", "azure-linux", f"{n}.config"), a) for n, a in
               (("azl4-6.18-x86_64", "x86_64"), ("azl4-6.18-aarch64", "arm64"),
                ("azl3-hwe-6.18-x86_64", "x86_64"), ("azl3-hwe-6.18-aarch64", "arm64"))]
    configs += [(os.path.join(ROOT, "Tests", "Fixtures", "configs", f"{n}.config"), a) for n, a in
                (("azl3-6.6-x86_64", "x86_64"), ("azl3-6.6-aarch64", "arm64"))]
    packages = ["kernel", "kernel-hwe", "kernel-64k"]
    checker = [py, "-m", "kernel_config_checker.check_config"]

    def theirs(text):
        # Per run (the loop below echoes `--` after each): its `✗ CONFIG_X: expected 'V',
        # got 'A' (from …)` lines.
        return [sorted(l.split("✗ ", 1)[1].rsplit(" (from ", 1)[0] for l in chunk.splitlines()
                       if "✗ CONFIG_" in l and " (from " in l)
                for chunk in text.split("\n--\n") if chunk.strip()]

    def ours(text):
        out = []
        for chunk in text.split("\n--\n"):
            if not chunk.strip():
                continue
            doc = json.loads(chunk)
            for report in (doc if isinstance(doc, list) else [doc]):
                out.append(sorted(f"{f['option']}: expected '{f['expected']}', got '{f['actual'] or 'n'}'"
                                  for f in report["findings"] if f["status"] == "fail"))
        return out

    def same(a, b):
        # Some run must fail something, or two empty parses would pass for agreement.
        t, o = theirs(a.stdout.decode()), ours(b.stdout.decode())
        return any(t) and t == o

    out = [row("harden check, AZL4 6.18 x86_64 against Azure Linux's required-config policy (package kernel)",
               "Azure Linux's check_config.py",
               {"cmd": checker + [configs[0][0], policy, "kernel", configs[0][1]], "cwd": scripts},
               {"cmd": [kk, "harden", "check", "--config", configs[0][0], "--baseline", "azure-linux",
                        "--azl-package", "kernel", "--format", "json"]},
               runs, same=same, exits=(1, 1))]
    # Every config for every package: the checker takes one config and one package per
    # process; KernelKit one package per process, with all six configs.
    each = " ".join(f"'{c}' {a}" for c, a in configs)
    peer = (f"for p in {' '.join(packages)}; do set -- {each}; while [ $# -gt 0 ]; do "
            + " ".join(checker) + f" \"$1\" '{policy}' \"$p\" \"$2\"; echo --; shift 2; done; done")
    mine = (f"for p in {' '.join(packages)}; do '{kk}' harden check --baseline azure-linux --azl-package \"$p\" --format json "
            + " ".join(f"--config '{c}'" for c, _ in configs) + "; echo --; done")
    out.append(row(f"harden check, the {len(configs)} Azure Linux configs x {len(packages)} packages, azure-linux policy",
                   "Azure Linux's check_config.py, once per config and package",
                   {"cmd": ["sh", "-c", peer], "cwd": scripts},
                   {"cmd": ["sh", "-c", mine]},
                   max(3, runs // 5), same=same))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernelkit", required=True)
    ap.add_argument("--oracles", required=True)
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--only")
    ap.add_argument("--khc", help="a kernel-hardening-checker git checkout, the harden rows' peer")
    ap.add_argument("--azl", help="a microsoft/azurelinux checkout (its toolkit/scripts at least), the azl rows' peer")
    args = ap.parse_args()
    ORACLES[0] = os.path.abspath(args.oracles)
    kk = os.path.abspath(args.kernelkit)
    scripts = os.path.join(ORACLES[0], "linux-6.12", "scripts")
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
    tree72 = os.path.abspath(os.path.join(args.oracles, "linux-7.2-tree"))
    if want("kconfig-scale") and os.path.exists(os.path.join(tree72, "Makefile")):
        rows += kconfig_scale_rows(kk, tree72, args.runs)
    if want("harden"):
        rows += harden_rows(kk, args.runs, args.khc)
    if want("azl") and args.azl:
        rows += azl_rows(kk, args.runs, os.path.abspath(args.azl))
    if want("probe"):
        rows += probe_rows(kk, args.runs)
    if want("modsign"):
        rows += modsign_rows(kk, ORACLES[0], args.runs)
    if want("probe-check"):
        rows += probe_check_rows(kk, ORACLES[0], args.runs)
    if want("audit-live"):
        rows += audit_live_rows(kk, ORACLES[0], args.runs)
    bootgraph = os.path.join(tree, "scripts", "bootgraph.pl")
    if want("boot") and os.path.exists(bootgraph) and shutil.which("perl"):
        # The kernel's own picture of an initcall_debug log (60 bars) against boot report's
        # JSON of every initcall and its SVG; different outputs by nature, both must succeed.
        dmesg = os.path.join(ROOT, "Tests", "Fixtures", "boot", "debian-6.1-cloud-tcg.dmesg")
        work = tempfile.mkdtemp(prefix="kernelkit-bench-boot-")
        try:
            rows.append(row("a 578-initcall boot log (Tests/Fixtures/boot) to a picture: `boot report --log … --format json --svg`",
                            "perl scripts/bootgraph.pl < dmesg > svg (6.12 tree)",
                            {"cmd": ["perl", bootgraph], "stdin": dmesg},
                            {"cmd": [kk, "boot", "report", "--log", dmesg, "--format", "json", "--svg",
                                     os.path.join(work, "boot.svg")]}, args.runs, same=lambda a, b: True))
        finally:
            shutil.rmtree(work)
    print("| operation | peer | peer median | KernelKit median | speed-up |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
