#!/usr/bin/env bash
# Builds libkmod as a static archive, .build/libkmod/libkmod.a, from the source of the
# kmod package this Debian release ships (apt-get source, through a deb-src list of its
# own), configured as Debian configures it (xz, zstd, OpenSSL for the signer fields).
#
# Why: kernelkit's release binary is a static PIE (Package.swift), and Debian ships
# libkmod only as a shared library; kmod's configure refuses --enable-static, so the
# objects of its libtool build are archived here. A plain `swift build` does not need
# this: it links Debian's libkmod.so. Idempotent; the archive is rebuilt only when the
# kmod version changes.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build/libkmod"
version="$(dpkg-query -W -f='${Version}' libkmod2 2>/dev/null || true)"
if [ -f "$out/libkmod.a" ] && [ "$(cat "$out/.version" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
packages=(libkmod-dev libssl-dev liblzma-dev libzstd-dev dpkg-dev autoconf automake libtool pkg-config gcc make)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  [ "$(id -u)" = 0 ] || { echo "build-libkmod: needs these Debian packages: ${missing[*]} (as root: apt-get install ${missing[*]})" >&2; exit 2; }
  echo "build-libkmod: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  version="$(dpkg-query -W -f='${Version}' libkmod2)"
fi
. "$root/scripts/lib/debian-mirror.sh"
codename="$(. /etc/os-release && echo "$VERSION_CODENAME")"
work="$root/.build/libkmod-src"
rm -rf "$work" && mkdir -p "$work/lists/partial" "$work/dl"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) $codename main" > "$work/sources.list"
opts=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$work/lists")
echo "build-libkmod: fetching and building kmod $version's libkmod (static)" >&2
apt-get -qq "${opts[@]}" update
(cd "$work/dl" && apt-get -qq "${opts[@]}" source --download-only "kmod=$version" 2>/dev/null)
# apt checked the files against the archive's signed index; the .dsc's own signature
# needs a keyring this machine does not have.
dpkg-source --no-check -x "$work"/dl/kmod_*.dsc "$work/src" >/dev/null
cd "$work/src"
# As kmod's autogen.sh does without gtk-doc (no API docs are built).
touch libkmod/docs/gtk-doc.make
autoreconf -fi >/dev/null 2>&1
# As debian/rules configures it; PIC objects, since they go into a PIE.
./configure -q --with-pic --with-openssl --with-xz --with-zstd --disable-manpages --disable-test-modules \
  --sysconfdir=/etc >/dev/null
make -s -j"$(nproc)" libkmod/libkmod.la >/dev/null
mkdir -p "$out"
rm -f "$out/libkmod.a"
ar rcs "$out/libkmod.a" libkmod/.libs/*.o shared/.libs/*.o
echo "$version" > "$out/.version"
rm -rf "$work"
echo "build-libkmod: $out/libkmod.a" >&2
