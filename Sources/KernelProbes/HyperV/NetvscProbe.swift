import CBPFProbes
import KernelKitCore

/// One netvsc queue in one direction over a run.
public struct NetvscQueueStats: Sendable, Equatable {
    public var interface: String
    public var queue: Int
    /// "tx" or "rx"
    public var direction: String
    /// Packets and bytes as the network core saw them (net_dev_start_xmit, napi_gro_receive_entry).
    public var packets: UInt64 = 0
    public var bytes: UInt64 = 0
    /// VMBus packets the driver sent (nvsp_send_pkt) or received (nvsp_recv).
    public var vmbusPackets: UInt64 = 0
    /// tx: sends copied into a send-buffer section, and their bytes (log2).
    public var sectionSends: UInt64 = 0
    public var sectionBytes = [UInt64](repeating: 0, count: Int(KK_MAX_SLOTS))
    /// rx: RNDIS messages per inbound VMBus packet (log2), and the messages.
    public var rndisMessages: UInt64 = 0
    public var batch = [UInt64](repeating: 0, count: Int(KK_MAX_SLOTS))
    public var perCPU: [Int: UInt64] {
        var out = [Int: UInt64]()
        for (cpu, n) in cpuCounts.enumerated() where n > 0 { out[cpu] = n }
        return out
    }
    var cpuCounts: [UInt64] = []

    public var series: String { "\(interface) queue \(queue) \(direction)" }
}

/// Folds the netvsc probe's events (netvsc.bpf.c) into per-interface, per-queue figures.
public struct NetvscAggregator: Sendable {
    public private(set) var queues: [NetvscQueueStats] = []
    /// (interface name bytes, queue, direction) → index in `queues`: the name stays as
    /// the 16 bytes the event carries, so no String is made per event.
    private struct Key: Hashable { var a: UInt64; var b: UInt64; var queue: UInt32; var tx: Bool }
    private var index: [Key: Int] = [:]
    /// The receive batch open on each CPU: the queue's index (-1: none) and its RNDIS
    /// messages so far.
    private var openBatch: [(queue: Int, messages: UInt64)] = []
    public let startNs: UInt64

    public init(startNs: UInt64) { self.startNs = startNs }

    /// netvsc's send_buf_section_index when the packet was not copied (NETVSC_INVALID_INDEX).
    static let noSection: UInt32 = 0xffff_ffff

    private mutating func queue(_ e: kk_hv_event, tx: Bool) -> Int {
        let key = withUnsafeBytes(of: e.data) { raw in
            Key(a: raw.loadUnaligned(as: UInt64.self), b: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self), queue: e.id, tx: tx)
        }
        if let i = index[key] { return i }
        let name = withUnsafeBytes(of: e.data) { String(decoding: $0.prefix(16).prefix { $0 != 0 }, as: UTF8.self) }
        index[key] = queues.count
        queues.append(NetvscQueueStats(interface: name, queue: Int(e.id), direction: tx ? "tx" : "rx"))
        return queues.count - 1
    }

    public mutating func add<S: Sequence>(_ batch: S) where S.Element == kk_hv_event { for e in batch { add(e) } }

    public mutating func add(_ e: kk_hv_event) {
        let cpu = Int(e.cpu)
        switch e.kind {
        case UInt32(KK_HV_NV_XMIT), UInt32(KK_HV_NV_GRO):
            let i = queue(e, tx: e.kind == UInt32(KK_HV_NV_XMIT))
            queues[i].packets += 1
            queues[i].bytes += UInt64(e.value)
            if cpu >= queues[i].cpuCounts.count { queues[i].cpuCounts += [UInt64](repeating: 0, count: cpu + 1 - queues[i].cpuCounts.count) }
            queues[i].cpuCounts[cpu] += 1
        case UInt32(KK_HV_NV_SEND):
            let i = queue(e, tx: true)
            queues[i].vmbusPackets += 1
            if e.value != Self.noSection {
                queues[i].sectionSends += 1
                queues[i].sectionBytes[VMBusAggregator.slot(UInt64(e.value2))] += 1
            }
        case UInt32(KK_HV_NV_RECV):
            let i = queue(e, tx: false)
            queues[i].vmbusPackets += 1
            close(cpu)
            openBatch[cpu] = (i, 0)
        case UInt32(KK_HV_RNDIS_RECV):
            let i = queue(e, tx: false)
            queues[i].rndisMessages += 1
            if cpu < openBatch.count, openBatch[cpu].queue >= 0 { openBatch[cpu].messages += 1 }
        default:
            break
        }
    }

    /// A VMBus packet's RNDIS messages all arrive on its CPU before the next packet there.
    private mutating func close(_ cpu: Int) {
        if cpu >= openBatch.count { openBatch += Array(repeating: (-1, 0), count: cpu + 1 - openBatch.count) }
        let b = openBatch[cpu]
        if b.queue >= 0 { queues[b.queue].batch[VMBusAggregator.slot(b.messages)] += 1 }
        openBatch[cpu] = (-1, 0)
    }

    public mutating func report(endNs: UInt64, lostEvents: UInt64, workload: Workload.Outcome? = nil,
                                ethtool: [String: [String: UInt64]] = [:]) -> NetvscReport {
        for cpu in openBatch.indices { close(cpu) }
        let sorted = queues.sorted { ($0.interface, $0.direction, $0.queue) < ($1.interface, $1.direction, $1.queue) }
        return NetvscReport(queues: sorted, startNs: startNs, endNs: endNs, lostEvents: lostEvents, workload: workload, ethtool: ethtool)
    }
}

