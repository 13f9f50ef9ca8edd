import KernelKitCore
import KernelProbes
#if canImport(Glibc)
import Glibc
#endif

/// `kernelkit boot trace`: records user space with BPF from as early as it runs (every
/// process started, with its parent, what it executed and when it ended) until a
/// condition holds, then adds it to the kernel's part of the boot (`boot report`).
public struct BootTrace: Sendable {
    /// When to stop recording.
    public enum Until: Sendable {
        /// A path exists (a file the last boot step creates, a socket, a mount point).
        case path(String)
        case seconds(Double)
        /// A systemd unit is active (or has failed), asked of systemd over D-Bus.
        case unit(String)
    }

    public var until: [Until]
    public var sources: BootSources

    public init(until: [Until], sources: BootSources = BootSources()) {
        self.until = until
        self.sources = sources
    }

    /// Records until any of the conditions holds (a limit of 600 s when none is given),
    /// calling `attached` once the probe is in place.
    public func run(attached: () -> Void = {}) throws(KernelKitError) -> BootTimeline {
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let conditions = until.isEmpty ? [.seconds(600)] : until
        let units = conditions.compactMap { if case .unit(let u) = $0 { u } else { nil } }
        let watch = units.isEmpty ? nil : try SystemdUnitWatch(units)
        let trace = try ProcessTrace.record(attached: attached) {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let elapsed = Double(now.tv_sec - start.tv_sec) + Double(now.tv_nsec - start.tv_nsec) / 1e9
            return conditions.contains { condition in
                switch condition {
                case .path(let p): access(p, F_OK) == 0
                case .seconds(let s): elapsed >= s
                case .unit: watch!.done()
                }
            }
        }
        var result = timeline(with: trace)
        if let r = watch?.reached, r.state == "failed" {
            result.warnings.append("stopped because \(r.unit) failed (--until-unit waits for it to become active)")
        }
        return result
    }

    /// From an initramfs: attaches the probe and pins it (bpffs), then returns; the
    /// programs record across the switch of root until ``finish()``.
    public static func handOver() throws(KernelKitError) {
        try ProcessTrace.handOver()
    }

    /// Detaches the probe a ``handOver()`` left (from the initramfs, or an earlier unit)
    /// and reports the whole boot with what it recorded.
    public func finish() throws(KernelKitError) -> BootTimeline {
        timeline(with: try ProcessTrace.collectHandedOver())
    }

    func timeline(with trace: ProcessTrace) -> BootTimeline {
        var timeline = sources.timeline()
        timeline.sources.append("bpf")
        timeline.processes = trace.processes.map { p in
            BootTimeline.Process(pid: p.pid, ppid: p.ppid, comm: p.comm, executed: p.executed, argv0: p.argv0,
                                 start: p.forked ?? p.exec ?? p.exited ?? 0, end: p.exited, exitCode: p.exitCode,
                                 ioRequests: p.ioRequests, ioBytes: p.ioBytes)
        }
        timeline.modules = trace.modules
        timeline.io = trace.ioTimeline
        timeline.unavailable.removeAll { $0.what == "processes" }
        for u in trace.unavailable { timeline.unavailable.append(BootTimeline.Unavailable(what: u.what, reason: u.reason)) }
        if trace.lostEvents > 0 {
            timeline.warnings.append("the process probe lost \(trace.lostEvents) events (the ring buffer was full)")
        }
        return timeline
    }
}
