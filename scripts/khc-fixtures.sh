#!/usr/bin/env bash
# Regenerates Tests/Fixtures/khc/: kernel-hardening-checker's own verdicts (`-m json`) on
# real configs, the oracle of the khc baseline's parity test.
#
#   scripts/khc-fixtures.sh KHC_CHECKOUT
#
# kernel-hardening-checker is in no package registry; run it from a git checkout (the
# search tool's `fetch`, then `git clone` of that mirror). Only its outputs are committed.
# Debian's configs come from scripts/setup-oracles.sh (.build/oracles/debian-6.12/,
# debian-6.1/ for i386 and debian-7.2/ for riscv64).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
khc="${1:?usage: scripts/khc-fixtures.sh KHC_CHECKOUT}"
oracles="${KERNELKIT_ORACLES:-$root/.build/oracles}"
out="$root/Tests/Fixtures/khc"
in="$out/inputs"
mkdir -p "$out"
version="$(python3 "$khc/bin/kernel-hardening-checker" --version | awk '{print $2}')"
commit="$(git -C "$khc" rev-parse HEAD)"
# name  config (repo: in this repository, oracles: under .build/oracles)  cmdline  sysctl
runs=(
  "host-6.18            repo:Tests/Fixtures/configs/host-6.18.config       host      host"
  "azl4-6.18-x86_64     repo:kconfigs/azure-linux/azl4-6.18-x86_64.config  hardened  hardened"
  "azl4-6.18-aarch64    repo:kconfigs/azure-linux/azl4-6.18-aarch64.config weak      host"
  "azl3-hwe-6.18-x86_64 repo:kconfigs/azure-linux/azl3-hwe-6.18-x86_64.config weak   hardened"
  "azl3-hwe-6.18-aarch64 repo:kconfigs/azure-linux/azl3-hwe-6.18-aarch64.config hardened hardened"
  "azl3-6.6-x86_64      repo:Tests/Fixtures/configs/azl3-6.6-x86_64.config  -         -"
  "debian-amd64         oracles:debian-6.12/amd64_none_amd64.config        weak      host"
  "debian-cloud-amd64   oracles:debian-6.12/amd64_none_cloud-amd64.config  hardened  hardened"
  "debian-arm64         oracles:debian-6.12/arm64_none_arm64.config        host      host"
  "debian-cloud-arm64   oracles:debian-6.12/arm64_none_cloud-arm64.config  hardened  hardened"
  "debian-armmp         oracles:debian-6.12/armhf_none_armmp.config        weak      hardened"
  "debian-i386-686-pae  oracles:debian-6.1/i386_none_686-pae.config        hardened  host"
  "debian-riscv64       oracles:debian-7.2/riscv64_none_riscv64.config     weak      hardened"
)
manifest="$out/manifest.json.tmp"
{
  echo "{"
  echo "  \"tool\": \"kernel-hardening-checker\", \"version\": \"$version\", \"commit\": \"$commit\","
  echo "  \"runs\": ["
} > "$manifest"
sep=""
for r in "${runs[@]}"; do
  read -r name config cmdline sysctl <<< "$r"
  case "$config" in repo:*) path="$root/${config#repo:}" ;; oracles:*) path="$oracles/${config#oracles:}" ;; esac
  args=(-c "$path")
  [ "$cmdline" != - ] && args+=(-l "$in/$cmdline.cmdline")
  [ "$sysctl" != - ] && args+=(-s "$in/$sysctl.sysctl")
  python3 "$khc/bin/kernel-hardening-checker" "${args[@]}" -m json | python3 -m json.tool --indent 1 > "$out/$name.json.tmp"
  mv "$out/$name.json.tmp" "$out/$name.json"
  printf '%s    {"name": "%s", "config": "%s", "cmdline": "%s", "sysctl": "%s", "checks": %s}' "$sep" "$name" "$config" \
    "$([ "$cmdline" != - ] && echo "inputs/$cmdline.cmdline")" "$([ "$sysctl" != - ] && echo "inputs/$sysctl.sysctl")" \
    "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$out/$name.json")" >> "$manifest"
  sep=$',\n'
done
printf '\n  ]\n}\n' >> "$manifest"
mv "$manifest" "$out/manifest.json"
echo "khc-fixtures: ${#runs[@]} runs of kernel-hardening-checker $version ($commit) in $out" >&2
