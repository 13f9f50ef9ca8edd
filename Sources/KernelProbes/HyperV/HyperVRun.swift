import CBPFProbes
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// Running the Hyper-V probes on a live system: attach, (start the workload,) drain the
/// ring buffer into the probe's aggregator every 50 ms, stop at the duration, on a
/// signal or when the workload exits, detach.
public enum HyperVProbes {
    public struct Control {
        public var duration: Double?
        public var workload: Workload?
        public var sysfs = "/sys"
        /// When to stop besides the duration and the workload (the commands: a signal;
        /// the exporter: its shutdown).
        public var stopped: () -> Bool = { ProbeSignals.stopped }
        /// Called about once a second with the report so far (VMBusReport, StorvscReport,
        /// NetvscReport): the exporter's view of a run that does not end.
        public var progress: ((any Sendable) -> Void)? = nil
        public init(duration: Double? = nil, workload: Workload? = nil) {
            self.duration = duration
            self.workload = workload
        }
    }

    public static func monotonicNs() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    /// Why `probe` has nothing to watch here, in one line; nil when its driver is present.
    public static func absence(_ probe: String, devices: [VMBusDevice], sysfs: String = "/sys") -> String? {
        if access(sysfs + "/bus/vmbus", F_OK) != 0 {
            return "\(probe): no VMBus on this system (not a Hyper-V guest, or hv_vmbus is not loaded); nothing to trace"
        }
        switch probe {
        case "netvsc" where !devices.contains { $0.driver == "hv_netvsc" }:
            return "netvsc: no VMBus network device is bound to hv_netvsc; nothing to trace"
        case "storvsc" where !devices.contains { $0.driver == "hv_storvsc" }:
            return "storvsc: no VMBus storage device is bound to hv_storvsc; nothing to trace"
        default:
            return nil
        }
    }

    /// Loads `object`, attaches `programs`, and feeds every event to `sink` until done.
    static func stream(_ object: BPFObjectData, programs: [String], tracepoints: [String], control: Control,
                       configure: (borrowing BPFObject) -> Void = { _ in },
                       report: ((UInt64, UInt64) -> any Sendable)? = nil,
                       sink: (UnsafeBufferPointer<kk_hv_event>) -> Void) throws(KernelKitError) -> (startNs: UInt64, endNs: UInt64, lost: UInt64) {
        try BPFPreflight.check(tracepoints: tracepoints)
        // Only the variant's programs are loaded: the object holds the others' too.
        let all = try ProbeCompatibility.programs(of: object).map(\.name)
        let obj = try BPFObject(object) { (c: borrowing BPFObjectConfiguration) throws(KernelKitError) in
            for p in all { c.setAutoload(p, programs.contains(p)) }
        }
        configure(obj)
        var links = [BPFLinkBox]()
        for p in programs { links.append(BPFLinkBox(try obj.attach(p))) }
        let events = try EventStream(obj, of: kk_hv_event.self, capacity: 1 << 18)
        let start = monotonicNs()
        try control.workload?.start()
        var lastProgress = start
        while !control.stopped() {
            usleep(50_000)
            events.drain(as: kk_hv_event.self, sink)
            let now = monotonicNs()
            if let progress = control.progress, let report, now - lastProgress >= 1_000_000_000 {
                progress(report(now, obj.lostEvents + events.dropped))
                lastProgress = now
            }
            if let d = control.duration, Double(now - start) / 1e9 >= d { break }
            if control.workload?.finished == true { break }
        }
        control.workload?.terminate()
        let end = monotonicNs()
        links.removeAll()
        events.stop()
        events.drain(as: kk_hv_event.self, sink)
        return (start, end, obj.lostEvents + events.dropped)
    }

    /// The tracepoints (CATEGORY/NAME) that `programs` of `object` attach to, from their sections.
    static func tracepoints(_ programs: [String], of object: BPFObjectData) throws(KernelKitError) -> [String] {
        let sections = try ProbeCompatibility.programs(of: object)
        return sections.filter { programs.contains($0.name) && $0.section.hasPrefix("tracepoint/") }.map { String($0.section.dropFirst(11)) }
    }

    public static func vmbus(_ control: Control) throws(KernelKitError) -> VMBusReport {
        let devices = VMBus.devices(sysfs: control.sysfs)
        let programs = ProbeCatalog.named("vmbus")!.variants[0].programs
        var agg = VMBusAggregator(devices: devices, startNs: monotonicNs())
        agg.readSysfs(atStart: true, sysfs: control.sysfs)
        var lastRefresh = monotonicNs()
        let run = try stream(BPFObjects.vmbus, programs: programs, tracepoints: try tracepoints(programs, of: BPFObjects.vmbus),
                             control: control, report: { agg.report(endNs: $0, lostEvents: $1) }) { batch in
            agg.add(batch)
            // Offers during the run: their devices appear in sysfs once the driver probes;
            // looked up again at most once a second.
            if agg.needsRefresh, monotonicNs() - lastRefresh > 1_000_000_000 {
                agg.refresh(devices: VMBus.devices(sysfs: control.sysfs))
                lastRefresh = monotonicNs()
            }
        }
        if agg.needsRefresh { agg.refresh(devices: VMBus.devices(sysfs: control.sysfs)) }
        agg.readSysfs(atStart: false, sysfs: control.sysfs)
        var report = agg.report(endNs: run.endNs, lostEvents: run.lost, workload: control.workload?.outcome)
        report.startNs = run.startNs
        return report
    }

