#!/usr/bin/env python3
"""Writes kconfigs/baselines/khc.toml: every check kernel-hardening-checker makes, for
each arch it supports, in KernelKit's policy language.

    scripts/khc-baseline.py KHC_CHECKOUT > kconfigs/baselines/khc.toml

kernel-hardening-checker is in no package registry, so its checks are read from a
checkout (the search tool's `fetch` brings one). This script imports that checkout's
check lists as data and writes our own TOML: option names, expected values, how checks
combine, arch and version gates, category and source. Nothing of its code or comments is
written out; the rationale lines are ours.

Its checks are built per arch by Python conditionals; we build each arch's list and merge
them, so a rule that is the same on several arches is one rule with `arch = [...]`, and
one whose checks differ per arch is one rule per variant (id suffixed by the arches).
"""

import json
import subprocess
import sys

ARCHES = [("X86_64", "x86_64"), ("ARM64", "arm64"), ("X86_32", "x86_32"), ("ARM", "arm"), ("RISCV", "riscv")]

# Where each source ("decision") is published, for the rules' references.
REFERENCES = {
    "kspp": "https://kspp.github.io/Recommended_Settings",
    "defconfig": "the kernel's own defaults (arch/*/configs and Kconfig defaults)",
    "grsec": "https://grsecurity.net/",
    "clipos": "https://docs.clip-os.org/clipos/kernel.html",
    "cis": "https://www.cisecurity.org/benchmark/distribution_independent_linux",
    "grapheneos": "https://grapheneos.org/features",
    "lockdown": "https://man7.org/linux/man-pages/man7/kernel_lockdown.7.html",
    "a13xp0p0v": "https://github.com/a13xp0p0v/kernel-hardening-checker",
    "maintainer": "the kernel maintainers' guidance in the option's Kconfig help",
    "ubuntu": "https://wiki.ubuntu.com/Security/Features",
    "debian": "https://wiki.debian.org/SecureBoot",
}

CATEGORY_WORDS = {
    "self_protection": "protects the kernel itself",
    "security_policy": "enforces a security policy (an LSM)",
    "cut_attack_surface": "removes attack surface",
    "harden_userspace": "hardens user space",
    "network_security": "hardens networking",
}


def load(checkout):
    sys.path.insert(0, checkout)
    from kernel_hardening_checker import checks, engine  # noqa: E402
    return checks, engine


def node(o, engine, kind_of_rule):
    """A check as our TOML structure (a dict), kinds written only where they differ."""
    if isinstance(o, engine.VersionCheck):
        return {"version": ">=" + ".".join(map(str, o.ver_expected))}
    if isinstance(o, (engine.OR, engine.AND)):
        key = "any-of" if isinstance(o, engine.OR) else "all-of"
        return {key: [node(x, engine, kind_of_rule) for x in o.opts]}
    name = o.name[7:] if o.opt_type == "kconfig" else o.name
    leaf = {}
    if o.opt_type != kind_of_rule:
        leaf["kind"] = o.opt_type
    leaf["option"] = name
    leaf["expect"] = expectation(o.expected, o.opt_type, name)
    return leaf


def expectation(e, kind, name):
    if e == "is not set":
        return "n" if kind == "kconfig" else {"absent": True}
    if e == "is present":
        return {"present": True}
    if e == "is not off":
        return {"not-off": True}
    if e.startswith("*") and e.endswith("*"):
        return {"contains": e.strip("*")}
    if e == "MAX":
        # The value the config's own ..._MAX option has (kernel-hardening-checker refines it
        # from the config; without that option the check does not apply).
        return {"equals-option": "ARCH_MMAP_RND_COMPAT_BITS_MAX" if "COMPAT" in name or "compat" in name else "ARCH_MMAP_RND_BITS_MAX"}
    if e in ("y", "m"):
        return e
    return {"equals": e}


def first_leaf(o, engine):
    while isinstance(o, (engine.OR, engine.AND)):
        o = o.opts[0]
    return o


def arch_lists(checks, engine):
    out = {}
    for khc_arch, ours in ARCHES:
        lst = []
        checks.add_kconfig_checks(lst, khc_arch)
        checks.add_cmdline_checks(lst, khc_arch)
        checks.add_sysctl_checks(lst, khc_arch)
        rules = []
        for o in lst:
            f = first_leaf(o, engine)
            rules.append({
                "kind": f.opt_type, "option": f.name[7:] if f.opt_type == "kconfig" else f.name,
                "category": f.reason, "source": f.decision,
                "check": node(o, engine, f.opt_type),
            })
        out[ours] = rules
    return out


def increasing_run(values):
    """The indices of a longest strictly increasing subsequence of `values`."""
    best = []  # best[i]: the longest run ending at i, as indices
    for i, v in enumerate(values):
        run = max((best[j] for j in range(i) if values[j] < v), key=len, default=[])
        best.append(run + [i])
    return max(best, key=len, default=[])


