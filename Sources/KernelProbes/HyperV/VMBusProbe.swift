import CBPFProbes
import KernelKitCore

/// One VMBus channel over a run: from the probe's events, labelled through sysfs and the
/// offers seen while running. A relid rescinded and offered again is a new channel.
public struct VMBusChannelStats: Sendable {
    public var relid: UInt32
    public var device: String
    public var instance: String?
    public var subChannel: Int?
    public var targetCPU: Int?
    /// Monotonic ns of the offer or rescind, when they happened during the run.
    public var offeredNs: UInt64?
    public var rescindedNs: UInt64?
    /// vmbus_chan_sched: the ISR found the channel pending.
    public var interrupts: UInt64 = 0
    /// vmbus_on_event: the tasklet ran the channel's callback.
    public var tasklets: UInt64 = 0
    /// vmbus_setevent: the guest signalled the host.
    public var hostSignals: UInt64 = 0
    /// Tasklet runs with no interrupt before them in the run (their interrupt came
    /// before the start, or was lost).
    public var unpairedTasklets: UInt64 = 0
    /// Per CPU: interrupts, tasklet runs, host signals (flat: cpu × 3 + kind, so that
    /// counting an event allocates nothing).
    var cpuCounts: [UInt64] = []
    public var perCPU: [Int: [UInt64]] {
        var out = [Int: [UInt64]]()
        for cpu in 0..<(cpuCounts.count / 3) where cpuCounts[cpu * 3] + cpuCounts[cpu * 3 + 1] + cpuCounts[cpu * 3 + 2] > 0 {
            out[cpu] = Array(cpuCounts[(cpu * 3)..<(cpu * 3 + 3)])
        }
        return out
    }

    mutating func count(cpu: Int, _ kind: Int) {
        if cpu * 3 + kind >= cpuCounts.count { cpuCounts += [UInt64](repeating: 0, count: cpu * 3 + 3 - cpuCounts.count) }
        cpuCounts[cpu * 3 + kind] += 1
    }
    /// log2 ns from the first interrupt that scheduled the tasklet to its run.
    public var latency = [UInt64](repeating: 0, count: Int(KK_MAX_SLOTS))
    /// The latencies' exact sum, ns.
    public var latencySumNs: UInt64 = 0
    /// sysfs channels/N/interrupts and events at start and at the end, when readable.
    public var sysfsBefore: (interrupts: UInt64, events: UInt64)?
    public var sysfsAfter: (interrupts: UInt64, events: UInt64)?
    var pendingSince: UInt64?

    public var label: String { "relid \(relid) \(device)" + (subChannel.map { $0 > 0 ? " sub \($0)" : "" } ?? "") }
}

/// Folds the vmbus probe's events (vmbus.bpf.c) into per-channel figures. Incremental:
/// a live run adds each drained batch, a test adds a recorded stream.
public struct VMBusAggregator: Sendable {
    public private(set) var channels: [VMBusChannelStats] = []
    /// relid → index in `channels` of the channel it names now.
    private var current: [UInt32: Int] = [:]
    /// The same for small relids, as an array: a lookup per event without hashing.
    private var fast = [Int](repeating: -1, count: 1024)
    private let devices: [VMBusDevice]
    public let startNs: UInt64
    public private(set) var events: UInt64 = 0

    /// `devices` from sysfs at the start label the relids already offered.
    public init(devices: [VMBusDevice], startNs: UInt64) {
        self.devices = devices
        self.startNs = startNs
        for d in devices {
            for relid in d.channels.keys.sorted() {
                setCurrent(relid, channels.count)
                channels.append(VMBusChannelStats(relid: relid, device: d.kind, instance: d.instance,
                                                  subChannel: relid == d.primaryRelid ? 0 : nil, targetCPU: d.channels[relid]))
            }
        }
    }

    /// Channels offered during the run whose sysfs entries were not there yet.
    public var needsRefresh: Bool {
        current.values.contains { channels[$0].targetCPU == nil || channels[$0].device == "unknown device" }
    }

    /// Fills in what sysfs now says of the current channels: the device a relid offered
    /// mid-run belongs to, and its target CPU.
    public mutating func refresh(devices now: [VMBusDevice]) {
        for (relid, i) in current {
            guard let d = now.first(where: { $0.channels[relid] != nil && (channels[i].instance == nil || $0.instance == channels[i].instance) })
            else { continue }
            channels[i].targetCPU = d.channels[relid]
            channels[i].instance = d.instance
            channels[i].device = d.kind
        }
    }

    private mutating func channel(_ relid: UInt32) -> Int {
        if relid < 1024, fast[Int(relid)] >= 0 { return fast[Int(relid)] }
        if let i = current[relid] { return i }
        setCurrent(relid, channels.count)
        channels.append(VMBusChannelStats(relid: relid, device: "unknown device"))
        return channels.count - 1
    }

