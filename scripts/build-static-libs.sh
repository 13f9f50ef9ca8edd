#!/usr/bin/env bash
# Builds the two system libraries that Debian ships only as shared libraries, as static
# archives for kernelkit's static-PIE release binary (Package.swift), from the source of
# the very packages this Debian release ships (apt-get source, through a deb-src list of
# its own):
#   .build/libkmod/libkmod.a        kmod's libkmod, configured as debian/rules configures
#                                   it (xz, zstd, OpenSSL for the signer fields); kmod's
#                                   configure refuses --enable-static, so the objects of
#                                   its libtool build are archived
#   .build/libsystemd/libsystemd.a  systemd's libsystemd (sd-bus, for boot report's units),
#                                   with its meson build's own static-libsystemd option,
#                                   and no compression (only sd-journal would use it)
# A plain `swift build` needs neither: it links Debian's libkmod.so and libsystemd.so.
# Idempotent: an archive is rebuilt only when its package's version changes.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/lib/debian-mirror.sh"

need() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  [ "$(id -u)" = 0 ] || { echo "build-static-libs: needs these Debian packages: ${missing[*]} (as root: apt-get install ${missing[*]})" >&2; exit 2; }
  echo "build-static-libs: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
}

# fetch SOURCE VERSION WORKDIR: the Debian source package, unpacked into WORKDIR/src.
fetch() {
  local source="$1" version="$2" work="$3" codename
  codename="$(. /etc/os-release && echo "$VERSION_CODENAME")"
  rm -rf "$work" && mkdir -p "$work/lists/partial" "$work/dl"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) $codename main" >"$work/sources.list"
  local opts=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$work/lists")
  apt-get -qq "${opts[@]}" update
  # The installed version when the archive still has it, else the suite's current one.
  (cd "$work/dl" && { apt-get -qq "${opts[@]}" source --download-only "$source=$version" 2>/dev/null \
                      || apt-get -qq "${opts[@]}" source --download-only "$source" 2>/dev/null; })
  # apt checked the files against the archive's signed index; the .dsc's own signature
  # needs a keyring this machine does not have.
  dpkg-source --no-check -x "$work"/dl/"$source"_*.dsc "$work/src" >/dev/null
}

current() { [ -f "$1/$2" ] && [ "$(cat "$1/.version" 2>/dev/null)" = "$3" ]; }

# archive OUT PATTERN OBJECTS...: one archive whose only global symbols are the library's
# API (names matching PATTERN). The shared libraries hide their internal helpers with a
# version script; linked statically side by side, libkmod's and libsystemd's own
# (memdup, mkdir_p, path_make_absolute_cwd…) would collide.
archive() {
  local out="$1" pattern="$2"; shift 2
  local tmp; tmp="$(mktemp -d)"
  ld -r -o "$tmp/all.o" "$@"
  nm -g --defined-only "$tmp/all.o" | awk '{print $3}' | grep -E "$pattern" >"$tmp/keep" || true
  objcopy --keep-global-symbols="$tmp/keep" "$tmp/all.o"
  mkdir -p "$(dirname "$out")" && rm -f "$out"
  ar rcs "$out" "$tmp/all.o"
  rm -rf "$tmp"
}

# libkmod
need libkmod-dev libssl-dev liblzma-dev libzstd-dev dpkg-dev autoconf automake libtool pkg-config gcc make binutils
out="$root/.build/libkmod"
version="$(dpkg-query -W -f='${Version}' libkmod2)"
if ! current "$out" libkmod.a "$version"; then
  echo "build-static-libs: building kmod $version's libkmod (static)" >&2
  work="$root/.build/libkmod-src"
  fetch kmod "$version" "$work"
  (
    cd "$work/src"
    # As kmod's autogen.sh does without gtk-doc (no API docs are built).
    touch libkmod/docs/gtk-doc.make
    autoreconf -fi >/dev/null 2>&1
    # PIC objects, since they go into a PIE.
    ./configure -q --with-pic --with-openssl --with-xz --with-zstd --disable-manpages --disable-test-modules \
      --sysconfdir=/etc >/dev/null
    make -s -j"$(nproc)" libkmod/libkmod.la >/dev/null
    archive "$out/libkmod.a" '^kmod_' libkmod/.libs/*.o shared/.libs/*.o
  )
  echo "$version" >"$out/.version"
  rm -rf "$work"
fi

# libsystemd
need libsystemd-dev libcap-dev libmount-dev meson ninja-build gperf python3-jinja2 pkg-config gcc binutils
out="$root/.build/libsystemd"
version="$(dpkg-query -W -f='${Version}' libsystemd0)"
if ! current "$out" libsystemd.a "$version"; then
  echo "build-static-libs: building systemd $version's libsystemd (static)" >&2
  work="$root/.build/libsystemd-src"
  fetch systemd "$version" "$work"
  (
    cd "$work/src"
    meson setup build --buildtype=release -Dstatic-libsystemd=pic --auto-features=disabled \
      -Dtests=false -Dman=false -Dhtml=false -Dlz4=false -Dzstd=false -Dxz=false >/dev/null
    # version.h is a generated header the library's sources include.
    ninja -C build version.h >/dev/null
    ninja -C build libsystemd.a >/dev/null
    mkdir -p objects && (cd objects && ar x ../build/libsystemd.a)
    archive "$out/libsystemd.a" '^sd_' objects/*.o
  )
  echo "$version" >"$out/.version"
  rm -rf "$work"
fi