def merged(per_arch):
    """Rules in x86_64's order, each other arch's new rules after their predecessor, so that
    every arch's rules come out in that arch's own order (as kernel-hardening-checker lists
    them). A rule two arches share but order differently is the same check at two places:
    of the arch's shared rules, those outside the longest run already in its order get a
    variant of their own for that arch, at its place there (riscv's LSM_MMAP_MIN_ADDR, say)."""
    order, variants = [], {}
    for arch, rules in per_arch.items():
        keys = [json.dumps([r["kind"], r["option"], r["category"], r["source"], r["check"]], sort_keys=True)
                for r in rules]
        placed = [i for i, k in enumerate(keys) if k in variants]
        kept = {placed[j] for j in increasing_run([order.index(keys[i]) for i in placed])}
        for i in placed:
            if i not in kept:
                keys[i] += "#" + arch
        prev = None
        for r, key in zip(rules, keys):
            if key not in variants:
                variants[key] = {"rule": r, "arches": []}
                order.insert(order.index(prev) + 1 if prev is not None else 0, key)
            variants[key]["arches"].append(arch)
            prev = key
    return [variants[k] | {"key": k} for k in order]


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"


def check_lines(c):
    """A combined check: its any-of/all-of key at the rule's level, one element per line
    (TOML 1.0 inline tables cannot span lines; arrays can)."""
    key = "any-of" if "any-of" in c else "all-of"
    return [f"{key} = ["] + ["  " + toml_value(x) + "," for x in c[key]] + ["]"]


def leaf_value(r):
    c = r["rule"]["check"]
    while "any-of" in c or "all-of" in c:
        c = c.get("any-of", c.get("all-of"))[0]
    e = c["expect"]
    return e if isinstance(e, str) else str(next(iter(e.values())))


def rule_id(base, r, group):
    """The option's name, and where one arch has several checks of it or the arches differ,
    the expected value and the arches: ids that say what they check."""
    if len(group) == 1:
        return base
    same_arches = [g for g in group if g["arches"] == r["arches"]]
    rid = base
    if len(same_arches) > 1:
        rid += "=" + "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in leaf_value(r))
    if any(g["arches"] != r["arches"] for g in group):
        rid += "@" + "+".join(r["arches"])
    return rid


def main():
    checkout = sys.argv[1]
    checks, engine = load(checkout)
    commit = subprocess.run(["git", "-C", checkout, "describe", "--tags", "--long"], capture_output=True, text=True).stdout.strip()
    commit += " " + subprocess.run(["git", "-C", checkout, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    from kernel_hardening_checker import cli
    rules = merged(arch_lists(checks, engine))
    all_arches = [a for _, a in ARCHES]
    ids = {}
    for r in rules:
        base = f"khc.{r['rule']['kind']}.{r['rule']['option']}"
        ids.setdefault(base, []).append(r)
    print("# Every check kernel-hardening-checker makes (kconfig, cmdline, sysctl), for each arch")
    print(f"# it supports, with its expected values and combinations: generated by")
    print(f"# scripts/khc-baseline.py from kernel-hardening-checker {cli.__version__} ({commit}).")
    print("# Its verdicts are matched on real configs by Tests/HardeningKitTests/KHCParityTests.swift.")
    print("# A rule's any-of/all-of combine checks: any-of passes when one passes (tried in order),")
    print("# all-of when all pass; the first check names the option the rule is about.")
    print()
    print("[baseline]")
    print('name = "khc"')
    print('title = "Every check of kernel-hardening-checker"')
    print('source = "https://github.com/a13xp0p0v/kernel-hardening-checker"')
    print()
    print("[defaults]")
    print('severity = "medium"')
    print('tags = ["khc"]')
    for r in rules:
        rule = r["rule"]
        base = f"khc.{rule['kind']}.{rule['option']}"
        rid = rule_id(base, r, ids[base])
        print()
        print("[[rule]]")
        print(f"id = {json.dumps(rid)}")
        if rule["kind"] != "kconfig":
            print(f"kind = {json.dumps(rule['kind'])}")
        if r["arches"] != all_arches:
            print(f"arch = {toml_value(r['arches'])}")
        print(f"category = {json.dumps(rule['category'])}")
        print(f"source = {json.dumps(rule['source'])}")
        c = rule["check"]
        if "any-of" in c or "all-of" in c:
            print("\n".join(check_lines(c)))
        else:
            print(f"option = {json.dumps(c['option'])}")
            print(f"expect = {toml_value(c['expect'])}")
        words = CATEGORY_WORDS.get(rule["category"], rule["category"])
        src = rule["source"]
        print(f"rationale = {json.dumps(f'kernel-hardening-checker ({src}): {words}.')}")
        print(f"references = {toml_value([REFERENCES.get(rule['source'], rule['source'])])}")


if __name__ == "__main__":
    main()
