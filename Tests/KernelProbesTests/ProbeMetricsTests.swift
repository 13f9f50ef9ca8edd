import CBPFProbes
import Foundation
import KernelKitCore
import KernelMetrics
@testable import KernelProbes
import TestSupport
import Testing

/// The probes' figures as Prometheus metrics (KernelMetrics.MetricsFeed): log2 slots as
/// `le` bounds in base units, cumulative buckets, the kernel's exact sum, and counters fed
/// with cumulative values that pass on only what is new. The expected figures are worked
/// out by hand; promtool (Prometheus's own checker) reads every text we emit.
struct ProbeMetricsTests {
    /// `NAME_bucket{…le="X"…} N` lines of one series: (le, cumulative count), in order.
    static func buckets(_ text: String, _ name: String, _ labels: String) -> [(le: Double, count: Double)] {
        var out = [(Double, Double)]()
        for line in text.split(separator: "\n") where line.hasPrefix(name + "_bucket{") && line.contains(labels) {
            guard let r = line.range(of: "le=\""), let end = line[r.upperBound...].firstIndex(of: "\""),
                  let space = line.lastIndex(of: " "), let n = Double(line[line.index(after: space)...]) else { continue }
            let le = line[r.upperBound..<end] == "+Inf" ? Double.infinity : Double(line[r.upperBound..<end]) ?? .nan
            out.append((le, n))
        }
        return out
    }

    static func promtool(_ text: String) throws {
        guard FileManager.default.fileExists(atPath: "/usr/bin/promtool") || Oracles.required else { return }
        let r = try run("/usr/bin/promtool", ["check", "metrics"], input: Data(text.utf8))
        #expect(r.status == 0, "promtool: \(r.out)\(r.err)\n\(text)")
    }

    @Test("bcc's slot k (values 2^k … 2^(k+1)−1) counts toward le = 2^(k+1) units; the last slot only toward +Inf")
    func bounds() {
        #expect(MetricsFeed.bounds(slots: 4, scale: 1e-6) == [2e-6, 4e-6, 8e-6])
        #expect(MetricsFeed.bounds(slots: 3, scale: 1024) == [2048, 4096])
        #expect(MetricsFeed.scale(of: "usecs") == 1e-6 && MetricsFeed.scale(of: "nsecs") == 1e-9 && MetricsFeed.scale(of: "kbytes") == 1024)
        #expect(MetricsFeed.scale(of: "furlongs") == nil)
    }

    @Test("a cumulative histogram fed twice: buckets, _count and the kernel's exact _sum, then only the difference")
    func histogramDeltas() throws {
        let feed = MetricsFeed()
        // 3 requests in slot 2 ([4, 8) µs) and 1 in slot 3 ([8, 16) µs), 24 µs in all.
        let first = Log2Histogram(disk: "loop0", op: "read", unit: "usecs", counts: [0, 0, 3, 1, 0], sum: 24)
        feed.block([first])
        var text = String(decoding: feed.emit(), as: UTF8.self)
        try Self.promtool(text)
        let name = "kernelkit_block_io_latency_seconds"
        let labels = "device=\"loop0\",operation=\"read\""
        var b = Self.buckets(text, name, labels)
        #expect(b.map(\.le) == [2e-6, 4e-6, 8e-6, 16e-6, .infinity], "\(text)")
        #expect(b.map(\.count) == [0, 0, 3, 4, 4])
        var samples = PrometheusText.samples(text, name)
        #expect(samples["\(name)_count{\(labels)}"] == 4)
        #expect(abs((samples["\(name)_sum{\(labels)}"] ?? 0) - 24e-6) < 1e-12, "\(samples)")
        // The kernel's map a moment later: 2 more in slot 2, 1 more in slot 4, 44 µs more.
        feed.block([Log2Histogram(disk: "loop0", op: "read", unit: "usecs", counts: [0, 0, 5, 1, 1], sum: 68)])
        text = String(decoding: feed.emit(), as: UTF8.self)
        try Self.promtool(text)
        b = Self.buckets(text, name, labels)
        #expect(b.map(\.count) == [0, 0, 5, 6, 7], "\(text)")
        samples = PrometheusText.samples(text, name)
        #expect(samples["\(name)_count{\(labels)}"] == 7)
        #expect(abs((samples["\(name)_sum{\(labels)}"] ?? 0) - 68e-6) < 1e-12, "\(samples)")
        // sync and async of one disk and operation are one series (the kernel keys them apart).
        let merged = MetricsFeed()
        merged.block([Log2Histogram(disk: "sda", op: "write", sync: true, unit: "usecs", counts: [0, 2], sum: 6),
                      Log2Histogram(disk: "sda", op: "write", sync: false, unit: "usecs", counts: [0, 1], sum: 3)])
        let m = PrometheusText.samples(String(decoding: merged.emit(), as: UTF8.self), name)
        #expect(m["\(name)_count{device=\"sda\",operation=\"write\"}"] == 3)
        #expect(abs((m["\(name)_sum{device=\"sda\",operation=\"write\"}"] ?? 0) - 9e-6) < 1e-12)
    }

