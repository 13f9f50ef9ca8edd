#!/usr/bin/env bash
# Installs the Debian packages that KernelKit's build and tests need, and lays out the
# real tools that the tests use as oracles under .build/oracles/ (never committed):
#   linux-6.12/scripts/...   the kernel's diffconfig and merge_config.sh (linux-source-6.12)
#   debian-6.12/*.config     Debian's real 6.12 configs (linux-config-6.12, amd64, arm64, armhf)
#   debian-6.1/*.config      Debian's i386 configs (linux-config-6.1: Debian 12 has no 6.12 for i386)
#   debian-7.2/riscv64_none_riscv64.config  unstable's riscv64 config (linux-config-7.2)
#   linux-6.12-tree/         the whole 6.12 kernel tree (Kconfig files, conf, dummy-tools)
#   linux-7.2-tree/          the whole 7.2 kernel tree, from Debian's unstable suite
#   sign-file                the kernel's scripts/sign-file, built from the 6.12 tree
#   mldsa-verify             the 7.2 kernel's lib/crypto/mldsa.c verifier, in user space
#   debian-cloud-image/      Debian's signed cloud kernel package, unpacked: its vmlinuz
#                            and 1,121 signed modules (linux-image-cloud-amd64's dependency)
#   debian-cloud-sid/        the newest cloud kernel from unstable (linux-binary-V, linux-modules-V)
#   btf-merge                a kernel's BTF with one module's appended, for bpftool
# Idempotent: a second run does nothing but check.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
oracles="${KERNELKIT_ORACLES:-$root/.build/oracles}"

packages=(linux-source-6.12 linux-config-6.12 python3 xz-utils dash make gcc flex bison
  pkg-config libelf-dev zlib1g-dev liblzma-dev libzstd-dev liblz4-dev libbz2-dev libssl-dev libkmod-dev libsystemd-dev libcap-dev openssl kmod zstd dwarves
  libbpf-dev bpftrace bpftool fio
  qemu-system-x86 busybox-static cpio file initramfs-tools-core e2fsprogs ethtool systemd prometheus prometheus-node-exporter curl strace python3-yaml
  patch)  # GNU patch: config impact --patch applies the tests' edits with it
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
# dracut (Azure Linux's initramfs builder), for the initramfs test, without what it only
# recommends (mdadm, a mail server, console setup).
if ! dpkg-query -W -f='${Status}' dracut-core 2>/dev/null | grep -q "ok installed"; then
  echo "setup: installing dracut-core" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dracut-core >/dev/null
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

# Debian's arm64, armhf and i386 configs: those builds of linux-config-VERSION, each
# fetched with its own lists directory so that the system's apt state is left alone
# (armhf's armmp and i386's 686-pae are the 32-bit arm and x86 configs the hardening
# checks compare with kernel-hardening-checker on; Debian 12 builds linux-config-6.12
# for amd64, arm64 and armhf only, so i386's is 6.1's), into debian-VERSION/.
foreign_configs() { # DEBIAN_ARCH FIRST_CONFIG [VERSION]
  local a="$1" ver="${3:-6.12}" d="$oracles/.apt-$1"
  [ -s "$oracles/debian-$ver/$2.config" ] && return 0
  echo "setup: fetching linux-config-$ver for $a" >&2
  mkdir -p "$d/lists/partial" "$d/dl" "$oracles/debian-$ver"
  apt-get -qq -o APT::Architecture="$a" -o APT::Architectures::="$a" -o Dir::State::Lists="$d/lists" update
  (cd "$d/dl" && apt-get -qq -o APT::Architecture="$a" -o APT::Architectures::="$a" \
     -o Dir::State::Lists="$d/lists" download "linux-config-$ver:$a")
  rm -rf "$d/x" && dpkg-deb -x "$d"/dl/linux-config-"$ver"_*_"$a".deb "$d/x"
  for f in "$d"/x/usr/src/linux-config-"$ver"/config."$a"*.xz; do
    xz -dc "$f" > "$oracles/debian-$ver/$(basename "$f" .xz | sed 's/^config\.//').config"
  done
}
foreign_configs arm64 arm64_none_arm64
foreign_configs armhf armhf_none_armmp
foreign_configs i386 i386_none_686-pae 6.1

