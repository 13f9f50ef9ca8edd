#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser: the libFuzzer targets of Sources/kernelkit-fuzz,
# built with the fuzzer and the address sanitizer, seeded from real files (configs, the
# kernel trees' Kconfig files, Debian's modules, real keys and certificates, compressed
# streams from the real compressors).
#
# Usage: scripts/fuzz.sh [--runs N] [--seconds S] [--jobs J] [--reseed] [--no-build] [--list] [--report] [TARGET…]
#   --runs N      executions per target (10 million is the bar before a release)
#   --seconds S   time per target (default 20 s, what CI runs); with --runs, whichever
#                 comes first
#   --jobs J      targets run at once (default: the core count)
#   --reseed      gather the seeds again
#   --no-build    run the targets as last built, not rebuilt from the work tree (long
#                 runs that go on while the sources are being edited)
#   --list        the targets, one line each
#   --report      summary.tsv as a Markdown table, a row per target: every run's
#                 executions and CPU seconds added up, the last run's coverage
#                 (docs/reliability.md's table)
# Everything lives under .build/fuzz/ (outside git): seeds/T, corpus/T (grown by the
# runs, kept between them), crashes/T (any crash, slow unit or leak, and its minimised
# reproducer, min-*), logs/T.log, and summary.tsv (a line per target and run: date,
# target, executions, CPU seconds, exec/s, coverage, features, corpus size, crashes).
# CPU seconds are the target process's user and system time, so that a run at nice 19 on
# a busy machine counts what it got; runs recorded before 2026-12-06 23:00 UTC hold wall
# time there.
# Exits 1 when a target found a crash, after every target has run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
oracles="${KERNELKIT_ORACLES:-$root/.build/oracles}"
out="$root/.build/fuzz"
bin="$root/.build/fuzz-build/release/kernelkit-fuzz"
dicts="$root/Sources/kernelkit-fuzz/Dictionaries"
runs="" seconds=20 time_given="" jobs="$(nproc)" reseed=0 build=1 list=0 report=0 targets=()
while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; time_given=1; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --reseed) reseed=1; shift ;;
    --no-build) build=0; shift ;;
    --list) list=1; shift ;;
    --report) report=1; shift ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

if ((report)); then
  [ -s "$out/summary.tsv" ] || { echo "fuzz.sh: no runs recorded yet ($out/summary.tsv)" >&2; exit 2; }
  awk -F'\t' '
    !($2 in runs) { order[n++] = $2 }
    { runs[$2]++; execs[$2] += $3; secs[$2] += $4; cov[$2] = $6; ft[$2] = $7; corpus[$2] = $8; found[$2] += $9 }
    END {
      print "| target | runs | executions | CPU s | exec/s | coverage (edges) | features | corpus | found |"
      print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
      for (i = 0; i < n; i++) { t = order[i]
        printf "| `%s` | %d | %d | %d | %d | %d | %d | %d | %d |\n", t, runs[t], execs[t], secs[t],
          secs[t] ? execs[t] / secs[t] : 0, cov[t], ft[t], corpus[t], found[t] }
    }' "$out/summary.tsv"
  exit 0
fi

# The seeds' makers: the real compressors and OpenSSL.
need=()
for tool in xz:xz-utils zstd:zstd lz4:lz4 bzip2:bzip2 openssl:openssl perl:perl; do
  command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