    @Test("sizes in KiB become bytes; without a kernel sum each value sits at its bucket's middle")
    func sizesWithoutSum() throws {
        let feed = MetricsFeed()
        // bitesize's slot 2 is 4-7 KiB: le 8 KiB = 8192 bytes; middle of [4, 8) KiB is 6 KiB.
        feed.block([Log2Histogram(disk: "vda", op: "write", unit: "kbytes", counts: [0, 0, 2, 0])])
        let text = String(decoding: feed.emit(), as: UTF8.self)
        try Self.promtool(text)
        let name = "kernelkit_block_io_size_bytes"
        let b = Self.buckets(text, name, "device=\"vda\"")
        #expect(b.map(\.le) == [2048, 4096, 8192, .infinity] && b.map(\.count) == [0, 0, 2, 2], "\(text)")
        let sum = try #require(PrometheusText.samples(text, name)["\(name)_sum{device=\"vda\",operation=\"write\"}"], "\(text)")
        #expect(abs(sum - 2 * 6144) < 1e-9, "\(text)")
    }

    @Test("counters fed cumulative values: _total, never decreasing; probe_attached and lost events")
    func countersAndProbe() throws {
        let feed = MetricsFeed()
        feed.probe("biolatency", attach: "tp_btf", attached: true, lostEvents: 3)
        feed.probe("biolatency", attach: "tp_btf", attached: true, lostEvents: 10)
        feed.probe("vmbus", attach: "none", attached: false, lostEvents: 0)
        let text = String(decoding: feed.emit(), as: UTF8.self)
        try Self.promtool(text)
        let s = PrometheusText.samples(text, "kernelkit_probe")
        #expect(s["kernelkit_probe_lost_events_total{probe=\"biolatency\"}"] == 10, "\(text)")
        #expect(s["kernelkit_probe_attached{probe=\"biolatency\",attach=\"tp_btf\"}"] == 1)
        #expect(s["kernelkit_probe_attached{probe=\"vmbus\",attach=\"none\"}"] == 0)
    }

