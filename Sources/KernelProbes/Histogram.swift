import CBPFProbes
import KernelKitCore

/// A log2 histogram, as bcc's tools keep them: bucket i holds values in [2^i, 2^(i+1)),
/// bucket 0 holds 0 and 1.
public struct Log2Histogram: Sendable, Equatable {
    public var disk: String?
    /// read, write, flush, discard, other; with `sync`.
    public var op: String?
    public var sync: Bool?
    public var comm: String?
    /// What else the histogram is of, for probes beyond the block layer: "relid 14
    /// storvsc", "sda channel 15", "eth0 queue 2 tx".
    public var series: String?
    public var unit: String
    public var counts: [UInt64]
    /// The exact sum of the values, in `unit` (fractional: the kernel sums nanoseconds or
    /// bytes, not the truncated slot values), when the probe keeps one.
    public var sum: Double?
    public var total: UInt64 { counts.reduce(0, +) }

    public init(disk: String? = nil, op: String? = nil, sync: Bool? = nil, comm: String? = nil, series: String? = nil,
                unit: String, counts: [UInt64], sum: Double? = nil) {
        self.sum = sum
        self.series = series
        self.disk = disk
        self.op = op
        self.sync = sync
        self.comm = comm
        self.unit = unit
        self.counts = counts
    }

    public static func bounds(_ i: Int) -> (low: UInt64, high: UInt64) {
        i == 0 ? (0, 1) : (UInt64(1) << UInt64(i), (UInt64(1) << UInt64(i + 1)) - 1)
    }

    /// The value below which a fraction `p` of the samples lie, interpolated linearly
    /// inside its bucket (log2 buckets cannot say more).
    public func percentile(_ p: Double) -> Double? {
        let n = total
        guard n > 0 else { return nil }
        let target = p * Double(n)
        var seen = 0.0
        for (i, c) in counts.enumerated() where c > 0 {
            let next = seen + Double(c)
            if next >= target {
                let (lo, hi) = Self.bounds(i)
                let frac = (target - seen) / Double(c)
                return Double(lo) + frac * Double(hi + 1 - lo)
            }
            seen = next
        }
        return Double(Self.bounds(counts.count - 1).high)
    }

    /// The histograms summed over what `keep` does not keep (disk, op and sync, process),
    /// as a probe run keyed finer in the kernel than it prints.
    public static func merged(_ hs: [Log2Histogram], keepDisk: Bool, keepOp: Bool, keepComm: Bool) -> [Log2Histogram] {
        var out = [Log2Histogram](), index = [String: Int]()
        for var h in hs {
            if !keepDisk { h.disk = nil }
            if !keepOp { h.op = nil; h.sync = nil }
            if !keepComm { h.comm = nil }
            let key = [h.series, h.disk, h.op, h.sync.map { "\($0)" }, h.comm].map { $0 ?? "\u{0}" }.joined(separator: "\u{1}")
            if let i = index[key] {
                for (k, c) in h.counts.enumerated() where k < out[i].counts.count { out[i].counts[k] += c }
                out[i].sum = out[i].sum.flatMap { a in h.sum.map { a + $0 } }
            } else {
                index[key] = out.count
                out.append(h)
            }
        }
        return out
    }

    /// The index of the fullest bucket.
    public var modeBucket: Int? {
        guard total > 0 else { return nil }
        return counts.indices.max { counts[$0] < counts[$1] }
    }

    public var label: String {
        var parts = [String]()
        if let series { parts.append(series) }
        if let disk { parts.append("disk = \(disk)") }
        if let op { parts.append("op = \(op)\(sync == true ? " (sync)" : "")") }
        if let comm { parts.append("process = \(comm)") }
        return parts.joined(separator: ", ")
    }

    /// The histogram as bcc's print_log2_hist prints it.
    public func text() -> String {
        var out = ""
        if !label.isEmpty { out += "\n\(label)\n" }
        guard let last = counts.lastIndex(where: { $0 > 0 }) else { return out + "     (no events)\n" }
        let maxCount = counts.max() ?? 1
        let width = 40
        let head = String(repeating: " ", count: max(0, 19 - unit.count)) + unit
        out += "\(head)          : count    distribution\n"
        for i in 0...last {
            let (lo, hi) = Self.bounds(i)
            let stars = maxCount == 0 ? 0 : Int((Double(counts[i]) * Double(width) / Double(maxCount)).rounded(.down))
            let range = String(lo).rightAligned(20) + " -> " + String(hi).leftAligned(12)
            out += range + ": " + String(counts[i]).leftAligned(8) + " |" + String(repeating: "*", count: stars)
                + String(repeating: " ", count: width - stars) + "|\n"
        }
        return out
    }


    public var json: JSONValue {
        var buckets = [JSONValue]()
        for (i, c) in counts.enumerated() {
            let (lo, hi) = Self.bounds(i)
            buckets.append(.object([("low", .int(Int(lo))), ("high", .int(Int(hi))), ("count", .int(Int(c)))]))
        }
        func pct(_ p: Double) -> JSONValue { percentile(p).map { .double(($0 * 10).rounded() / 10) } ?? .null }
        let exact: JSONValue = sum.map { .double(($0 * 1000).rounded() / 1000) } ?? .null
        return .object([
            ("disk", disk.map { .string($0) } ?? .null), ("op", op.map { .string($0) } ?? .null),
            ("sync", sync.map { .bool($0) } ?? .null), ("comm", comm.map { .string($0) } ?? .null),
            ("series", series.map { .string($0) } ?? .null), ("unit", .string(unit)), ("buckets", .array(buckets)), ("total", .int(Int(total))),
            ("sum", exact),
            ("p50", pct(0.5)), ("p90", pct(0.9)), ("p99", pct(0.99)),
        ])
    }

