#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine as root: installs what the tests
# need (Debian packages, the kernel's own tools as oracles), builds, and runs swift test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup-oracles.sh
export KERNELKIT_ORACLES="${KERNELKIT_ORACLES:-$root/.build/oracles}"
# Tests that need an oracle fail, rather than skip, when it is missing.
export KERNELKIT_REQUIRE_ORACLES=1
# The CLI tests run the binary users get: the release build scripts/kernelkit makes.
scripts/kernelkit --version >/dev/null
export KERNELKIT_BIN="${KERNELKIT_BIN:-$root/.build/release/kernelkit}"
swift build
swift test "$@"
