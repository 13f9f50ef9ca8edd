# A small library for end-to-end tests in a VM: Debian's signed cloud kernel booted under
# QEMU (TCG: KVM is not usable here) to a busybox initramfs that runs a test script and
# hands its results back on a second virtio disk. Source it from a bash script:
#
#   source scripts/vm/lib.sh
#   vm_init WORKDIR                      # finds the kernel and modules, checks the tools
#   vm_add_file /usr/bin/thing /bin/thing   # put host files into the initramfs
#   vm_add_modules virtio_ring virtio ...   # modules (and the order) the init loads
#   vm_set_script FILE                   # the test script the init runs (sh, busybox)
#   vm_set_init FILE                     # or a whole /init of the test's own (a switch_root)
#   vm_copy_modules dummy ...            # modules put in /modules but not loaded
#   vm_boot "CMDLINE" RESULTS_DIR        # boots, waits, unpacks what the script left in /results
#
# Inside the VM: busybox at /bin, /proc /sys /dev /sys/kernel/tracing mounted, the modules
# loaded, then the script runs with RESULTS=/results; everything under /results comes back.
# The serial console is kept as RESULTS_DIR/console.log. Needs qemu-system-x86,
# busybox-static, cpio (scripts/test.sh installs them) and the unpacked cloud kernel
# (scripts/setup-oracles.sh: .build/oracles/debian-cloud-image).

vm_die() { echo "vm: $*" >&2; exit 1; }

vm_init() {
  VM_WORK="$1"
  local root; root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  local image="${KERNELKIT_ORACLES:-$root/.build/oracles}/debian-cloud-image"
  VM_KERNEL="$(ls "$image"/boot/vmlinuz-* 2>/dev/null | head -n 1)"
  [ -n "$VM_KERNEL" ] || vm_die "no Debian cloud kernel under $image (run scripts/setup-oracles.sh)"
  VM_RELEASE="$(basename "$VM_KERNEL" | sed 's/^vmlinuz-//')"
  VM_MODULES="$image/lib/modules/$VM_RELEASE"
  for tool in qemu-system-x86_64 cpio; do command -v "$tool" >/dev/null || vm_die "$tool is missing"; done
  [ -x /bin/busybox ] || vm_die "/bin/busybox is missing (apt-get install busybox-static)"
  file -L /bin/busybox 2>/dev/null | grep -q "statically linked" || vm_die "/bin/busybox is not static (busybox-static)"
  rm -rf "$VM_WORK"; mkdir -p "$VM_WORK/root"/{bin,sbin,proc,sys,dev,tmp,results,modules,etc}
  cp /bin/busybox "$VM_WORK/root/bin/busybox"
  VM_MODULE_LIST=()
  VM_SCRIPT=""
  VM_INIT=""
}

vm_add_file() { mkdir -p "$VM_WORK/root/$(dirname "$2")"; cp "$1" "$VM_WORK/root/$2"; }

vm_copy_modules() {
  local m path
  for m in "$@"; do
    path="$(find "$VM_MODULES" -name "$m.ko" -o -name "$m.ko.xz" | head -n 1)"
    [ -n "$path" ] || vm_die "module $m not found under $VM_MODULES"
    case "$path" in *.xz) xz -dc "$path" >"$VM_WORK/root/modules/$m.ko" ;; *) cp "$path" "$VM_WORK/root/modules/$m.ko" ;; esac
  done
}

vm_add_modules() {
  vm_copy_modules "$@"
  VM_MODULE_LIST+=("$@")
}

vm_set_script() { VM_SCRIPT="$1"; }
vm_set_init() { VM_INIT="$1"; }

vm_build_initramfs() {
  local init="$VM_WORK/root/init"
  if [ -n "$VM_INIT" ]; then
    cp "$VM_INIT" "$init"; chmod +x "$init"
    [ -n "$VM_SCRIPT" ] && cp "$VM_SCRIPT" "$VM_WORK/root/test.sh"
    (cd "$VM_WORK/root" && find . | cpio -o -H newc --quiet) >"$VM_WORK/initramfs.cpio"
    return
  fi
  # The init: mounts, loads the modules in the given order, runs the test script, then
  # writes /results as a tar stream onto the second disk and powers off.
  {
    echo '#!/bin/busybox sh'
    echo '/bin/busybox --install -s /bin'
    echo 'mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev'
    echo 'mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null'
    echo 'mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null'
    echo 'export PATH=/bin:/sbin RESULTS=/results'
    for m in "${VM_MODULE_LIST[@]}"; do echo "insmod /modules/$m.ko || echo 'vm: insmod $m failed'"; done
    echo 'echo "vm: script starts"'
    echo 'sh /test.sh > /results/script.log 2>&1; echo $? > /results/script.status'
    # The results disk is the last virtio disk: vdb when a test disk comes first.
    local dev=/dev/vda; [ -n "${VM_EXTRA_DRIVE:-}" ] && dev=/dev/vdb
    echo "i=0; while [ ! -b $dev ] && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i+1)); done"
    echo "tar -C /results -cf - . | dd of=$dev bs=64k conv=fsync 2>/dev/null"
    echo 'sync; echo "vm: done"; poweroff -f'
  } >"$init"
  chmod +x "$init"
  [ -n "$VM_SCRIPT" ] && cp "$VM_SCRIPT" "$VM_WORK/root/test.sh"
  (cd "$VM_WORK/root" && find . | cpio -o -H newc --quiet) >"$VM_WORK/initramfs.cpio"
}

vm_boot() {
  local cmdline="$1" results="$2" timeout="${VM_TIMEOUT:-300}"
  vm_build_initramfs
  rm -f "$VM_WORK/results.img"; truncate -s 64M "$VM_WORK/results.img"
  mkdir -p "$results"
  timeout "$timeout" qemu-system-x86_64 -accel tcg ${VM_QEMU_FLAGS:-} -m "${VM_MEMORY:-1024}" -smp 1 -nographic -no-reboot \
    -kernel "$VM_KERNEL" -initrd "$VM_WORK/initramfs.cpio" \
    -append "console=ttyS0 panic=-1 $cmdline" \
    ${VM_EXTRA_DRIVE:+-drive "file=$VM_EXTRA_DRIVE,format=raw,if=virtio"} \
    -drive "file=$VM_WORK/results.img,format=raw,if=virtio" \
    >"$results/console.log" 2>&1 </dev/null
  local rc=$?
  [ $rc -eq 0 ] || vm_die "qemu exited with $rc (timeout ${timeout}s?); see $results/console.log"
  tar -C "$results" -xf "$VM_WORK/results.img" 2>/dev/null || vm_die "no results came back (see $results/console.log)"
  [ -f "$results/script.status" ] || vm_die "the test script did not finish (see $results/console.log)"
}
