#!/bin/bash
# dracut module: kernelkit's boot trace from the initramfs (Azure Linux builds its
# initramfs with dracut). Install this directory as /usr/lib/dracut/modules.d/99kernelkit
# and add `add_dracutmodules+=" kernelkit "` to a dracut.conf.d file, then `dracut -f`.

# dracut runs with its own PATH (/usr/sbin:/usr/bin:/sbin:/bin), which leaves out
# /usr/local/bin, where kernelkit is usually installed.
kernelkit_binary() {
    command -v kernelkit 2>/dev/null || { [ -x /usr/local/bin/kernelkit ] && echo /usr/local/bin/kernelkit; }
}

check() {
    [ -n "$(kernelkit_binary)" ] || return 1
    # Only when asked for (add_dracutmodules): it is a measurement, not a boot need.
    return 255
}

depends() {
    return 0
}

install() {
    # A static binary: no libraries to follow.
    inst "$(kernelkit_binary)" /bin/kernelkit
    # pre-udev: the earliest hook with /proc and /sys mounted.
    inst_hook pre-udev 00 "$moddir/kernelkit-boot-trace.sh"
}