public struct NetvscReport: Sendable {
    public var queues: [NetvscQueueStats]
    public var startNs: UInt64
    public var endNs: UInt64
    public var lostEvents: UInt64
    public var workload: Workload.Outcome?
    /// Per interface, the change in the driver's own `ethtool -S` counters over the run.
    public var ethtool: [String: [String: UInt64]]

    public var durationSeconds: Double { Double(endNs &- startNs) / 1e9 }

    /// The driver's counter for the same queue and direction (netvsc_drv.c's
    /// netvsc_get_strings: tx_queue_N_packets, rx_queue_N_bytes, …), when read.
    public func driverCounter(_ q: NetvscQueueStats, _ what: String) -> UInt64? {
        ethtool[q.interface]?["\(q.direction)_queue_\(q.queue)_\(what)"]
    }

    public var probeReport: ProbeReport {
        var hs = [Log2Histogram](), counters = [ProbeCounter]()
        let t = max(durationSeconds, 1e-9)
        for q in queues {
            counters.append(ProbeCounter(series: q.series, name: "packets_per_second", value: (Double(q.packets) / t).rounded3))
            counters.append(ProbeCounter(series: q.series, name: "bytes_per_second", value: (Double(q.bytes) / t).rounded3))
            counters.append(ProbeCounter(series: q.series, name: "vmbus_packets_per_second", value: (Double(q.vmbusPackets) / t).rounded3))
            if q.direction == "tx", q.sectionSends > 0 { hs.append(Log2Histogram(series: q.series + " send-section", unit: "bytes", counts: q.sectionBytes)) }
            if q.direction == "rx", q.batch.contains(where: { $0 > 0 }) { hs.append(Log2Histogram(series: q.series + " batch", unit: "messages", counts: q.batch)) }
        }
        return ProbeReport(tool: "netvsc", histograms: hs, durationSeconds: durationSeconds, lostEvents: lostEvents,
                           attach: "tracepoint", counters: counters, workload: workload)
    }

    public var json: JSONValue {
        func opt(_ v: UInt64?) -> JSONValue { v.map { .int(Int($0)) } ?? .null }
        let list: [JSONValue] = queues.map { q in
            .object([
                ("interface", .string(q.interface)), ("queue", .int(q.queue)), ("direction", .string(q.direction)),
                ("packets", .int(Int(q.packets))), ("bytes", .int(Int(q.bytes))), ("vmbus_packets", .int(Int(q.vmbusPackets))),
                ("section_sends", .int(Int(q.sectionSends))), ("rndis_messages", .int(Int(q.rndisMessages))),
                ("per_cpu", .array(q.perCPU.keys.sorted().map { .object([("cpu", .int($0)), ("packets", .int(Int(q.perCPU[$0]!)))]) })),
                ("driver_packets", opt(driverCounter(q, "packets"))), ("driver_bytes", opt(driverCounter(q, "bytes"))),
            ])
        }
        let eth: [(String, JSONValue)] = ethtool.keys.sorted().map { iface in
            (iface, .object(ethtool[iface]!.keys.sorted().map { ($0, .int(Int(ethtool[iface]![$0]!))) }))
        }
        return probeReport.json(schema: "kernelkit.probe-netvsc/1", extra: [("queues", .array(list)), ("ethtool", .object(eth))])
    }

    public var text: String {
        var out = "netvsc queues over \(fixedPoint(durationSeconds, decimals: 1)) s" + (lostEvents > 0 ? ", \(lostEvents) events LOST" : "") + "\n"
        if let w = workload { out += w.line + "\n" }
        if queues.isEmpty { return out + "  (no packets)\n" }
        let t = max(durationSeconds, 1e-9)
        out += "IFACE".leftAligned(10) + "DIR".leftAligned(4) + "QUEUE".rightAligned(6) + "PKT/s".rightAligned(12) + "MB/s".rightAligned(10)
            + "VMBUS/s".rightAligned(12) + "SECTION%".rightAligned(10) + "DRIVER PKTS".rightAligned(13) + "\n"
        for q in queues {
            let section = q.direction == "tx" && q.vmbusPackets > 0 ? fixedPoint(Double(q.sectionSends) * 100 / Double(q.vmbusPackets), decimals: 1) : "-"
            out += q.interface.leftAligned(10) + q.direction.leftAligned(4) + String(q.queue).rightAligned(6)
                + fixedPoint(Double(q.packets) / t, decimals: 1).rightAligned(12) + fixedPoint(Double(q.bytes) / t / 1e6, decimals: 2).rightAligned(10)
                + fixedPoint(Double(q.vmbusPackets) / t, decimals: 1).rightAligned(12) + section.rightAligned(10)
                + (driverCounter(q, "packets").map(String.init) ?? "-").rightAligned(13) + "\n"
        }
        for h in probeReport.histograms { out += h.text() }
        return out
    }
}