    private mutating func setCurrent(_ relid: UInt32, _ index: Int?) {
        current[relid] = index
        if relid < 1024 { fast[Int(relid)] = index ?? -1 }
    }

    public mutating func add<S: Sequence>(_ batch: S) where S.Element == kk_hv_event {
        for e in batch { add(e) }
    }

    public mutating func add(_ e: kk_hv_event) {
        events += 1
        let cpu = Int(e.cpu)
        switch e.kind {
        case UInt32(KK_HV_CHAN_SCHED):
            let i = channel(e.id)
            channels[i].interrupts += 1
            channels[i].count(cpu: cpu, 0)
            if channels[i].pendingSince == nil { channels[i].pendingSince = e.ts_ns }
        case UInt32(KK_HV_ON_EVENT):
            let i = channel(e.id)
            channels[i].tasklets += 1
            channels[i].count(cpu: cpu, 1)
            if let since = channels[i].pendingSince, e.ts_ns >= since {
                channels[i].latency[Self.slot(e.ts_ns - since)] += 1
                channels[i].latencySumNs &+= e.ts_ns - since
            } else {
                channels[i].unpairedTasklets += 1
            }
            channels[i].pendingSince = nil
        case UInt32(KK_HV_SETEVENT):
            let i = channel(e.id)
            channels[i].hostSignals += 1
            channels[i].count(cpu: cpu, 2)
        case UInt32(KK_HV_OFFER):
            let (type, instance) = withUnsafeBytes(of: e.data) { (VMBus.guid($0[0..<16]), VMBus.guid($0[16..<32])) }
            let known = devices.first { $0.instance == instance }
            if let old = current[e.id], channels[old].rescindedNs == nil, channels[old].interrupts + channels[old].tasklets > 0 {
                channels[old].rescindedNs = e.ts_ns
            }
            setCurrent(e.id, channels.count)
            channels.append(VMBusChannelStats(relid: e.id, device: known?.kind ?? VMBus.className(type), instance: instance,
                                              subChannel: Int(e.value), targetCPU: nil, offeredNs: e.ts_ns))
        case UInt32(KK_HV_RESCIND):
            let i = channel(e.id)
            channels[i].rescindedNs = e.ts_ns
            channels[i].pendingSince = nil
            setCurrent(e.id, nil)
        default:
            break
        }
    }

    /// bcc's log2 slot: 0 for 0 and 1, else floor(log2(v)), capped at the last slot.
    static func slot(_ v: UInt64) -> Int {
        v <= 1 ? 0 : min(63 - v.leadingZeroBitCount, Int(KK_MAX_SLOTS) - 1)
    }

    /// Reads the sysfs counters of every known channel, before (`atStart`) or after.
    public mutating func readSysfs(atStart: Bool, sysfs: String = "/sys") {
        for i in channels.indices {
            guard let inst = channels[i].instance,
                  let c = VMBus.channelCounters(sysfs: sysfs, device: inst, relid: channels[i].relid) else { continue }
            if atStart { channels[i].sysfsBefore = c } else { channels[i].sysfsAfter = c }
        }
    }

    public func report(endNs: UInt64, lostEvents: UInt64, workload: Workload.Outcome? = nil) -> VMBusReport {
        VMBusReport(channels: channels.filter { $0.interrupts + $0.tasklets + $0.hostSignals > 0 || $0.offeredNs != nil || $0.rescindedNs != nil },
                    startNs: startNs, endNs: endNs, lostEvents: lostEvents, workload: workload)
    }
}

/// The vmbus probe's report: per channel, rates over the channel's time in the run (from
/// its offer, or the start, to its rescind, or the end), latency histograms, per CPU.
public struct VMBusReport: Sendable {
    public var channels: [VMBusChannelStats]
    public var startNs: UInt64
    public var endNs: UInt64
    public var lostEvents: UInt64
    public var workload: Workload.Outcome?

    public var durationSeconds: Double { Double(endNs &- startNs) / 1e9 }

    /// Seconds the channel existed during the run.
    public func lifetime(_ c: VMBusChannelStats) -> Double {
        let from = max(startNs, c.offeredNs ?? startNs), to = min(endNs, c.rescindedNs ?? endNs)
        return to > from ? Double(to - from) / 1e9 : 0
    }

    public func rate(_ count: UInt64, _ c: VMBusChannelStats) -> Double {
        let t = lifetime(c)
        return t > 0 ? Double(count) / t : 0
    }

    public func histogram(_ c: VMBusChannelStats) -> Log2Histogram {
        Log2Histogram(series: c.label, unit: "nsecs", counts: c.latency, sum: Double(c.latencySumNs))
    }

