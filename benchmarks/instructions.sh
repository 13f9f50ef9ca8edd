#!/usr/bin/env bash
# Counts the instructions the hot commands execute (valgrind's callgrind, whole process,
# every thread), for comparing two builds on a machine whose speed drifts: wall times here
# have moved by 2x within an hour, instruction counts do not move with the machine.
#
# Usage: benchmarks/instructions.sh [KERNELKIT_BINARY]
#   (default: the release static PIE that scripts/kernelkit builds)
# Prints a Markdown table: command, instructions. Run it on the build before a change and
# on the build after; benchmarks/README.md (session 20) has what it measured.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
bash scripts/setup-oracles.sh >/dev/null
if [[ $# -ge 1 ]]; then
    bin="$1"
else
    scripts/kernelkit --version >/dev/null # builds the release binary as users get it
    bin="$(swift build -c release --show-bin-path)/kernelkit"
fi
oracles="${KERNELKIT_ORACLES:-$root/.build/oracles}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# valgrind cannot read the static PIE's debug information, so it runs a copy without it.
strip -g -o "$work/kernelkit" "$bin"

count() { # label, command...: the instructions of one run
    local label="$1"; shift
    valgrind --tool=callgrind --callgrind-out-file="$work/out" "$@" >/dev/null 2>"$work/err" || true
    local total
    total="$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/err")"
    [[ -n "$total" ]] || { cat "$work/err" >&2; echo "instructions.sh: valgrind failed on: $label" >&2; exit 2; }
    printf '| %s | %s |\n' "$label" "$total"
}

export XDG_CACHE_HOME="$work/cache"
resolve=(config resolve --tree "$oracles/linux-6.12-tree" --arch x86_64
         --olddefconfig "$oracles/debian-6.12/amd64_none_cloud-amd64.config" -o "$work/out.config")
"$work/kernelkit" "${resolve[@]}" # fills the probe cache: the rows below are warm
khc=(harden check --baseline khc --config kconfigs/azure-linux/azl4-6.18-x86_64.config
     --cmdline Tests/Fixtures/khc/inputs/hardened.cmdline --sysctl Tests/Fixtures/khc/inputs/hardened.sysctl
     --format khc-json)

echo "| command | instructions |"
echo "|---|---:|"
count "warm olddefconfig, Debian cloud-amd64, 6.12 tree" "$work/kernelkit" "${resolve[@]}"
count "harden check --baseline khc, one config + cmdline + sysctl, khc-json" "$work/kernelkit" "${khc[@]}"
count "--version (start-up and argument parsing)" "$work/kernelkit" --version