    public init(json: JSONValue) throws(KernelKitError) {
        guard case .object(let m) = json else { throw KernelKitError(.malformedLine, "a histogram must be an object") }
        func get(_ k: String) -> JSONValue? { m.first { $0.0 == k }?.1 }
        func str(_ k: String) -> String? { if case .string(let s)? = get(k) { s } else { nil } }
        unit = str("unit") ?? "usecs"
        disk = str("disk")
        op = str("op")
        comm = str("comm")
        series = str("series")
        if case .bool(let b)? = get("sync") { sync = b } else { sync = nil }
        switch get("sum") {
        case .double(let d)?: sum = d
        case .int(let i)?: sum = Double(i)
        default: sum = nil
        }
        guard case .array(let buckets)? = get("buckets") else { throw KernelKitError(.malformedLine, "a histogram needs buckets") }
        var counts = [UInt64]()
        for b in buckets {
            guard case .object(let bm) = b, case .int(let c)? = bm.first(where: { $0.0 == "count" })?.1 else {
                throw KernelKitError(.malformedLine, "each bucket needs a count")
            }
            counts.append(UInt64(max(0, c)))
        }
        self.counts = counts
    }
}

/// Log2 slots with the exact sum of their values (in the slots' unit), as an aggregator
/// in Swift keeps them per series.
public struct LatencySeries: Sendable, Equatable {
    public var counts = [UInt64](repeating: 0, count: Int(KK_MAX_SLOTS))
    public var sum = 0.0
    public init() {}
    mutating func add(slot: Int, _ value: Double) {
        counts[slot] += 1
        sum += value
    }
}

/// A figure of a run other than a histogram (a rate, a count), by series, which
/// `probe compare` sets side by side.
public struct ProbeCounter: Sendable, Equatable {
    public var series: String
    public var name: String
    public var value: Double
    public init(series: String, name: String, value: Double) {
        self.series = series
        self.name = name
        self.value = value
    }
}

/// A probe run's results: the histograms, when and how long.
public struct ProbeReport: Sendable {
    public var tool: String
    public var histograms: [Log2Histogram]
    public var durationSeconds: Double
    public var lostEvents: UInt64
    public var attach: String
    public var counters: [ProbeCounter]
    /// The command run under the probe (--workload), and how it ended.
    public var workload: Workload.Outcome?

    public init(tool: String, histograms: [Log2Histogram], durationSeconds: Double, lostEvents: UInt64, attach: String,
                counters: [ProbeCounter] = [], workload: Workload.Outcome? = nil) {
        self.tool = tool
        self.histograms = histograms
        self.durationSeconds = durationSeconds
        self.lostEvents = lostEvents
        self.attach = attach
        self.counters = counters
        self.workload = workload
    }

    public var json: JSONValue { json(schema: "kernelkit.probe-histograms/1") }

    /// The common fields every probe report has, then the probe's own.
    public func json(schema: String, extra: [(String, JSONValue)] = []) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("schema", .string(schema)), ("tool", .string(tool)), ("attach", .string(attach)),
            ("duration_s", .double((durationSeconds * 1000).rounded() / 1000)), ("lost_events", .int(Int(lostEvents))),
            ("workload", workload?.json ?? .null),
            ("histograms", .array(histograms.map(\.json))),
        ]
        if !counters.isEmpty {
            fields.append(("counters", .array(counters.map {
                .object([("series", .string($0.series)), ("name", .string($0.name)), ("value", .double($0.value))])
            })))
        }
        return .object(fields + extra)
    }

    public static func load(_ bytes: [UInt8], file: String) throws(KernelKitError) -> ProbeReport {
        let doc = try JSONValue.parse(bytes, file: file)
        guard case .object(let m) = doc else { throw KernelKitError(.malformedLine, "not a probe report", at: SourceLocation(file: file, line: 1)) }
        func get(_ k: String) -> JSONValue? { m.first { $0.0 == k }?.1 }
        guard case .string(let tool)? = get("tool"), case .array(let hs)? = get("histograms") else {
            throw KernelKitError(.malformedLine, "not a kernelkit probe report (needs tool and histograms)", at: SourceLocation(file: file, line: 1))
        }
        var list = [Log2Histogram]()
        for h in hs {
            do { list.append(try Log2Histogram(json: h)) } catch {
                throw KernelKitError(.malformedLine, error.message, at: SourceLocation(file: file, line: 1))
            }
        }
        var counters = [ProbeCounter]()
        if case .array(let cs)? = get("counters") {
            for c in cs {
                guard case .object(let cm) = c, case .string(let series)? = cm.first(where: { $0.0 == "series" })?.1,
                      case .string(let name)? = cm.first(where: { $0.0 == "name" })?.1 else {
                    throw KernelKitError(.malformedLine, "each counter needs a series and a name", at: SourceLocation(file: file, line: 1))
                }
                var value = 0.0
                switch cm.first(where: { $0.0 == "value" })?.1 {
                case .double(let d)?: value = d
                case .int(let i)?: value = Double(i)
                default: throw KernelKitError(.malformedLine, "counter \(name) needs a numeric value", at: SourceLocation(file: file, line: 1))
                }
                counters.append(ProbeCounter(series: series, name: name, value: value))
            }
        }
        var duration = 0.0
        if case .double(let d)? = get("duration_s") { duration = d } else if case .int(let i)? = get("duration_s") { duration = Double(i) }
        return ProbeReport(tool: tool, histograms: list, durationSeconds: duration, lostEvents: 0, attach: "", counters: counters)
    }
}