if ((${#need[@]})); then
  [ "$(id -u)" = 0 ] || { echo "fuzz.sh: needs these Debian packages: ${need[*]}" >&2; exit 2; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ((build)) || [ ! -x "$bin" ]; then
  echo "fuzz.sh: building the targets (libFuzzer + AddressSanitizer) ..." >&2
  # The build tools are built with ASan too, and Foundation leaks a little at their exit.
  (cd "$root" && ASAN_OPTIONS=detect_leaks=0 KERNELKIT_FUZZ=1 swift build -c release --sanitize address \
    --build-path .build/fuzz-build --product kernelkit-fuzz 2>&1 | grep -v "Cannot export local symbol" >&2)
fi
[ -x "$bin" ] || { echo "fuzz.sh: the build made no $bin" >&2; exit 2; }

all=()
while IFS=$'\t' read -r name _; do all+=("$name"); done < <(KERNELKIT_FUZZ_TARGET=list "$bin" 2>&1)
if ((list)); then KERNELKIT_FUZZ_TARGET=list "$bin" 2>&1; exit 0; fi
((${#targets[@]})) || targets=("${all[@]}")
for t in "${targets[@]}"; do
  printf '%s\n' "${all[@]}" | grep -qx "$t" || { echo "fuzz.sh: no target '$t' (--list)" >&2; exit 2; }
done

# MARK: seeds, from real files. Each function fills the directory given.
copy_small() { # DIR MAXBYTES FILE...: copies the files up to MAXBYTES, a name each.
  local dir="$1" max="$2" f; shift 2
  for f in "$@"; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -le "$max" ] && cp "$f" "$dir/$(echo "$f" | md5sum | cut -c1-12)-$(basename "$f")"
  done
  return 0
}
modules() { # N MAXBYTES: signed Debian modules, smallest-first but spread over the tree.
  find "$oracles/debian-cloud-image/lib/modules" -name '*.ko' -size -"$2"c 2>/dev/null | sort | awk -v n="$1" 'NR % 7 == 1' | head -n "$1"
}
keys_and_certs() { # DIR: real keys and certificates, every form the loaders take.
  local d="$1" tmp; tmp="$(mktemp -d)"
  (
    cd "$tmp"
    openssl req -new -x509 -newkey rsa:2048 -nodes -keyout rsa.pem -out rsa.crt -days 30 -subj /CN=fuzz-rsa -batch 2>/dev/null
    openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.pem -out ec.crt -days 30 -subj /CN=fuzz-ec -batch 2>/dev/null
    openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout ec384.pem -out ec384.crt -days 30 -subj /CN=fuzz-ec384 -batch 2>/dev/null
    openssl x509 -in rsa.crt -outform DER -out rsa.der
    openssl x509 -in ec.crt -outform DER -out ec.der
    cat rsa.der ec.der > two.der
    cat rsa.pem rsa.crt > signing_key.pem
    openssl pkcs8 -topk8 -in rsa.pem -out rsa-enc.pem -passout pass:fuzz -v2 aes-256-cbc -iter 1 2>/dev/null
    openssl pkcs8 -topk8 -in ec.pem -out ec-enc.pem -passout pass:fuzz -v2 aes-128-cbc -iter 1 2>/dev/null
    openssl rsa -in rsa.pem -traditional -out rsa-pkcs1.pem 2>/dev/null
    openssl rsa -in rsa.pem -traditional -aes256 -passout pass:fuzz -out rsa-legacy-enc.pem 2>/dev/null
    openssl ec -in ec.pem -out ec-sec1.pem 2>/dev/null
  ) || true
  cp "$tmp"/* "$d/"
  rm -rf "$tmp"
}
seed_config() {
  copy_small "$1" 400000 "$root"/kconfigs/azure-linux/*.config "$root"/Tests/Fixtures/configs/*.config "$oracles"/debian-6.12/*.config
  copy_small "$1" 400000 "$root"/kconfigs/6.18/*/*
}
seed_kconfig() {
  local tree f n=0
  for tree in "$oracles/linux-6.12-tree" "$oracles/linux-7.2-tree"; do
    [ -d "$tree" ] || continue
    while IFS= read -r f; do copy_small "$1" 8192 "$f"; done < <(find "$tree" -name 'Kconfig*' -size -8k | sort | awk 'NR % 23 == 1' | head -n 150)
  done
  # Small trees of several files: `source` through the #file separator.
  printf 'mainmenu "fuzz $(KERNELVERSION)"\nconfig MODULES\n\tbool "modules"\n\tmodules\nsource "sub/Kconfig"\nif A\nconfig B\n\ttristate "b"\n\tdefault m\nendif\n#file sub/Kconfig\nconfig A\n\tdef_bool y\n\tselect C\nconfig C\n\tbool\n\timply B\nchoice\n\tprompt "pick"\nconfig D\n\tbool "d"\nconfig E\n\tbool "e"\nendchoice\n' > "$1/two-files"
  printf 'X := $(shell,true)\nY = $(if,$(X),a,b)\nconfig S\n\tstring "s"\n\tdefault "$(Y)"\nconfig H\n\thex "h"\n\trange 0x10 0x20\n\tdefault 0x18\nconfig I\n\tint "i"\n\tdepends on S != "" && (H >= 0x10 || !H)\nmenu "m"\n\tvisible if I\ncomment "c"\nendmenu\n' > "$1/macros"
}
seed_manifest() { copy_small "$1" 200000 "$root"/kconfigs/*/manifest.toml; }
seed_toml() { copy_small "$1" 400000 "$root"/kconfigs/baselines/*.toml "$root"/kconfigs/*/*.toml; }
seed_policy() { copy_small "$1" 400000 "$root"/kconfigs/baselines/*.toml; }
seed_waivers() { copy_small "$1" 400000 "$root"/kconfigs/*/waivers.toml; }
seed_azl-policy() { copy_small "$1" 400000 "$root"/kconfigs/baselines/azure-linux/*.json; }
seed_cmdline-sysctl() {
  copy_small "$1" 200000 "$root"/Tests/Fixtures/khc/inputs/* /proc/cmdline
  sysctl -a 2>/dev/null | head -n 300 > "$1/sysctl-a" || true
}
seed_json() {
  copy_small "$1" 200000 "$root"/Tests/Fixtures/khc/*.json "$root"/Tests/Fixtures/sarif/* "$root"/kconfigs/baselines/azure-linux/*.json
}
seed_boot-report() { # boot reports, as `boot report --format json` writes them from a real boot's files
  local b="$root/Tests/Fixtures/boot"
  "$root/scripts/kernelkit" boot report --log "$b/debian-6.1-cloud-tcg.dmesg" --trace "$b/debian-6.1-cloud-tcg.trace" --no-systemd --format json > "$1/debian-6.1.json" 2>/dev/null \
    || "$root/scripts/kernelkit" boot report --log "$b/debian-6.1-cloud-tcg.dmesg" --trace "$b/debian-6.1-cloud-tcg.trace" --format json > "$1/debian-6.1.json" 2>/dev/null || true
  "$root/scripts/kernelkit" boot report --log "$b/debian-6.1-cloud-tcg.dmesg" --format json > "$1/dmesg-only.json" 2>/dev/null || true
}
seed_probe-report() { # probe reports from real runs (root, BTF); the list always
  "$root/scripts/kernelkit" probe list --format json > "$1/list.json" 2>/dev/null || true
  for p in biolatency bitesize; do
    timeout 20 "$root/scripts/kernelkit" probe "$p" --duration 1 --workload 'dd if=/dev/zero of=/dev/null bs=4k count=100' --format json > "$1/$p.json" 2>/dev/null || rm -f "$1/$p.json"
  done
}
seed_initcall-trace() { # the real boot's trace, whole and in slices
  local t="$root/Tests/Fixtures/boot/debian-6.1-cloud-tcg.trace"
  head -c 16384 "$t" > "$1/head"; tail -c 16384 "$t" > "$1/tail"; cp "$t" "$1/whole"
}
seed_kernel-log() {
  local l="$root/Tests/Fixtures/boot/debian-6.1-cloud-tcg.dmesg"
  head -c 16384 "$l" > "$1/head"; tail -c 16384 "$l" > "$1/tail"
  dmesg 2>/dev/null | head -n 200 > "$1/this-machine" || true
  dmesg -r 2>/dev/null | head -n 200 > "$1/this-machine-raw" || true
}
seed_boot-timeline() { # FPDT values as a firmware publishes them, then slices of a real boot's log and trace
  local b="$root/Tests/Fixtures/boot" fpdt
  fpdt='0\n1834021000\n1835112000\n2904127000\n2921573000\n'
  { printf "$fpdt"; echo '#log'; head -c 6000 "$b/debian-6.1-cloud-tcg.dmesg"; echo; echo '#trace'; head -c 6000 "$b/debian-6.1-cloud-tcg.trace"; } > "$1/all"
  { echo '#log'; tail -c 6000 "$b/debian-6.1-cloud-tcg.dmesg"; } > "$1/log"
  { echo '#trace'; tail -c 6000 "$b/debian-6.1-cloud-tcg.trace"; } > "$1/trace"
  printf "$fpdt" > "$1/fpdt"
}
elf_section() { # FILE NAME: an ELF64 section's bytes (binutils does not read BPF objects)
  python3 - "$1" "$2" <<'PY'
import sys, struct
b = open(sys.argv[1], "rb").read()
shoff, = struct.unpack_from("<Q", b, 0x28); size, count, names = struct.unpack_from("<HHH", b, 0x3a)
sh = lambda i: struct.unpack_from("<IIQQQQIIQQ", b, shoff + i * size)
base = sh(names)[4]
for i in range(count):
    s = sh(i)
    if b[base + s[0]:b.index(b"\0", base + s[0])] == sys.argv[2].encode():
        sys.stdout.buffer.write(b[s[4]:s[4] + s[5]])
PY
}
seed_btf() { # our BPF objects (ELF) and their raw .BTF as kernels, then split BTF over one
  local o m tmp
  for o in "$root"/.build/fuzz-build/plugins/outputs/*/KernelProbes/destination/BPFCompilerPlugin/*.bpf.o; do
    [ -f "$o" ] || continue
    cp "$o" "$1/"; elf_section "$o" .BTF > "$1/$(basename "$o" .o).btf"
  done
  [ -s "$1/block.bpf.btf" ] || return 0
  tmp="$(mktemp -d)"
  m="$(find "$oracles/debian-cloud-sid" -name 'hv_sock.ko.xz' 2>/dev/null | head -n 1)"
  if [ -n "$m" ]; then xz -dc "$m" > "$tmp/m.ko"; elf_section "$tmp/m.ko" .BTF > "$tmp/m.btf"; fi
  { cat "$1/block.bpf.btf"; printf '#module#'; cat "$1/vmbus.bpf.btf"; } > "$1/split-probe"
  [ -s "$tmp/m.btf" ] && { cat "$1/block.bpf.btf"; printf '#module#'; cat "$tmp/m.btf"; } > "$1/split-module"
  rm -rf "$tmp"
}
seed_module() {
  local f
  # shellcheck disable=SC2046
  copy_small "$1" 24000 $(modules 40 24000)
  for f in $(modules 6 12000); do
    xz -c --check=crc32 "$f" > "$1/$(basename "$f").xz"; gzip -9c "$f" > "$1/$(basename "$f").gz"; zstd -qc "$f" > "$1/$(basename "$f").zst"
  done
  # shellcheck disable=SC2046
  copy_small "$1" 24000 $(find "$oracles/debian-cloud-sid" -name '*.ko.xz' -size -12k 2>/dev/null | head -n 10)
}
seed_elf() { # shellcheck disable=SC2046
  copy_small "$1" 24000 $(modules 40 24000); }
seed_signature-trailer() { local f; for f in $(modules 20 24000); do tail -c 1200 "$f" > "$1/$(basename "$f").tail"; done; }
seed_pkcs7() { # the signatures of Debian's modules, cut out by the kernel's own script
  local f x="$oracles/linux-6.12-tree/scripts/extract-module-sig.pl"
  [ -f "$x" ] || return 0
  for f in $(modules 12 24000); do perl "$x" -s "$f" > "$1/$(basename "$f").p7s" 2>/dev/null || rm -f "$1/$(basename "$f").p7s"; done
  local tmp; tmp="$(mktemp -d)"; keys_and_certs "$tmp"
  echo fuzz > "$tmp/data"
  openssl cms -sign -binary -noattr -nocerts -outform DER -in "$tmp/data" -signer "$tmp/rsa.crt" -inkey "$tmp/rsa.pem" -md sha256 -out "$1/cms-rsa.p7s" 2>/dev/null || true
  openssl cms -sign -binary -noattr -nocerts -outform DER -in "$tmp/data" -signer "$tmp/ec.crt" -inkey "$tmp/ec.pem" -md sha384 -out "$1/cms-ec.p7s" 2>/dev/null || true
  rm -rf "$tmp"
}
seed_x509() { keys_and_certs "$1"; rm -f "$1"/*.pem; }
seed_signing-key() { keys_and_certs "$1"; rm -f "$1"/*.crt "$1"/*.der; }
payloads() { # DIR: a small ELF carrying a built-in config and a banner, and a config
  local d="$1"
  python3 - "$d" <<'PY'
import sys, gzip, struct
d = sys.argv[1]
config = b"CONFIG_IKCONFIG=y\nCONFIG_MODULES=y\n# CONFIG_X is not set\n"
body = b"Linux version 6.18.0-fuzz (b@h) (gcc) #1\x00" + b"IKCFG_ST" + gzip.compress(config) + b"IKCFG_ED"
elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + struct.pack("<HHI", 2, 62, 1) + b"\x00" * 40 + body
open(f"{d}/vmlinux", "wb").write(elf)
PY
}
seed_decompress() {
  local tmp; tmp="$(mktemp -d)"; payloads "$tmp"
  gzip -9c "$tmp/vmlinux" > "$1/p.gz"; xz -c --check=crc32 "$tmp/vmlinux" > "$1/p.xz"; xz -c --format=lzma "$tmp/vmlinux" > "$1/p.lzma"
  zstd -qc "$tmp/vmlinux" > "$1/p.zst"; lz4 -qc -l "$tmp/vmlinux" > "$1/p.lz4-legacy"; lz4 -qc "$tmp/vmlinux" > "$1/p.lz4"; bzip2 -c "$tmp/vmlinux" > "$1/p.bz2"
  rm -rf "$tmp"
}
seed_kernel-image() { # the layouts the finder knows, around payloads from the real compressors
  local tmp; tmp="$(mktemp -d)"; payloads "$tmp"; seed_decompress "$tmp"
  cp "$tmp/vmlinux" "$1/"
  python3 - "$tmp" "$1" <<'PY'
import sys, struct, os
src, dst = sys.argv[1], sys.argv[2]
for name in ("p.gz", "p.xz", "p.zst", "p.lz4-legacy", "p.bz2", "p.lzma"):
    payload = open(os.path.join(src, name), "rb").read()
    # x86 bzImage: one setup sector after the boot sector, protocol 2.15, payload at 0x248/0x24c.
    setup = bytearray(1024)
    setup[0x1f1] = 1
    setup[0x202:0x206] = b"HdrS"
    setup[0x206:0x208] = struct.pack("<H", 0x20f)
    setup[0x248:0x250] = struct.pack("<II", 0, len(payload))
    open(os.path.join(dst, f"bzImage-{name}"), "wb").write(bytes(setup) + payload)
    # EFI zboot: "MZ", "zimg" at 4, payload offset and size at 8 and 12.
    head = bytearray(0x80)
    head[0:2] = b"MZ"; head[4:8] = b"zimg"
    head[8:16] = struct.pack("<II", 0x80, len(payload))
    open(os.path.join(dst, f"zboot-{name}"), "wb").write(bytes(head) + payload)
    # Anything else: the stream somewhere inside, as extract-vmlinux searches.
    open(os.path.join(dst, f"embedded-{name}"), "wb").write(b"\x00" * 300 + payload + b"\x00" * 64)
PY
  rm -rf "$tmp"
}

seed() { # TARGET
  local dir="$out/seeds/$1"
  if ((reseed)) || [ ! -d "$dir" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    "seed_$1" "$dir" || echo "fuzz.sh: $1: some seeds could not be made" >&2
    [ -n "$(ls -A "$dir")" ] || echo "fuzz.sh: $1: no seeds (is $oracles set up? scripts/setup-oracles.sh)" >&2
  fi
}

# MARK: running
children_cpu() { # VAR: user + system seconds of this shell's finished children, into VAR
  # (bash's times, run here: in a $( ) subshell it would count that subshell's children)
  local f="$out/logs/.times.$BASHPID"
  times > "$f"
  printf -v "$1" '%s' "$(tail -n1 "$f" | awk '{ split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2] }')"
  rm -f "$f"
}

fuzz_one() { # TARGET: runs it, minimises what it found, appends to summary.tsv
  set +e # a target that dies early (a crash in its seeds) still gets its line
  local t="$1" log="$out/logs/$1.log" crashes="$out/crashes/$1" budget
  mkdir -p "$out/corpus/$t" "$crashes" "$out/logs"
  budget="-max_total_time=$seconds"
  [ -n "$runs" ] && budget="-runs=$runs"
  [ -n "$runs" ] && [ -n "$time_given" ] && budget="-runs=$runs -max_total_time=$seconds"
  local dict=(); [ -f "$dicts/$t.dict" ] && dict=("-dict=$dicts/$t.dict")
  # Inputs stay small where small inputs reach every branch (and run fast); modules and
  # images need room for their section tables and payloads. A process may grow to 4 GB
  # (the kconfig target's corpus holds large trees), but one allocation over 2 GB from an
  # input of at most 64 KB is a finding: with the malloc limit at the RSS limit, a 3.8 GB
  # lzma dictionary went unreported.
  local max_len=8192
  case "$t" in module|elf|kernel-image|decompress|signature-trailer) max_len=65536 ;; esac
  local cpu_before cpu_after status=0 stamp="$out/logs/$1.started"
  children_cpu cpu_before
  touch "$stamp"
  KERNELKIT_FUZZ_TARGET="$t" SWIFT_BACKTRACE=enable=no ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0" \
    "$bin" "$out/corpus/$t" "$out/seeds/$t" "${dict[@]}" $budget -timeout=10 -rss_limit_mb=4096 -malloc_limit_mb=2048 -max_len=$max_len \
    -artifact_prefix="$crashes/" -print_final_stats=1 > "$log" 2>&1 || status=$?
  children_cpu cpu_after
  local elapsed=$((cpu_after - cpu_before))
  local execs rate cov ft corpus found=0 f
  execs="$(awk '/stat::number_of_executed_units/ {print $NF}' "$log" | tail -n1 || true)"
  rate="$(awk '/stat::average_exec_per_sec/ {print $NF}' "$log" | tail -n1 || true)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | cut -d" " -f2 || true)"
  ft="$(grep -o 'ft: [0-9]*' "$log" | tail -n1 | cut -d" " -f2 || true)"
  corpus="$(find "$out/corpus/$t" -type f | wc -l)"
  for f in "$crashes"/crash-* "$crashes"/timeout-* "$crashes"/leak-* "$crashes"/oom-* "$crashes"/slow-unit-*; do
    [ -f "$f" ] && [ "$f" -nt "$stamp" ] || continue # found in this run
    found=$((found + 1))
    case "$(basename "$f")" in
      crash-*|leak-*)
        [ -f "$crashes/min-$(basename "$f")" ] || KERNELKIT_FUZZ_TARGET="$t" SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=1 \
          "$bin" -minimize_crash=1 -runs=20000 -exact_artifact_path="$crashes/min-$(basename "$f")" "$f" >> "$log.min" 2>&1 || true ;;
    esac
  done
  if ((status != 0)) && ((found == 0)); then found=1; fi # died another way: the log says how
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "${execs:-0}" "$elapsed" "${rate:-0}" "${cov:-0}" "${ft:-0}" "$corpus" "$found" >> "$out/summary.tsv"
  printf '%-18s %12s runs %6s s %8s exec/s  cov %6s  ft %7s  corpus %6s  %s\n' "$t" "${execs:-0}" "$elapsed" "${rate:-0}" "${cov:-0}" "${ft:-0}" "$corpus" \
    "$( ((found)) && echo "FOUND $found: $crashes, $log" || echo ok)"
}

mkdir -p "$out"; touch "$out/summary.tsv"
for t in "${targets[@]}"; do seed "$t"; done
echo "fuzz.sh: ${#targets[@]} targets, $([ -n "$runs" ] && echo "$runs runs")$([ -n "$runs" ] && [ -n "$time_given" ] && echo " or ")$([ -z "$runs" ] || [ -n "$time_given" ] && echo "$seconds s") each, $jobs at a time" >&2
before="$(wc -l < "$out/summary.tsv" 2>/dev/null || echo 0)"
running=0
for t in "${targets[@]}"; do
  fuzz_one "$t" &
  running=$((running + 1))
  if ((running >= jobs)); then wait -n || true; running=$((running - 1)); fi
done
wait
# Found anything in this run?
tail -n +"$((before + 1))" "$out/summary.tsv" | awk -F'\t' '$9 > 0 {bad = 1} END {exit bad}'
