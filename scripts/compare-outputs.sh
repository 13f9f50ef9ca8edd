#!/usr/bin/env bash
# Runs one kernelkit binary over fixed real inputs and writes every output (stdout,
# stderr, exit status, written files) under OUTDIR, so that two builds can be compared
# byte for byte: `diff -r OUT-before OUT-after` after a refactoring.
#   scripts/compare-outputs.sh BIN OUTDIR
# Inputs: Debian's configs and modules and the kernel trees that scripts/setup-oracles.sh
# lays out (KERNELKIT_ORACLES, default .build/oracles). Keys, signed modules and probe
# reports that two runs must share are made once under $KERNELKIT_ORACLES/compare-fixtures/
# (by whichever binary runs first), since keygen and the probes are not deterministic.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(realpath "$1")"; out="$2"
oracles="$(realpath "${KERNELKIT_ORACLES:-$root/.build/oracles}")"
cfg="$oracles/debian-6.12"; tree612="$oracles/linux-6.12-tree"; tree72="$oracles/linux-7.2-tree"
image="$oracles/debian-cloud-image"
fixtures="$oracles/compare-fixtures"
rm -rf "$out"; mkdir -p "$out"; out="$(realpath "$out")"
export NO_COLOR=1
cd "$root"

# run NAME CMD...: stdout, stderr and the exit status of one command.
run() {
  local name="$1"; shift
  (cd "$out/work" && "$@" >"$out/$name.out" 2>"$out/$name.err"; echo $? >"$out/$name.status")
}
mkdir -p "$out/work"

# Made once, shared by every later run.
if [ ! -f "$fixtures/.done" ]; then
  rm -rf "$fixtures"; mkdir -p "$fixtures"
  mkdir -p "$fixtures/keys" && "$bin" modsign keygen --out "$fixtures/keys" >/dev/null
  "$bin" probe biolatency --duration 1 --format json >"$fixtures/bio-a.json" 2>/dev/null || echo '{}' >"$fixtures/bio-a.json"
  dd if=/dev/zero of="$fixtures/io.tmp" bs=1M count=64 oflag=direct status=none; rm -f "$fixtures/io.tmp"
  "$bin" probe biolatency --duration 1 --format json >"$fixtures/bio-b.json" 2>/dev/null || echo '{}' >"$fixtures/bio-b.json"
  touch "$fixtures/.done"
fi
modules="$(find "$image/lib/modules" -name '*.ko*' | sort | head -n 40)"
vmlinuz="$(ls "$image"/boot/vmlinuz-* | head -n 1)"

# config diff, every format
a="$cfg/amd64_none_amd64.config"; b="$cfg/amd64_none_cloud-amd64.config"
run diff-text "$bin" config diff "$a" "$b"
run diff-json "$bin" config diff --format json "$a" "$b"
run diff-diffconfig "$bin" config diff --format diffconfig "$a" "$b"
run diff-m "$bin" config diff -m "$a" "$b"
run diff-argparser "$bin" config diff --exit-code --format json "$cfg/arm64_none_arm64.config" "$cfg/arm64_none_cloud-arm64.config"

# config merge, text and through a tree
cp "$b" "$out/work/base.config"
printf 'CONFIG_HYPERV=y\nCONFIG_HYPERV_NET=m\n# CONFIG_DRM is not set\n' >"$out/work/hv.fragment"
mkdir -p "$out/work/merge-m" "$out/work/merge-tree"
run merge-m "$bin" config merge -m -O "$out/work/merge-m" base.config hv.fragment
cp "$out/work/merge-m/.config" "$out/merge-m.config" 2>/dev/null
run merge-tree "$bin" config merge -O "$out/work/merge-tree" --tree "$tree612" --arch x86_64 base.config hv.fragment
cp "$out/work/merge-tree/.config" "$out/merge-tree.config" 2>/dev/null

# config resolve and friends
run resolve-old "$bin" config resolve --tree "$tree612" --arch x86_64 --olddefconfig "$b" -o "$out/resolve-old.config" --autoconf "$out/autoconf"
run resolve-def "$bin" config resolve --tree "$tree72" --arch arm64 --dummy-tools --defconfig arch/arm64/configs/defconfig
run err-set "$bin" config resolve --tree "$tree72" --arch arm64 --set CROSS_COMPILE=aarch64-linux-gnu- --defconfig arch/arm64/configs/defconfig
run err-set-form "$bin" config resolve --tree "$tree72" --arch arm64 --set CROSS_COMPILE --alldefconfig
run resolve-dummy "$bin" config resolve --tree "$tree72" --arch riscv --dummy-tools --allnoconfig
run savedefconfig "$bin" config savedefconfig --tree "$tree612" --arch x86_64 "$b"
run listnewconfig "$bin" config listnewconfig --tree "$tree72" --arch x86_64 "$root/kconfigs/azure-linux/azl4-6.18-x86_64.config"
run why "$bin" config why --tree "$tree612" --arch x86_64 --config "$b" DRM_HYPERV --want y
run show "$bin" config show --tree "$tree612" --arch x86_64 HYPERV_NET