    @Test("the Hyper-V probes' reports from recorded streams: VMBus, storvsc and netvsc metrics")
    func hyperV() throws {
        let s = HyperVStreamTests.s
        let e = HyperVStreamTests.event
        let storvsc = VMBusDevice(instance: "aaaaaaaa-0000-0000-0000-000000000001", classID: "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f",
                                  driver: "hv_storvsc", primaryRelid: 14, channels: [14: 0], interfaces: [], scsiHosts: [0])
        var vmbus = VMBusAggregator(devices: [storvsc], startNs: s)
        // Two interrupts on CPU 0, the callback 10 µs after the first (slot 13 in ns) and 1 µs
        // after the next (slot 9): 11,000 ns in all.
        vmbus.add([e(KK_HV_CHAN_SCHED, s + 100_000, 0, 14, 0, 0, 0, 0, []), e(KK_HV_ON_EVENT, s + 110_000, 0, 14, 0, 0, 0, 0, []),
                   e(KK_HV_CHAN_SCHED, s + 200_000, 0, 14, 0, 0, 0, 0, []), e(KK_HV_ON_EVENT, s + 201_000, 0, 14, 0, 0, 0, 0, [])])
        var storvscAgg = StorvscAggregator(diskNames: ["0:0:0:0": "sda"], startNs: 0)
        // 100 µs through relid 14 completed on CPU 1; 300 µs through relid 15 on CPU 1.
        storvscAgg.add([e(KK_HV_SV_SUBMIT, 0, 0, 0, 4096, 0, 0, 0xA, []), e(KK_HV_SV_SUBMIT, 1000, 1, 0, 8192, 0, 0, 0xB, []),
                        e(KK_HV_SV_DONE, 100_000, 1, 14, 0, 0, 0, 0xA, []), e(KK_HV_SV_DONE, 301_000, 1, 15, 0, 0, 0, 0xB, [])])
        var netvsc = NetvscAggregator(startNs: s)
        let eth0 = HyperVStreamTests.name("eth0")
        netvsc.add([e(KK_HV_NV_XMIT, s + 1, 0, 0, 1500, 0, 0, 0, eth0), e(KK_HV_NV_XMIT, s + 2, 0, 0, 1500, 0, 0, 0, eth0),
                    e(KK_HV_NV_GRO, s + 3, 0, 0, 1000, 0, 0, 0, eth0)])
        let feed = MetricsFeed()
        feed.vmbus(vmbus.report(endNs: 2 * s, lostEvents: 0))
        feed.storvsc(storvscAgg.report(endNs: s, lostEvents: 0))
        feed.netvsc(netvsc.report(endNs: 2 * s, lostEvents: 0, ethtool: [:]))
        let text = String(decoding: feed.emit(), as: UTF8.self)
        try Self.promtool(text)
        let m = PrometheusText.samples(text, "kernelkit_")
        let chan = "device=\"storvsc\",relid=\"14\",cpu=\"0\""
        #expect(m["kernelkit_vmbus_channel_interrupts_total{\(chan)}"] == 2, "\(text)")
        #expect(m["kernelkit_vmbus_channel_events_total{\(chan)}"] == 2)
        #expect(m["kernelkit_vmbus_callback_latency_seconds_count{\(chan)}"] == 2)
        #expect(abs((m["kernelkit_vmbus_callback_latency_seconds_sum{\(chan)}"] ?? 0) - 11e-6) < 1e-12)
        // Slot 9 (512-1023 ns) is under le 1024 ns; slot 13 under le 16384 ns.
        let b = Self.buckets(text, "kernelkit_vmbus_callback_latency_seconds", chan)
        #expect(b.first { abs($0.le - 1024e-9) < 1e-15 }?.count == 1 && b.first { abs($0.le - 16384e-9) < 1e-15 }?.count == 2, "\(b)")
        #expect(m["kernelkit_storvsc_io_latency_seconds_count{device=\"sda\",channel=\"14\",cpu=\"1\"}"] == 1)
        #expect(abs((m["kernelkit_storvsc_io_latency_seconds_sum{device=\"sda\",channel=\"15\",cpu=\"1\"}"] ?? 0) - 300e-6) < 1e-12, "\(text)")
        #expect(m["kernelkit_netvsc_packets_total{interface=\"eth0\",queue=\"0\",direction=\"tx\"}"] == 2)
        #expect(m["kernelkit_netvsc_bytes_total{interface=\"eth0\",queue=\"0\",direction=\"tx\"}"] == 3000)
        #expect(m["kernelkit_netvsc_packets_total{interface=\"eth0\",queue=\"0\",direction=\"rx\"}"] == 1)
    }
}
