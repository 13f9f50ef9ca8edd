#!/usr/bin/env bash
# Installs the Debian packages that KernelKit's build and tests need, and lays out the
# real tools that the tests use as oracles under .build/oracles/ (never committed):
#   linux-6.12/scripts/...   the kernel's diffconfig and merge_config.sh (linux-source-6.12)
#   debian-6.12/*.config     Debian's real 6.12 configs (linux-config-6.12)
# Idempotent: a second run does nothing but check.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
oracles="${KERNELKIT_ORACLES:-$root/.build/oracles}"

packages=(linux-source-6.12 linux-config-6.12 python3 xz-utils dash)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

mkdir -p "$oracles"
version="$(dpkg-query -W -f='${Version}' linux-source-6.12)"
stamp="$oracles/linux-6.12/.version"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$version" ]; then
  echo "setup: unpacking the kernel's scripts from linux-source-6.12 $version" >&2
  rm -rf "$oracles/linux-6.12" "$oracles/.unpack"
  mkdir -p "$oracles/.unpack"
  tar -xf /usr/src/linux-source-6.12.tar.xz -C "$oracles/.unpack" \
    linux-source-6.12/scripts/diffconfig linux-source-6.12/scripts/kconfig/merge_config.sh
  mv "$oracles/.unpack/linux-source-6.12" "$oracles/linux-6.12"
  rmdir "$oracles/.unpack"
  echo "$version" > "$stamp"
fi

mkdir -p "$oracles/debian-6.12"
for f in /usr/src/linux-config-6.12/config.*.xz; do
  out="$oracles/debian-6.12/$(basename "$f" .xz | sed 's/^config\.//').config"
  [ -s "$out" ] || xz -dc "$f" > "$out"
done
echo "setup: oracles ready in $oracles" >&2
