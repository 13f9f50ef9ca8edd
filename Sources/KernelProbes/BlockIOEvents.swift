import CBPFProbes
import KernelKitCore

/// One block request as biosnoop reports it: a ring-buffer event (`struct kk_event`,
/// probes.h) with its time relative to the first event and its disk named.
public struct BlockIOEvent: Sendable {
    public var time: Double
    public var comm: String
    public var pid: Int
    public var disk: String
    public var operation: String
    public var sync: Bool
    public var sector: Int
    public var bytes: Int
    public var latencyNanoseconds: UInt64

    public init(_ e: kk_event, since firstNanoseconds: UInt64, disk: String) {
        time = Double(e.ts_ns - firstNanoseconds) / 1e9
        comm = withUnsafeBytes(of: e.comm) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        pid = Int(e.pid)
        self.disk = disk
        operation = BlockProbe.operations[Int(min(e.op, 4))]
        sync = e.sync != 0
        sector = Int(e.sector)
        bytes = Int(e.bytes)
        latencyNanoseconds = e.latency_ns
    }

    /// Events folded into biolatency's and bitesize's histograms (per disk and
    /// operation), with exact sums: what biosnoop's Prometheus metrics are made of.
    public struct Histograms: Sendable {
        var latency: [String: LatencySeries] = [:]
        var size: [String: LatencySeries] = [:]
        public init() {}

        public mutating func add(_ e: BlockIOEvent) {
            let key = e.disk + "\u{0}" + e.operation
            latency[key, default: LatencySeries()].add(slot: VMBusAggregator.slot(e.latencyNanoseconds / 1000), Double(e.latencyNanoseconds) / 1000)
            size[key, default: LatencySeries()].add(slot: VMBusAggregator.slot(UInt64(e.bytes) / 1024), Double(e.bytes) / 1024)
        }

        public var histograms: [Log2Histogram] {
            func list(_ m: [String: LatencySeries], _ unit: String) -> [Log2Histogram] {
                m.keys.sorted().map { key in
                    let parts = key.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
                    return Log2Histogram(disk: parts[0], op: parts[1], unit: unit, counts: m[key]!.counts, sum: m[key]!.sum)
                }
            }
            return list(latency, "usecs") + list(size, "kbytes")
        }
    }

    /// The header of the text form, in the columns of bcc's biosnoop.
    public static let textHeader = "TIME(s)     COMM             PID     DISK      T SECTOR       BYTES    LAT(ms)\n"

    /// One row of the text form.
    public var textRow: String {
        fixedPoint(time, decimals: 6).leftAligned(11) + " " + comm.leftAligned(16) + " " + String(pid).leftAligned(7) + " "
            + disk.leftAligned(9) + " " + operation.prefix(1).uppercased() + " " + String(sector).leftAligned(12) + " "
            + String(bytes).leftAligned(8) + " " + fixedPoint(Double(latencyNanoseconds) / 1e6, decimals: 3).rightAligned(7) + "\n"
    }

    /// One event of the `kernelkit.probe-events/1` report (docs/probe.md).
    public var json: JSONValue {
        .object([("time_s", .double((time * 1e6).rounded() / 1e6)), ("comm", .string(comm)),
                 ("pid", .int(pid)), ("disk", .string(disk)), ("op", .string(operation)),
                 ("sync", .bool(sync)), ("sector", .int(sector)),
                 ("bytes", .int(bytes)), ("latency_us", .double(Double(latencyNanoseconds / 100) / 10))])
    }

    /// The whole `kernelkit.probe-events/1` report.
    public static func report(_ events: [JSONValue], attach: String, lost: UInt64, workload: Workload.Outcome? = nil) -> JSONValue {
        .object([("schema", "kernelkit.probe-events/1"), ("tool", "biosnoop"), ("attach", .string(attach)),
                 ("lost_events", .int(Int(lost))), ("workload", workload?.json ?? .null), ("events", .array(events))])
    }
}
