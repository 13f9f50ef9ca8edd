#!/bin/sh
# dracut pre-udev hook: attaches kernelkit's boot-trace programs and pins them on bpffs;
# they keep recording across the switch of root until
# kernelkit-boot-trace-done.service runs `kernelkit boot trace --finish`.
# kernelkit.boot_trace=0 on the command line skips it for one boot.
type getargbool >/dev/null 2>&1 || . /lib/dracut-lib.sh
getargbool 1 kernelkit.boot_trace || return 0 2>/dev/null || exit 0
mountpoint -q /sys/kernel/tracing 2>/dev/null || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
/bin/kernelkit boot trace --handover || warn "kernelkit: boot trace not started"