# The whole 6.12 tree, for resolving through its Kconfig and running its conf.
if [ ! -f "$oracles/linux-6.12-tree/.version" ] || [ "$(cat "$oracles/linux-6.12-tree/.version")" != "$version" ]; then
  echo "setup: unpacking the whole linux-source-6.12 tree" >&2
  rm -rf "$oracles/linux-6.12-tree" && mkdir -p "$oracles/linux-6.12-tree"
  tar -xf /usr/src/linux-source-6.12.tar.xz -C "$oracles/linux-6.12-tree" --strip-components=1
  echo "$version" > "$oracles/linux-6.12-tree/.version"
fi

# linux-source-7.2 from Debian's unstable suite, through a separate sources list whose
# URI is taken from this system's own apt sources (no mirror is named here).
sid="$oracles/.apt-sid"
sid_sources() { # writes $sid/sources.list once
  [ -s "$sid/sources.list" ] && return 0
  . "$root/scripts/lib/debian-mirror.sh"
  mkdir -p "$sid/lists/partial" "$sid/dl"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) sid main" > "$sid/sources.list"
}
if [ ! -f "$oracles/linux-7.2-tree/Makefile" ]; then
  echo "setup: fetching linux-source-7.2 from unstable" >&2
  sid_sources
  opts=(-o Dir::Etc::SourceList="$sid/sources.list" -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$sid/lists")
  apt-get -qq "${opts[@]}" update
  (cd "$sid/dl" && apt-get -qq "${opts[@]}" download linux-source-7.2)
  rm -rf "$sid/x" && dpkg-deb -x "$sid"/dl/linux-source-7.2_*_all.deb "$sid/x"
  rm -rf "$oracles/linux-7.2-tree" && mkdir -p "$oracles/linux-7.2-tree"
  tar -xf "$sid"/x/usr/src/linux-source-7.2.tar.xz -C "$oracles/linux-7.2-tree" --strip-components=1
  rm -rf "$sid/x" "$sid/dl"
fi
# Debian's riscv64 config (unstable's linux-config-7.2: Debian 12 has no riscv64), the
# RISC-V config the hardening checks compare with kernel-hardening-checker on.
if [ ! -s "$oracles/debian-7.2/riscv64_none_riscv64.config" ]; then
  echo "setup: fetching linux-config-7.2 for riscv64 from unstable" >&2
  sid_sources
  rv="$oracles/.apt-riscv64"; mkdir -p "$rv/lists/partial" "$rv/dl" "$oracles/debian-7.2"
  opts=(-o APT::Architecture=riscv64 -o APT::Architectures::=riscv64 -o Dir::Etc::SourceList="$sid/sources.list"
        -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$rv/lists")
  apt-get -qq "${opts[@]}" update
  (cd "$rv/dl" && apt-get -qq "${opts[@]}" download linux-config-7.2:riscv64 2>/dev/null)
  rm -rf "$rv/x" && dpkg-deb -x "$rv"/dl/linux-config-7.2_*_riscv64.deb "$rv/x"
  xz -dc "$rv/x/usr/src/linux-config-7.2/config.riscv64_none_riscv64.xz" > "$oracles/debian-7.2/riscv64_none_riscv64.config"
  rm -rf "$rv/x" "$rv/dl"
fi
# The oracles run conf with O=, so the trees must stay clean ("source tree is not clean");
# remove what a conf run in the tree itself would have left.
for t in "$oracles/linux-6.12-tree" "$oracles/linux-7.2-tree"; do
  rm -rf "$t/.config" "$t/.config.old" "$t/include/config" "$t/include/generated"
done
# Python consumers of our reports: a SARIF 2.1.0 schema validator and a JUnit parser.
python3 -c "import jsonschema, junitparser" 2>/dev/null || python3 -m pip install --quiet jsonschema junitparser
# The kernel's sign-file, built against the system's OpenSSL as the kernel build does.
if [ ! -x "$oracles/sign-file" ]; then
  gcc -O2 -o "$oracles/sign-file" "$oracles/linux-6.12-tree/scripts/sign-file.c" \
    -I"$oracles/linux-6.12-tree/scripts" -lcrypto 2>/dev/null
fi
# The 7.2 kernel's ML-DSA verifier (lib/crypto/mldsa.c + sha3.c) in user space, over the
# kernel-API stand-ins in scripts/kernel-mldsa/include, checked on the kernel's FIPS vector.
if [ ! -x "$oracles/mldsa-verify" ]; then
  here="$root/scripts/kernel-mldsa"
  t72="$oracles/linux-7.2-tree"
  gcc -O2 -DCONFIG_64BIT -I"$here/include" -I"$t72/include" -I"$t72/lib/crypto" -o "$oracles/mldsa-verify.tmp" \
    "$here/mldsa-verify.c" "$t72/lib/crypto/mldsa.c" "$t72/lib/crypto/sha3.c"
  "$oracles/mldsa-verify.tmp" --self-test >/dev/null && mv "$oracles/mldsa-verify.tmp" "$oracles/mldsa-verify"
fi
# Debian's signed cloud kernel: the package that linux-image-cloud-amd64 depends on.
if [ ! -d "$oracles/debian-cloud-image/lib/modules" ]; then
  image_pkg="$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
  dl="$oracles/.cloud-dl"
  rm -rf "$dl" "$oracles/debian-cloud-image"
  mkdir -p "$dl"
  chmod 777 "$dl"
  (cd "$dl" && apt-get -qq download "$image_pkg" 2>/dev/null)
  dpkg-deb -x "$dl"/linux-image-*.deb "$oracles/debian-cloud-image"
  rm -rf "$dl"
fi
# The newest Debian cloud kernel, from the unstable suite (the sources list made above for
# linux-source-7.2): newer Debian splits it into linux-binary-V (vmlinuz under
# /usr/lib/modules/V/) and linux-modules-V (.ko.xz). `probe check` is tested against it.
if [ ! -f "$oracles/debian-cloud-sid/.version" ]; then
  sid_sources
  opts=(-o Dir::Etc::SourceList="$sid/sources.list" -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$sid/lists")
  [ -n "$(ls "$sid"/lists/*Packages* 2>/dev/null)" ] || apt-get -qq "${opts[@]}" update
  meta="$(apt-cache "${opts[@]}" show linux-image-cloud-amd64 2>/dev/null | awk '/^Depends:/ {print; exit}')"
  release="$(echo "$meta" | grep -o 'linux-image-[0-9][^ ,]*-cloud-amd64' | head -1 | sed 's/^linux-image-//')"
  echo "setup: fetching Debian's cloud kernel $release from unstable" >&2
  mkdir -p "$sid/dl" && chmod 777 "$sid/dl"
  (cd "$sid/dl" && apt-get -qq "${opts[@]}" download "linux-binary-$release" "linux-modules-$release" 2>/dev/null)
  rm -rf "$oracles/debian-cloud-sid" "$sid/x" && mkdir -p "$oracles/debian-cloud-sid"
  for deb in "$sid"/dl/linux-binary-"$release"_*.deb "$sid"/dl/linux-modules-"$release"_*.deb; do
    dpkg-deb -x "$deb" "$oracles/debian-cloud-sid"
  done
  rm -rf "$sid/dl"
  echo "$release" > "$oracles/debian-cloud-sid/.version"
fi
# A BTF merger for the oracle side: bpftool's `gen min_core_btf` takes one BTF file, so
# the tests give it a kernel's BTF with one module's split BTF appended (scripts/btf-merge.c).
if [ ! -x "$oracles/btf-merge" ] || [ "$root/scripts/btf-merge.c" -nt "$oracles/btf-merge" ]; then
  gcc -O2 -o "$oracles/btf-merge" "$root/scripts/btf-merge.c" -lbpf
fi
echo "setup: oracles ready in $oracles" >&2
