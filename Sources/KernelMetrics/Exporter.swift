import HardeningKit
import KernelKitCore
import KernelProbes
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The long-running exporter's core, without HTTP: the chosen probes kept attached, each
/// on a thread of its own that publishes its cumulative figures; the live audit re-run
/// on another; and `scrape()`, which turns the latest of each into the text exposition
/// format through one `MetricsFeed`, so counters and histograms accumulate from attach.
/// The executable `kernelkit-exporter` serves `scrape()` as /metrics.
public final class Exporter: Sendable {
    public static let probeNames = ["biolatency", "bitesize", "vmbus", "storvsc", "netvsc"]

    /// What a probe's thread last published.
    public struct ProbeState: Sendable {
        public var attach = "none"
        public var attached = false
        public var lostEvents: UInt64 = 0
        /// The block probes' histograms (cumulative, per disk and operation).
        public var histograms: [Log2Histogram] = []
        /// The Hyper-V probes' report so far.
        public var hyperV: (any Sendable)? = nil
        /// Why it is not attached (no driver, the kernel refused).
        public var reason: String? = nil
    }

    /// The live audit's last result.
    public struct AuditState: Sendable {
        public var check: HardeningCheck?
        public var passed: Bool
        public var modules: [(status: String, count: Int)]
        public var finished: Double
        public init(check: HardeningCheck?, passed: Bool, modules: [(status: String, count: Int)], finished: Double) {
            self.check = check
            self.passed = passed
            self.modules = modules
            self.finished = finished
        }
    }

    private let probes: Mutex<[String: ProbeState]> = Mutex([:])
    private let audit: Mutex<AuditState?> = Mutex(nil)
    private let feed = Mutex(MetricsFeed())
    private let stopping = Atomic<Bool>(false)
    private let threads: Mutex<[PosixThread]> = Mutex([])
    /// Lines for the log (stderr): what attached, what did not and why.
    private let log: @Sendable (String) -> Void

    public init(log: @escaping @Sendable (String) -> Void) { self.log = log }

    public var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Starts a thread per probe; each says in the log whether it attached.
    public func start(probes names: [String]) {
        for name in names {
            probes.withLock { $0[name] = ProbeState() }
            let thread = PosixThread { [self] in self.runProbe(name) }
            threads.withLock { $0.append(thread) }
            if !thread.start() { log("kernelkit exporter: \(name): the system would not start a thread for the probe (its thread or memory limit)") }
        }
    }

    /// Re-runs `run` every `interval` seconds (the first at once) until stopped.
    public func startAudit(every interval: Double, _ run: @escaping @Sendable () throws(KernelKitError) -> AuditState) {
        let thread = PosixThread { [self] in
            while !self.isStopping {
                do {
                    let state = try run()
                    self.audit.withLock { $0 = state }
                } catch {
                    self.log("kernelkit exporter: the live audit failed: \(error)")
                }
                var waited = 0.0
                while waited < interval && !self.isStopping { usleep(100_000); waited += 0.1 }
            }
        }
        threads.withLock { $0.append(thread) }
        if !thread.start() { log("kernelkit exporter: the system would not start a thread for the live audit (its thread or memory limit)") }
    }

    /// Stops every thread and waits for them: each probe detaches its links and closes
    /// its object on the way out.
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        let list = threads.withLock { t in let all = t; t.removeAll(); return all }
        for t in list { t.join() }
    }

    /// Every probe's state, for the start-up line and the tests.
    public var states: [String: ProbeState] { probes.withLock { $0 } }

    private func publish(_ name: String, _ update: (inout ProbeState) -> Void) {
        probes.withLock { all in
            var s = all[name] ?? ProbeState()
            update(&s)
            all[name] = s
        }
    }

    private func runProbe(_ name: String) {
        do throws(KernelKitError) {
            switch name {
            case "biolatency", "bitesize":
                let tool: BlockProbe.Tool = name == "biolatency" ? .biolatency : .bitesize
                var options = BlockProbe.Options()
                options.perDisk = true
                options.perOperation = true
                try BlockProbe.run(tool, options: options) { (object: borrowing BPFObject, attach: String) throws(KernelKitError) in
                    publish(name) { $0.attach = attach; $0.attached = true }
                    log("kernelkit exporter: \(name) attached (\(attach))")
                    // The maps are read four times a second: a scrape sees at most 250 ms old
                    // counts, and reading them costs microseconds.
                    while !isStopping {
                        let hs = BlockProbe.histograms(object, tool: tool, options: options, clear: false)
                        let lost = BlockProbe.counters(object).lost
                        publish(name) { $0.histograms = hs; $0.lostEvents = lost }
                        usleep(250_000)
                    }
                }
            case "vmbus", "storvsc", "netvsc":
                if let why = HyperVProbes.absence(name, devices: VMBus.devices()) {
                    publish(name) { $0.reason = why }
                    log("kernelkit exporter: \(why)")
                    return
                }
                var control = HyperVProbes.Control()
                control.stopped = { [self] in self.isStopping }
                control.progress = { [self] report in
                    self.publish(name) { s in
                        s.hyperV = report
                        s.attached = true
                        if let r = report as? VMBusReport { s.lostEvents = r.lostEvents; s.attach = "tracepoint" }
                        if let r = report as? NetvscReport { s.lostEvents = r.lostEvents; s.attach = "tracepoint" }
                        if let r = report as? StorvscReport { s.lostEvents = r.lostEvents; s.attach = r.attach }
                    }
                }
                log("kernelkit exporter: \(name) attaching")
                switch name {
                case "vmbus": _ = try HyperVProbes.vmbus(control)
                case "netvsc": _ = try HyperVProbes.netvsc(control)
                default: _ = try HyperVProbes.storvsc(control, lockdown: ProbeAvailability.System.current().lockdown)
                }
            default:
                publish(name) { $0.reason = "no such probe" }
            }
        } catch {
            publish(name) { $0.attached = false; $0.reason = error.message }
            log("kernelkit exporter: \(name) could not attach: \(error)")
        }
    }

    /// The metrics now, in the text exposition format 0.0.4.
    public func scrape() -> [UInt8] {
        let probes = self.probes.withLock { $0 }
        let audit = self.audit.withLock { $0 }
        return feed.withLock { feed in
            for name in probes.keys.sorted() {
                let s = probes[name]!
                feed.probe(name, attach: s.attach, attached: s.attached, lostEvents: s.lostEvents)
                if !s.histograms.isEmpty { feed.block(s.histograms) }
                if let r = s.hyperV as? VMBusReport { feed.vmbus(r) }
                if let r = s.hyperV as? StorvscReport { feed.storvsc(r) }
                if let r = s.hyperV as? NetvscReport { feed.netvsc(r) }
            }
            if let audit {
                if let check = audit.check { HardeningMetrics.record(check, into: feed.registry) }
                HardeningMetrics.gauge(feed.registry, "audit_pass", help: "1 when the audit passes (nothing at or above --fail-on fails), else 0", [])
                    .set(to: audit.passed ? 1 : 0)
                HardeningMetrics.recordModules(audit.modules, into: feed.registry)
                HardeningMetrics.gauge(feed.registry, "last_run_timestamp", unit: "seconds",
                                       help: "When the kernelkit command that wrote this file ended (Unix time)", [("command", "audit_live")])
                    .set(to: audit.finished)
            }
            return feed.emit()
        }
    }

    /// Unix time now, for `AuditState.finished`.
    public static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}