# the bundled kernel and the audit
for arch in x86_64 arm64 aarch64; do
  run "build-$arch" "$bin" config build --arch "$arch"
  run "audit-$arch" "$bin" audit --arch "$arch"
  run "audit-$arch-json" "$bin" audit --arch "$arch" --format json
done
run build-hyperv "$bin" config build --arch x86_64 --flavour hyperv
run build-tree "$bin" config build --arch x86_64 --tree "$tree72"
run audit-sarif "$bin" audit --arch x86_64 --format sarif
run audit-kspp "$bin" audit --arch x86_64 --baseline azure-hyperv-6.18 --baseline kspp

# harden
for f in text json sarif junit; do
  run "harden-$f" "$bin" harden check --config "$b" --config "$cfg/arm64_none_cloud-arm64.config" --format "$f"
done
run harden-azl "$bin" harden check --baseline azure-linux --config "$root/kconfigs/azure-linux/azl4-6.18-x86_64.config" --format json
run harden-list "$bin" harden list
run harden-list-kspp "$bin" harden list --baseline kspp
run harden-explain "$bin" harden explain kspp.BUG
run harden-convert "$bin" harden convert "$root/kconfigs/baselines/azure-linux/azl3-os-required-kernel-configs.json"

# module signing
m="$(echo "$modules" | head -n 1)"
cp "$m" "$out/work/mod.ko"; xz -kc "$m" >"$out/work/mod.ko.xz"
run sign-file "$bin" modsign sign-file sha512 "$fixtures/keys/signing_key.pem" "$fixtures/keys/signing_key.x509" mod.ko signed.ko
run sign-file-p "$bin" modsign sign-file -p sha256 "$fixtures/keys/signing_key.pem" "$fixtures/keys/signing_key.x509" mod.ko signed-p.ko
run sign-file-d "$bin" modsign sign-file -d sha384 "$fixtures/keys/signing_key.pem" "$fixtures/keys/signing_key.x509" mod.ko
run sign-file-s "$bin" modsign sign-file -s mod.ko.p7s sha384 "$fixtures/keys/signing_key.x509" mod.ko signed-s.ko
cp "$out/work/mod.ko.xz" "$out/work/mod2.ko.xz"
run sign "$bin" modsign sign --key "$fixtures/keys/signing_key.pem" --cert "$fixtures/keys/signing_key.x509" mod2.ko.xz
for f in signed.ko signed-p.ko signed-s.ko mod.ko.p7s mod2.ko.xz; do
  [ -f "$out/work/$f" ] && xz -dcf "$out/work/$f" >"$out/modsign-$f.bin" 2>/dev/null
done
# shellcheck disable=SC2086
run verify "$bin" modsign verify --keyring "$vmlinuz" --format json $modules
# shellcheck disable=SC2086
run verify-text "$bin" modsign verify --keyring "$vmlinuz" --all $modules
# shellcheck disable=SC2086
run info-json "$bin" modsign info --format json $(echo "$modules" | head -n 10)
run info-modinfo "$bin" modsign info --format modinfo "$m"
run extract-certs "$bin" modsign extract-certs "$vmlinuz" -o "$out/certs"
run check-config "$bin" modsign check-config --config "$b" --cert "$fixtures/keys/signing_key.x509" --hash sha512
run strip "$bin" modsign strip -o stripped.ko.xz mod.ko.xz
xz -dc "$out/work/stripped.ko.xz" >"$out/strip.bin" 2>/dev/null

# probes: the reports recorded once, compared and rendered by this build
run probe-compare "$bin" probe compare "$fixtures/bio-a.json" "$fixtures/bio-b.json"
run probe-compare-json "$bin" probe compare --format json "$fixtures/bio-a.json" "$fixtures/bio-b.json"

# usage and input errors
run err-missing "$bin" config diff /nonexistent.config "$b"
run err-kconfig "$bin" config resolve --tree /tmp --arch x86_64 --alldefconfig
run err-baseline "$bin" harden check --baseline nosuch --config "$b"
run err-module "$bin" modsign info "$b"
# Timings vary from run to run.
sed -i -E "s/ in [0-9.]+ s\$/ in N s/" "$out/sign.err"
# Outputs that name where they were written name OUTDIR.
grep -rlF "$out" "$out" | xargs -r sed -i "s|$out|OUTDIR|g"
rm -rf "$out/work"
echo "compare-outputs: $(ls "$out" | wc -l) outputs in $out"