    /// The report as `probe compare` reads it: histograms and counters by series.
    public var probeReport: ProbeReport {
        var counters = [ProbeCounter]()
        for c in channels {
            counters.append(ProbeCounter(series: c.label, name: "interrupts_per_second", value: rate(c.interrupts, c)))
            counters.append(ProbeCounter(series: c.label, name: "tasklets_per_second", value: rate(c.tasklets, c)))
            counters.append(ProbeCounter(series: c.label, name: "host_signals_per_second", value: rate(c.hostSignals, c)))
        }
        return ProbeReport(tool: "vmbus", histograms: channels.filter { $0.tasklets > 0 }.map(histogram), durationSeconds: durationSeconds,
                           lostEvents: lostEvents, attach: "tracepoint", counters: counters, workload: workload)
    }

    public var json: JSONValue {
        func opt(_ v: Int?) -> JSONValue { v.map { .int($0) } ?? .null }
        func us(_ ns: UInt64?) -> JSONValue { ns.map { .int(Int(($0 &- startNs) / 1000)) } ?? .null }
        let list: [JSONValue] = channels.map { c in
            var fields: [(String, JSONValue)] = [
                ("relid", .int(Int(c.relid))), ("device", .string(c.device)), ("instance", c.instance.map { .string($0) } ?? .null),
                ("sub_channel", opt(c.subChannel)), ("target_cpu", opt(c.targetCPU)),
                ("offered_us", us(c.offeredNs)), ("rescinded_us", us(c.rescindedNs)),
                ("interrupts", .int(Int(c.interrupts))), ("tasklets", .int(Int(c.tasklets))), ("host_signals", .int(Int(c.hostSignals))),
                ("unpaired_tasklets", .int(Int(c.unpairedTasklets))),
                ("interrupts_per_second", .double(rate(c.interrupts, c).rounded3)),
                ("tasklets_per_second", .double(rate(c.tasklets, c).rounded3)),
                ("host_signals_per_second", .double(rate(c.hostSignals, c).rounded3)),
                ("per_cpu", .array(c.perCPU.keys.sorted().map { cpu in
                    let v = c.perCPU[cpu]!
                    return .object([("cpu", .int(cpu)), ("interrupts", .int(Int(v[0]))), ("tasklets", .int(Int(v[1]))),
                                    ("host_signals", .int(Int(v[2])))])
                })),
                ("latency", histogram(c).json),
            ]
            if let b = c.sysfsBefore, let a = c.sysfsAfter {
                fields.append(("sysfs", .object([("interrupts", .int(Int(a.interrupts &- b.interrupts))),
                                                 ("events", .int(Int(a.events &- b.events)))])))
            }
            return .object(fields)
        }
        return probeReport.json(schema: "kernelkit.probe-vmbus/1", extra: [("channels", .array(list))])
    }

    public var text: String {
        var out = "VMBus channels over \(fixedPoint(durationSeconds, decimals: 1)) s" + (lostEvents > 0 ? ", \(lostEvents) events LOST" : "") + "\n"
        if let w = workload { out += w.line + "\n" }
        if channels.isEmpty { return out + "  (no channel activity)\n" }
        out += "RELID".rightAligned(6) + "  " + "DEVICE".leftAligned(22) + "CPU".rightAligned(4) + "INTR/s".rightAligned(11)
            + "TASKLET/s".rightAligned(11) + "SIGNAL/s".rightAligned(11) + "p50 lat".rightAligned(10) + "p99 lat".rightAligned(10) + "\n"
        for c in channels {
            let h = histogram(c)
            out += String(c.relid).rightAligned(6) + "  " + (c.device + (c.rescindedNs != nil ? " (rescinded)" : "")).leftAligned(22)
                + (c.targetCPU.map(String.init) ?? "-").rightAligned(4)
                + fixedPoint(rate(c.interrupts, c), decimals: 1).rightAligned(11) + fixedPoint(rate(c.tasklets, c), decimals: 1).rightAligned(11)
                + fixedPoint(rate(c.hostSignals, c), decimals: 1).rightAligned(11)
                + (h.percentile(0.5).map { Self.duration($0) } ?? "-").rightAligned(10)
                + (h.percentile(0.99).map { Self.duration($0) } ?? "-").rightAligned(10) + "\n"
        }
        for c in channels where c.tasklets > 0 {
            var h = histogram(c)
            h.series = "\(c.label): interrupt to tasklet"
            out += h.text()
        }
        return out
    }

    static func duration(_ ns: Double) -> String {
        ns >= 1e6 ? fixedPoint(ns / 1e6, decimals: 1) + " ms" : ns >= 1e3 ? fixedPoint(ns / 1e3, decimals: 1) + " us" : String(Int(ns)) + " ns"
    }
}

extension Double {
    var rounded3: Double { (self * 1000).rounded() / 1000 }
}
