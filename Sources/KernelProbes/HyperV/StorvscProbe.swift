import CBPFProbes
import KernelKitCore

/// One storvsc disk's commands over a run, split by the VMBus channel they completed on.
public struct StorvscDiskStats: Sendable, Equatable {
    /// "sda", or "H:0:T:L" when the disk has no block device.
    public var disk: String
    public var completed: UInt64 = 0
    /// Completions on another CPU than the submission's.
    public var crossCPU: UInt64 = 0
    public var latency = [UInt64](repeating: 0, count: Int(KK_MAX_SLOTS))
    public var sizes = [UInt64](repeating: 0, count: Int(KK_MAX_SLOTS))
    /// Commands in flight on the disk when each was submitted (log2), and the most.
    public var depth = [UInt64](repeating: 0, count: Int(KK_MAX_SLOTS))
    public var maxDepth: UInt64 = 0
    /// relid → completions and their latency.
    public var perChannel: [UInt32: [UInt64]] = [:]
    /// relid << 16 | completion CPU → latency (µs slots) and its exact sum: the
    /// Prometheus series (device, channel, cpu).
    public var perChannelCPU: [Int: LatencySeries] = [:]
    /// submit CPU → completion CPU → count.
    public var cpuPairs: [Int: [Int: UInt64]] {
        var out = [Int: [Int: UInt64]]()
        for (k, n) in pairCounts { out[k >> 16, default: [:]][k & 0xffff] = n }
        return out
    }
    /// The same, keyed submit << 16 | completion: one hash per completion.
    var pairCounts: [Int: UInt64] = [:]
}

/// Folds the storvsc fentry probe's events (storvsc.bpf.c) into per-disk figures.
public struct StorvscAggregator: Sendable {
    struct Pending: Sendable { var ts: UInt64; var cpu: Int; var disk: Int }
    public private(set) var disks: [StorvscDiskStats] = []
    private var diskIndex: [String: Int] = [:]
    /// (host, target << 16 | lun) → disk index: the address string is made once per disk.
    private var addressIndex: [UInt64: Int] = [:]
    private var pending: [UInt64: Pending] = [:]
    private var inFlight: [UInt64] = []
    /// Completions whose submission the run did not see (before the start, or lost).
    public private(set) var unmatched: UInt64 = 0
    /// SCSI address "host:channel:target:lun" → disk name.
    private let names: [String: String]
    public let startNs: UInt64

    public init(diskNames: [String: String], startNs: UInt64) {
        names = diskNames
        self.startNs = startNs
    }

    public mutating func add<S: Sequence>(_ batch: S) where S.Element == kk_hv_event { for e in batch { add(e) } }

    public mutating func add(_ e: kk_hv_event) {
        switch e.kind {
        case UInt32(KK_HV_SV_SUBMIT):
            let packed = UInt64(e.value2) << 32 | UInt64(e.extra)
            let d: Int
            if let i = addressIndex[packed] { d = i } else {
                let address = "\(e.value2):0:\(e.extra >> 16):\(e.extra & 0xffff)"
                let name = names[address] ?? address
                if let i = diskIndex[name] { d = i } else {
                    d = disks.count
                    diskIndex[name] = d
                    disks.append(StorvscDiskStats(disk: name))
                    inFlight.append(0)
                }
                addressIndex[packed] = d
            }
            // A command re-queued before completing (SCSI_MLQUEUE_*) replaces its first try.
            if let old = pending.updateValue(Pending(ts: e.ts_ns, cpu: Int(e.cpu), disk: d), forKey: e.key), inFlight[old.disk] > 0 {
                inFlight[old.disk] -= 1
            }
            let depth = inFlight[d]
            inFlight[d] = depth + 1
            disks[d].depth[VMBusAggregator.slot(depth + 1)] += 1
            disks[d].maxDepth = max(disks[d].maxDepth, depth + 1)
            disks[d].sizes[VMBusAggregator.slot(UInt64(e.value))] += 1
        case UInt32(KK_HV_SV_DONE):
            guard let p = pending.removeValue(forKey: e.key) else { unmatched += 1; return }
            if inFlight[p.disk] > 0 { inFlight[p.disk] -= 1 }
            let us = e.ts_ns >= p.ts ? (e.ts_ns - p.ts) / 1000 : 0
            disks[p.disk].completed += 1
            disks[p.disk].latency[VMBusAggregator.slot(us)] += 1
            if p.cpu != Int(e.cpu) { disks[p.disk].crossCPU += 1 }
            disks[p.disk].pairCounts[p.cpu << 16 | Int(e.cpu), default: 0] += 1
            let slot = VMBusAggregator.slot(us)
            disks[p.disk].perChannel[e.id, default: [UInt64](repeating: 0, count: Int(KK_MAX_SLOTS) + 1)][0] += 1
            disks[p.disk].perChannel[e.id]![1 + slot] += 1
            disks[p.disk].perChannelCPU[Int(e.id) << 16 | Int(e.cpu), default: LatencySeries()].add(slot: slot, Double(e.ts_ns &- p.ts) / 1000)
        default:
            break
        }
    }

