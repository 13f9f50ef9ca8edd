#!/usr/bin/env bash
# kernelkit exporter under load, as docs/fleet.md and issue 16 ask:
#   1. scrape time: 1,000 scrapes of /metrics over one keep-alive connection on loopback,
#      with 4 probes (biolatency, bitesize, vmbus, storvsc) and 16 loop devices carrying
#      I/O, so that every device has its latency and size series;
#   2. CPU: the exporter's own CPU time (utime + stime) over 20 s while fio drives 100,000
#      block requests a second (--rate_iops), scraped once a second, side by side with `kernelkit probe biolatency` on the same
#      load (the BPF programs' cost is in the kernel, charged to the I/O, alike for both).
# Needs root; builds with scripts/kernelkit. Prints a table for benchmarks/README.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/kernelkit" --version >/dev/null
bin="$root/.build/release"
work="$(mktemp -d)"
loops=()
cleanup() {
  [ -n "${exporter:-}" ] && kill "$exporter" 2>/dev/null || true
  for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
command -v fio >/dev/null || { echo "needs fio (apt-get install fio)" >&2; exit 2; }
for i in $(seq 16); do
  truncate -s 64M "$work/d$i.img"
  loops+=("$(losetup -f --show --direct-io=on "$work/d$i.img")")
done
port=$((19500 + RANDOM % 400))
"$bin/kernelkit-exporter" --listen 127.0.0.1:$port --probe biolatency --probe bitesize --probe vmbus --probe storvsc 2>"$work/exporter.log" &
exporter=$!
sleep 2
for l in "${loops[@]}"; do dd if="$l" of=/dev/null bs=4k count=200 iflag=direct status=none; dd if=/dev/zero of="$l" bs=64k count=20 oflag=direct status=none; done
sleep 1
python3 - "$port" <<'PY'
import http.client, sys, time
port = int(sys.argv[1])
c = http.client.HTTPConnection("127.0.0.1", port)
times, size = [], 0
for i in range(1000):
    t = time.perf_counter()
    c.request("GET", "/metrics"); r = c.getresponse(); body = r.read()
    times.append((time.perf_counter() - t) * 1000)
    size = len(body)
series = sum(1 for l in body.decode().splitlines() if l.startswith("kernelkit_block_io") and "_count{" in l)
times.sort()
print(f"scrape: {series} block series, {size} bytes; p50 {times[500]:.2f} ms, p99 {times[989]:.2f} ms, max {times[-1]:.2f} ms over 1000 scrapes")
PY
kill "$exporter"; wait "$exporter" || true; exporter=""

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
load() { fio --name=bench --filename="${loops[0]}" --rw=randread --bs=4k --direct=1 --ioengine=libaio --iodepth=32 \
  --rate_iops=100000 --time_based --runtime="$1" --output-format=json 2>/dev/null | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["jobs"][0]["read"]["iops"]))'; }
# The exporter, scraped once a second as Prometheus would.
"$bin/kernelkit-exporter" --listen 127.0.0.1:$port --probe biolatency 2>>"$work/exporter.log" &
exporter=$!
sleep 2
( for i in $(seq 22); do curl -s -o /dev/null "http://127.0.0.1:$port/metrics"; sleep 1; done ) &
scraper=$!
c0=$(cpu "$exporter"); iops_e=$(load 20); c1=$(cpu "$exporter")
wait "$scraper" || true
kill "$exporter"; wait "$exporter" || true; exporter=""
# The one-shot probe on the same load.
"$bin/kernelkit" probe biolatency --duration 24 >/dev/null 2>&1 &
probe=$!
sleep 2
p0=$(cpu "$probe"); iops_p=$(load 20); p1=$(cpu "$probe")
wait "$probe" || true
python3 - "$c0" "$c1" "$p0" "$p1" "$hz" "$iops_e" "$iops_p" <<'PY'
import sys
c0, c1, p0, p1, hz, ie, ip = map(float, sys.argv[1:])
e, p = (c1 - c0) / hz / 20 * 100, (p1 - p0) / hz / 20 * 100
print(f"cpu: exporter {e:.2f}% of a core at {ie:,.0f} block events/s; probe biolatency {p:.2f}% at {ip:,.0f}/s; difference {e - p:+.2f} points")
PY
