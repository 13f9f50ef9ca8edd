#!/usr/bin/env bash
# boot trace's overhead on a boot, measured in the VM of scripts/vm/lib.sh (Debian's cloud
# kernel under QEMU TCG with -icount: the guest's clock counts its instructions, so the
# difference between two boots is the work done, not the host's noise). Boots alternate,
# without and with `kernelkit boot trace` started first in the init script, RUNS of each;
# the time is CLOCK_MONOTONIC at the end of the init script (/proc/uptime), which runs a
# boot-like load: 300 short processes, a module load, 200 direct reads (each wait for a
# read lets the idle guest clock jump to its next timer under -icount sleep=off, which
# is noise: a few, not thousands).
# Usage: benchmarks/boot-trace-overhead.sh [RUNS]   (default 5)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-5}"
bin="${KERNELKIT_BIN:-$root/.build/release/kernelkit}"
[ -x "$bin" ] || { echo "no kernelkit at $bin (run scripts/kernelkit --version)" >&2; exit 1; }
export VM_QEMU_FLAGS="${VM_QEMU_FLAGS--icount shift=3,sleep=off}"
# shellcheck source=../scripts/vm/lib.sh
source "$root/scripts/vm/lib.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
disk="$work/disk.img"; truncate -s 16M "$disk"; export VM_EXTRA_DRIVE="$disk"
for mode in without with; do
  cat >"$work/$mode.sh" <<SCRIPT
$( [ "$mode" = with ] && echo 'kernelkit boot trace --until-path /tmp/done --ready-file /tmp/ready --format json -o /tmp/trace.json & tracer=$!
i=0; while [ ! -e /tmp/ready ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done' )
start=\$(cut -d' ' -f1 /proc/uptime)
i=0; while [ \$i -lt 300 ]; do /bin/true; i=\$((i+1)); done
insmod /modules/dummy.ko
dd if=/dev/vda of=/dev/null bs=4096 count=200 iflag=direct 2>/dev/null
end=\$(cut -d' ' -f1 /proc/uptime)
echo "\$start \$end" > \$RESULTS/times
$( [ "$mode" = with ] && echo 'touch /tmp/done; wait $tracer' )
SCRIPT
done
printf '| run | boot, without (s) | boot, with boot trace (s) | load, without (s) | load, with (s) |\n|---|---:|---:|---:|---:|\n'
declare -a a b la lb
for r in $(seq 1 "$runs"); do
  for mode in without with; do
    vm_init "$work/vm"
    vm_add_file "$bin" /bin/kernelkit
    vm_add_modules virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk
    vm_copy_modules dummy
    vm_set_script "$work/$mode.sh"
    vm_boot "quiet" "$work/out-$mode-$r" >/dev/null
    read -r s e <"$work/out-$mode-$r/times"
    # The boot up to the end of the load (the kernel's part and the init script's), and
    # the load alone: the first includes starting the tracer, the second only the cost
    # of its programs running.
    load="$(python3 -c "print(f'{$e - $s:.2f}')")"
    if [ "$mode" = without ]; then a+=("$e"); la+=("$load"); else b+=("$e"); lb+=("$load"); fi
  done
  printf '| %d | %s | %s | %s | %s |\n' "$r" "${a[-1]}" "${b[-1]}" "${la[-1]}" "${lb[-1]}"
done
python3 - "${a[*]}" "${b[*]}" "${la[*]}" "${lb[*]}" <<'PY'
import statistics, sys
a, b, la, lb = ([float(x) for x in arg.split()] for arg in sys.argv[1:5])
ma, mb, mla, mlb = (statistics.median(x) for x in (a, b, la, lb))
print(f"| median | {ma:.3f} | {mb:.3f} | {mla:.3f} | {mlb:.3f} |")
print(f"\nboot to the end of the load: +{mb - ma:.3f} s on {ma:.3f} s ({100 * (mb - ma) / ma:.2f}%), starting the tracer included")
print(f"the load alone, traced: +{mlb - mla:.3f} s on {mla:.3f} s ({100 * (mlb - mla) / mla:.2f}%)")
PY
