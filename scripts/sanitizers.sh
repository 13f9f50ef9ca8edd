#!/usr/bin/env bash
# The test suites under the sanitizers (docs/reliability.md records the latest run):
#   address  every library suite built with AddressSanitizer (the CLI tests run the
#            release binary, which the fuzz targets cover with ASan already);
#   thread   the suites with threads of their own built with ThreadSanitizer (the Kconfig
#            post-parse checks' second thread and probe cache, Parallel.map, the probes'
#            ring-buffer threads, probe check's per-object threads), then bulk signing:
#            a ThreadSanitizer build of kernelkit signing all of Debian's cloud modules.
# Usage: scripts/sanitizers.sh [address] [thread]    (both by default)
# Not in CI: the two builds alone take some 25 minutes on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
kinds=("$@")
((${#kinds[@]})) || kinds=(address thread)
bash scripts/setup-oracles.sh >&2
export KERNELKIT_ORACLES="${KERNELKIT_ORACLES:-$root/.build/oracles}" KERNELKIT_REQUIRE_ORACLES=1
scripts/kernelkit --version >/dev/null
export KERNELKIT_BIN="${KERNELKIT_BIN:-$root/.build/release/kernelkit}"
logs="$root/.build/sanitizers"
mkdir -p "$logs"
status=0

for kind in "${kinds[@]}"; do
  case "$kind" in
  address)
    # Leak checking off: Foundation and the Testing library keep allocations to exit.
    export ASAN_OPTIONS=detect_leaks=0
    swift build --build-tests --sanitize address --build-path .build/asan >&2
    swift test --skip-build --build-path .build/asan --sanitize address --skip CLITests > "$logs/address.log" 2>&1 || status=1
    grep -c "ERROR: AddressSanitizer" "$logs/address.log" | sed 's/^/address: sanitizer reports: /' || true
    grep -E "^. Test run with" "$logs/address.log" | sed 's/^/address: /' || true
    unset ASAN_OPTIONS ;;
  thread)
    export TSAN_OPTIONS="halt_on_error=0 report_signal_unsafe=0"
    swift build --build-tests --sanitize thread --build-path .build/tsan >&2
    swift test --skip-build --build-path .build/tsan --sanitize thread \
      --filter "KconfigKitTests|KernelProbesTests|KernelKitCoreTests|BootKitTests" > "$logs/thread.log" 2>&1 || status=1
    grep -c "WARNING: ThreadSanitizer" "$logs/thread.log" | sed 's/^/thread: sanitizer reports: /' || true
    grep -E "^. Test run with" "$logs/thread.log" | sed 's/^/thread: /' || true
    # Bulk signing: every module of Debian's cloud kernel, by the TSan build of the CLI.
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    modules="$(ls -d "$KERNELKIT_ORACLES"/debian-cloud-image/lib/modules/*/kernel | head -n1)"
    cp -r "$modules" "$work/modules"
    openssl req -new -nodes -utf8 -sha512 -days 36500 -batch -x509 -config "$KERNELKIT_ORACLES/linux-6.12-tree/certs/default_x509.genkey" \
      -outform PEM -out "$work/key.pem" -keyout "$work/key.pem" 2>/dev/null
    openssl x509 -in "$work/key.pem" -outform DER -out "$work/key.x509"
    .build/tsan/debug/kernelkit modsign sign --key "$work/key.pem" --cert "$work/key.x509" --hash sha512 "$work/modules" \
      > "$logs/thread-sign.log" 2>&1 || status=1
    echo "thread: bulk signing of $(find "$work/modules" -name '*.ko*' | wc -l) modules: $(grep -c "WARNING: ThreadSanitizer" "$logs/thread-sign.log" || true) sanitizer reports"
    .build/tsan/debug/kernelkit modsign verify --cert "$work/key.x509" "$work/modules" > "$logs/thread-verify.log" 2>&1 || status=1
    echo "thread: verified by the same build: $(grep -c "WARNING: ThreadSanitizer" "$logs/thread-verify.log" || true) sanitizer reports, exit $( ((status)) && echo nonzero || echo 0)"
    unset TSAN_OPTIONS ;;
  *) echo "sanitizers.sh: address or thread, not '$kind'" >&2; exit 2 ;;
  esac
done
if grep -qE "ERROR: AddressSanitizer|WARNING: ThreadSanitizer" "$logs"/*.log; then status=1; fi
exit "$status"
