#!/usr/bin/env python3
"""Writes docs/azure-6.18-kernel.md: what KernelKit's 6.18 Hyper-V/Azure fragments change
in Azure Linux 4.0's base config, per arch, each change with the reason its fragment
gives. The diff comes from `kernelkit config diff --format json` of the base and
`kernelkit config build`; a test fails while the page misses a change.

Usage: scripts/kconfigs-doc.py [KERNELKIT_BIN]
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KK = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "scripts", "kernelkit")


def kernelkit(*args, cwd=None):
    return subprocess.run([KK, *args], check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)


def manifest_fragments(arch, flavour="azure"):
    """The fragment list of a flavour, in merge order, read from manifest.toml."""
    import re
    text = open(os.path.join(ROOT, "kconfigs", "6.18", "manifest.toml")).read()
    for block in text.split("[[flavour]]")[1:]:
        if f'name = "{flavour}"' in block and f'arch = "{arch}"' in block:
            return re.findall(r'"([a-z0-9_]+/[a-z0-9_.-]+\.config)"', block)
    return []


def fragment_reasons():
    """CONFIG name -> (fragment, reason) for the last fragment line that sets it."""
    reasons = {}
    base = os.path.join(ROOT, "kconfigs", "6.18")
    for d in ("common", "x86_64", "arm64"):
        for name in sorted(os.listdir(os.path.join(base, d))):
            comments = []
            for line in open(os.path.join(base, d, name)):
                line = line.rstrip("\n")
                opt = None
                if line.startswith("CONFIG_") and "=" in line:
                    opt = line.split("=", 1)[0][7:]
                elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
                    opt = line[9:-11]
                if opt:
                    why = next((c for c in comments if not c.startswith("override:")), "")
                    reasons.setdefault(opt, {})[f"{d}/{name}"] = why
                    comments = []
                elif line.startswith("#"):
                    comments.append(line.lstrip("# "))
                else:
                    comments = []
    return reasons


def waivers():
    """The [[waiver]] tables of kconfigs/6.18/waivers.toml, in file order."""
    import tomllib
    with open(os.path.join(ROOT, "kconfigs", "6.18", "waivers.toml"), "rb") as f:
        return tomllib.load(f)["waiver"]


def deviations():
    """The section on kspp and khc: the audit's verdicts with and without the waivers, and a
    row per waiver with each arch's value."""
    args = ["audit", "--baseline", "kspp", "--baseline", "khc"]
    wfile = os.path.join(ROOT, "kconfigs", "6.18", "waivers.toml")
    actual, verdicts = {}, []
    for arch in ("x86_64", "arm64"):
        plain = json.loads(kernelkit(*args, "--arch", arch, "--format", "json").stdout)
        waived = kernelkit(*args, "--arch", arch, "--waivers", wfile).stdout.splitlines()[0]
        verdicts.append(f"- {arch}: without waivers `{plain['verdict'].upper()}` "
                        f"({plain['summary']['fail']} failing); with them `{waived}`")
        for f in plain["findings"]:
            if f["status"] == "fail":
                actual.setdefault(f["id"], {})[arch] = "absent" if f["actual"] is None else f["actual"]
    ws = waivers()
    out = ["## Deviations from the strictest baselines: kspp and khc", "",
           "`kspp` (KSPP's recommended settings) and `khc` (every check kernel-hardening-checker makes)",
           "ask for more than a general-purpose Azure kernel can give: tracing for the probes, crash",
           "dumps, containers, 32-bit user space, a GCC build without plugins. Each rule this kernel fails",
           "is a waiver in `kconfigs/6.18/waivers.toml` with its owner, reason and review date, so that",
           "", "```sh", "kernelkit audit --baseline kspp --baseline khc --waivers kconfigs/6.18/waivers.toml", "```", "",
           "passes and every deviation is visible; a test counts them, so one added silently shows.", ""]
    out += verdicts + ["", f"{len(ws)} waivers:", "",
                       "| rule | x86_64 | arm64 | until | reason |", "|---|---|---|---|---|"]
    for w in ws:
        a = actual.get(w["rule"], {})
        cell = lambda arch: f"`{a[arch]}`" if arch in a else "passes"
        reason = w["reason"].replace("|", "\\|")
        out.append(f"| `{w['rule']}` | {cell('x86_64')} | {cell('arm64')} | {w['expires']} | {reason} |")
    out.append("")
    return out


def main():
    reasons = fragment_reasons()
    out = ["# The 6.18 kernel for Hyper-V and Azure: what KernelKit changes", "",
           "KernelKit's kernel is Azure Linux 4.0's 6.18 config (`kconfigs/azure-linux/`) with the",
           "fragments in `kconfigs/6.18/` merged on top, in the order `kconfigs/6.18/manifest.toml`",
           "gives. Most of what the fragments ask for, Azure Linux already has; the fragments say so",
           "explicitly, so that a change of the base is caught (`kernelkit audit`). These are the",
           "options whose value the build changes, from",
           "", "```sh",
           "kernelkit config build --arch ARCH -o built.config",
           "kernelkit config diff kconfigs/azure-linux/azl4-6.18-ARCH.config built.config",
           "```", "",
           "each with the reason its fragment gives. Generated by `scripts/kconfigs-doc.py`.", ""]
    for arch, base in (("x86_64", "azl4-6.18-x86_64.config"), ("arm64", "azl4-6.18-aarch64.config")):
        with tempfile.TemporaryDirectory() as tmp:
            r = kernelkit("config", "build", "--arch", arch, "-o", "built.config", cwd=tmp)
            if r.returncode != 0:
                sys.exit(r.stderr)
            with open(os.path.join(ROOT, "kconfigs", "azure-linux", base)) as src, open(os.path.join(tmp, base), "w") as dst:
                dst.write(src.read())
            d = json.loads(kernelkit("config", "diff", "--format", "json", base, "built.config", cwd=tmp).stdout)
            text = kernelkit("config", "diff", base, "built.config", cwd=tmp).stdout
        out += [f"## {arch} (flavour `azure`)", "", "```", text.rstrip(), "```", "",
                "| option | base | built | fragment | why |", "|---|---|---|---|---|"]
        for c in d["changes"]:
            name = c["name"]
            old = c["old"]["value"] if c.get("old") and c["old"].get("state") == "set" else "n"
            new = c["new"]["value"] if c.get("new") and c["new"].get("state") == "set" else "n"
            frags = reasons.get(name, {})
            order = [f for f in manifest_fragments(arch) if f in frags]
            frag = order[-1] if order else ""
            why = frags.get(frag, "").replace("|", "\\|")
            out.append(f"| `CONFIG_{name}` | `{old}` | `{new}` | `{frag}` | {why} |")
        out.append("")
    out += ["The audit of the built config (`kernelkit audit`) checks these against the",
            "`azure-hyperv-6.18` baseline, which it passes with no waivers.", ""]
    out += deviations()
    with open(os.path.join(ROOT, "docs", "azure-6.18-kernel.md"), "w") as f:
        f.write("\n".join(out))
    print("wrote docs/azure-6.18-kernel.md")


if __name__ == "__main__":
    main()
