#!/usr/bin/env bash
# Builds KernelKit for release and prints both benchmark tables:
#   1. whole-process comparisons against the kernel's own tools (benchmarks/compare.py);
#   2. in-process timings of the library's hot paths (benchmarks/InProcess).
# Usage: benchmarks/run.sh [--runs N]
# With KHC_CHECKOUT set to a git checkout of kernel-hardening-checker (in no package
# registry), the harden rows are timed against it; with AZL_CHECKOUT set to a checkout of
# microsoft/azurelinux (its toolkit/scripts, and pydantic 2 installed), the azl rows
# against Azure Linux's own config checker.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup-oracles.sh
scripts/kernelkit --version >/dev/null   # builds the release binary as users get it
swift build -c release --product kernelkit-benchmarks >/dev/null
bin="$(swift build -c release --show-bin-path)"
echo "## Against the real tools (whole process, $(nproc) cores, $(date -u +%Y-%m-%d))"
echo
python3 benchmarks/compare.py --kernelkit "$bin/kernelkit" --oracles "${KERNELKIT_ORACLES:-$root/.build/oracles}" ${KHC_CHECKOUT:+--khc "$KHC_CHECKOUT"} ${AZL_CHECKOUT:+--azl "$AZL_CHECKOUT"} "$@"
echo
echo "## In-process"
echo
"$bin/kernelkit-benchmarks" --iterations 200 --root="$root" --only=parse
"$bin/kernelkit-benchmarks" --iterations 200 --root="$root" --only=write | tail -1
"$bin/kernelkit-benchmarks" --iterations 200 --root="$root" --only=diffconfig | tail -1
"$bin/kernelkit-benchmarks" --iterations 200 --root="$root" --only=diff | tail -1
"$bin/kernelkit-benchmarks" --iterations 5 --root="$root" --only=merge | tail -1
"$bin/kernelkit-benchmarks" --iterations 50 --root="$root" --only=kconfig --tree="${KERNELKIT_ORACLES:-$root/.build/oracles}/linux-6.12-tree" | tail -1
"$bin/kernelkit-benchmarks" --iterations 100 --root="$root" --only=hyperv-replay | tail -4
benchmarks/boot-trace-overhead.sh 5 | tail -4