    public static func netvsc(_ control: Control) throws(KernelKitError) -> NetvscReport {
        let devices = VMBus.devices(sysfs: control.sysfs)
        let interfaces = devices.filter { $0.driver == "hv_netvsc" }.flatMap(\.interfaces)
        let programs = ProbeCatalog.named("netvsc")!.variants[0].programs
        var agg = NetvscAggregator(startNs: monotonicNs())
        let before = Dictionary(uniqueKeysWithValues: interfaces.map { ($0, (try? EthtoolStats.read($0)) ?? [:]) })
        let run = try stream(BPFObjects.netvsc, programs: programs, tracepoints: try tracepoints(programs, of: BPFObjects.netvsc),
                             control: control, configure: { obj in
            for name in interfaces {
                var key = Array(name.utf8.prefix(15))
                key += [UInt8](repeating: 0, count: 16 - key.count)
                _ = obj.withMap("interfaces") { $0.update(key: key, value: [1, 0, 0, 0]) }
            }
        }, report: { agg.report(endNs: $0, lostEvents: $1) }) { agg.add($0) }
        var delta = [String: [String: UInt64]]()
        for name in interfaces {
            guard let after = try? EthtoolStats.read(name) else { continue }
            delta[name] = after.mapValues { _ in 0 }
            for (k, v) in after { delta[name]![k] = v &- (before[name]?[k] ?? 0) }
        }
        var report = agg.report(endNs: run.endNs, lostEvents: run.lost, workload: control.workload?.outcome, ethtool: delta)
        report.startNs = run.startNs
        return report
    }

    /// SCSI addresses (host:channel:target:lun) of storvsc's disks → their block device.
    public static func storvscDisks(devices: [VMBusDevice], sysfs: String = "/sys") -> [String: String] {
        var names = [String: String]()
        let hosts = Set(devices.filter { $0.driver == "hv_storvsc" }.flatMap(\.scsiHosts))
        for address in VMBus.entries(sysfs + "/class/scsi_disk") {
            guard let h = address.split(separator: ":").first.flatMap({ Int($0) }), hosts.contains(h) else { continue }
            if let disk = VMBus.entries("\(sysfs)/class/scsi_disk/\(address)/device/block").first { names[address] = disk }
        }
        return names
    }

    /// fentry where the kernel allows it, then kprobes; else the block tracepoints on
    /// storvsc's disks. Lockdown (integrity and up) refuses both.
    public static func storvsc(_ control: Control, lockdown: String) throws(KernelKitError) -> StorvscReport {
        let devices = VMBus.devices(sysfs: control.sysfs)
        let disks = storvscDisks(devices: devices, sysfs: control.sysfs)
        let variants = ProbeCatalog.named("storvsc")!.variants
        if lockdown == "none" {
            for v in variants where v.attach == "fentry" || v.attach == "kprobe" {
                do throws(KernelKitError) {
                    var agg = StorvscAggregator(diskNames: disks, startNs: monotonicNs())
                    let run = try stream(BPFObjects.storvsc, programs: v.programs, tracepoints: [], control: control,
                                         report: { agg.report(endNs: $0, lostEvents: $1) }) { agg.add($0) }
                    var report = agg.report(endNs: run.endNs, lostEvents: run.lost, workload: control.workload?.outcome)
                    report.attach = v.attach
                    report.startNs = run.startNs
                    return report
                } catch {
                    if error.code != .bpf { throw error }
                }
            }
        }
        let fallback = variants.first { $0.attach == "block tracepoints" }!
        var options = BlockProbe.Options()
        options.perDisk = true
        let wanted = Set(disks.values)
        let start = monotonicNs()
        let (histograms, lost) = try BlockProbe.run(.biolatency, options: options) { (object: borrowing BPFObject, _: String) throws(KernelKitError) in
            try control.workload?.start()
            var lastProgress = start
            while !control.stopped() {
                usleep(50_000)
                let now = monotonicNs()
                if let progress = control.progress, now - lastProgress >= 1_000_000_000 {
                    var r = StorvscReport(disks: [], attach: "block tracepoints", limitation: fallback.limitation, unmatched: 0,
                                          startNs: start, endNs: now, lostEvents: BlockProbe.counters(object).lost)
                    r.fallbackHistograms = BlockProbe.histograms(object, tool: .biolatency, options: options, clear: false)
                        .filter { wanted.contains($0.disk ?? "") }
                    progress(r)
                    lastProgress = now
                }
                if let d = control.duration, Double(now - start) / 1e9 >= d { break }
                if control.workload?.finished == true { break }
            }
            control.workload?.terminate()
            return (BlockProbe.histograms(object, tool: .biolatency, options: options, clear: false), BlockProbe.counters(object).lost)
        }
        var report = StorvscReport(disks: [], attach: "block tracepoints", limitation: fallback.limitation, unmatched: 0,
                                   startNs: start, endNs: monotonicNs(), lostEvents: lost, workload: control.workload?.outcome)
        report.fallbackHistograms = histograms.filter { wanted.contains($0.disk ?? "") }
        return report
    }
}