    public func report(endNs: UInt64, lostEvents: UInt64, workload: Workload.Outcome? = nil) -> StorvscReport {
        StorvscReport(disks: disks, attach: "fentry", limitation: nil, unmatched: unmatched, startNs: startNs, endNs: endNs,
                      lostEvents: lostEvents, workload: workload)
    }
}

public struct StorvscReport: Sendable {
    public var disks: [StorvscDiskStats]
    public var attach: String
    public var limitation: String?
    public var unmatched: UInt64
    public var startNs: UInt64
    public var endNs: UInt64
    public var lostEvents: UInt64
    public var workload: Workload.Outcome?
    /// With the block-tracepoint fallback: the latency histograms per disk, nothing per channel.
    public var fallbackHistograms: [Log2Histogram] = []

    public var durationSeconds: Double { Double(endNs &- startNs) / 1e9 }

    public var probeReport: ProbeReport {
        var hs = fallbackHistograms, counters = [ProbeCounter]()
        for d in disks {
            hs.append(Log2Histogram(disk: d.disk, unit: "usecs", counts: d.latency))
            for relid in d.perChannel.keys.sorted() {
                hs.append(Log2Histogram(disk: d.disk, series: "channel \(relid)", unit: "usecs", counts: Array(d.perChannel[relid]!.dropFirst())))
            }
            counters.append(ProbeCounter(series: d.disk, name: "iops", value: (Double(d.completed) / max(durationSeconds, 1e-9)).rounded3))
            counters.append(ProbeCounter(series: d.disk, name: "cross_cpu_percent",
                                         value: d.completed > 0 ? (Double(d.crossCPU) * 100 / Double(d.completed)).rounded3 : 0))
            counters.append(ProbeCounter(series: d.disk, name: "max_queue_depth", value: Double(d.maxDepth)))
        }
        return ProbeReport(tool: "storvsc", histograms: hs, durationSeconds: durationSeconds, lostEvents: lostEvents, attach: attach,
                           counters: counters, workload: workload)
    }

    public var json: JSONValue {
        let list: [JSONValue] = disks.map { d in
            .object([
                ("disk", .string(d.disk)), ("completed", .int(Int(d.completed))), ("cross_cpu", .int(Int(d.crossCPU))),
                ("max_queue_depth", .int(Int(d.maxDepth))),
                ("latency", Log2Histogram(unit: "usecs", counts: d.latency).json),
                ("sizes", Log2Histogram(unit: "bytes", counts: d.sizes).json),
                ("queue_depth", Log2Histogram(unit: "commands", counts: d.depth).json),
                ("channels", .array(d.perChannel.keys.sorted().map { r in
                    .object([("relid", .int(Int(r))), ("completed", .int(Int(d.perChannel[r]![0]))),
                             ("latency", Log2Histogram(unit: "usecs", counts: Array(d.perChannel[r]!.dropFirst())).json)])
                })),
                ("cpus", .array(d.cpuPairs.keys.sorted().flatMap { s in
                    d.cpuPairs[s]!.keys.sorted().map { c in
                        JSONValue.object([("submit_cpu", .int(s)), ("completion_cpu", .int(c)), ("count", .int(Int(d.cpuPairs[s]![c]!)))])
                    }
                })),
            ])
        }
        return probeReport.json(schema: "kernelkit.probe-storvsc/1", extra: [
            ("limitation", limitation.map { .string($0) } ?? .null), ("unmatched_completions", .int(Int(unmatched))), ("disks", .array(list)),
        ])
    }

    public var text: String {
        var out = "storvsc over \(fixedPoint(durationSeconds, decimals: 1)) s (\(attach))" + (lostEvents > 0 ? ", \(lostEvents) events LOST" : "") + "\n"
        if let limitation { out += "Note: \(limitation)\n" }
        if let w = workload { out += w.line + "\n" }
        if disks.isEmpty && fallbackHistograms.isEmpty { return out + "  (no I/O)\n" }
        if !disks.isEmpty {
            out += "DISK".leftAligned(10) + "IOPS".rightAligned(10) + "p50 us".rightAligned(10) + "p99 us".rightAligned(10)
                + "CROSS-CPU%".rightAligned(12) + "MAX DEPTH".rightAligned(11) + "CHANNELS".rightAligned(10) + "\n"
            for d in disks {
                let h = Log2Histogram(unit: "usecs", counts: d.latency)
                out += d.disk.leftAligned(10) + fixedPoint(Double(d.completed) / max(durationSeconds, 1e-9), decimals: 1).rightAligned(10)
                    + (h.percentile(0.5).map { fixedPoint($0, decimals: 0) } ?? "-").rightAligned(10)
                    + (h.percentile(0.99).map { fixedPoint($0, decimals: 0) } ?? "-").rightAligned(10)
                    + (d.completed > 0 ? fixedPoint(Double(d.crossCPU) * 100 / Double(d.completed), decimals: 1) : "-").rightAligned(12)
                    + String(d.maxDepth).rightAligned(11) + String(d.perChannel.count).rightAligned(10) + "\n"
            }
        }
        for h in probeReport.histograms { out += h.text() }
        return out
    }
}
