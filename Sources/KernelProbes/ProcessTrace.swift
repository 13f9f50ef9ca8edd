import CBPFProbes
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// A process seen by the process probe: forked, executed, exited.
public struct TracedProcess: Sendable, Equatable {
    public var pid: Int
    /// The parent, from the fork (nil when the process was already running).
    public var ppid: Int?
    /// The command name after its last exec (the kernel's `comm`, 15 bytes at most).
    public var comm: String
    /// The files it executed, in order.
    public var executed: [String]
    /// argv[0] of its last exec: what it was run as (busybox applets all execute
    /// /bin/busybox or /proc/self/exe).
    public var argv0: String?
    /// CLOCK_MONOTONIC microseconds of the fork, the first exec and the exit.
    public var forked: Int?
    public var exec: Int?
    public var exited: Int?
    /// The exit status as waitpid(2) reports it: status << 8, or the signal.
    public var exitCode: Int?
}

/// Every process started, executed or ended while the probe is attached: the
/// `sched_process_fork`, `sched_process_exec` and `sched_process_exit` tracepoints,
/// one ring-buffer event each (process.bpf.c).
public struct ProcessTrace: Sendable {
    public var processes: [TracedProcess]
    /// Events the BPF side or the ring-buffer reader had to drop.
    public var lostEvents: UInt64

    public static let tracepoints = ["sched/sched_process_fork", "sched/sched_process_exec", "sched/sched_process_exit"]

    /// Attaches the probe, calls `attached` once the programs are in place (for a
    /// caller that must say it is ready, such as a systemd unit of Type=notify), then
    /// collects until `done` returns true (asked every 50 ms), and detaches.
    public static func record(attached: () -> Void = {}, until done: () -> Bool) throws(KernelKitError) -> ProcessTrace {
        try BPFPreflight.check(tracepoints: tracepoints)
        let object = try BPFObject(BPFObjects.process) { (_: borrowing BPFObjectConfiguration) throws(KernelKitError) in }
        var links = [BPFLinkBox]()
        for program in ["process_fork", "process_exec", "process_exit"] {
            links.append(BPFLinkBox(try object.attach(program)))
        }
        let stream = try EventStream(object, of: kk_proc_event.self)
        attached()
        var events = [kk_proc_event]()
        while !done() {
            usleep(50_000)
            events += stream.drain(as: kk_proc_event.self)
        }
        stream.stop()
        events += stream.drain(as: kk_proc_event.self)
        links.removeAll()
        let bss = object.globalData(".bss")
        let lost = bss.count >= 8 ? bss.withUnsafeBytes { $0.load(as: UInt64.self) } : 0
        return ProcessTrace(events: events, lostEvents: lost + stream.dropped)
    }

    /// Folds the events into processes, in the order they first appeared.
    public init(events: [kk_proc_event], lostEvents: UInt64 = 0) {
        var all = [TracedProcess]()
        var current = [Int: Int]() // pid → its live process in `all`
        func index(_ pid: Int) -> Int {
            if let i = current[pid] { return i }
            all.append(TracedProcess(pid: pid, ppid: nil, comm: "", executed: [], argv0: nil, forked: nil, exec: nil,
                                     exited: nil, exitCode: nil))
            current[pid] = all.count - 1
            return all.count - 1
        }
        for e in events {
            let pid = Int(e.pid), time = Int(e.ts_ns / 1000)
            let comm = withUnsafeBytes(of: e.comm) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            switch e.kind {
            case UInt32(KK_PROC_FORK):
                // A pid reused after an exit is a new process.
                if let i = current[pid], all[i].exited != nil { current[pid] = nil }
                let i = index(pid)
                all[i].ppid = Int(e.ppid)
                all[i].forked = time
                all[i].comm = comm
            case UInt32(KK_PROC_EXEC):
                let i = index(pid)
                all[i].executed.append(withUnsafeBytes(of: e.filename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
                if all[i].exec == nil { all[i].exec = time }
                let arg0 = withUnsafeBytes(of: e.arg0) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                all[i].argv0 = arg0.isEmpty ? nil : arg0
                all[i].comm = comm
            case UInt32(KK_PROC_EXIT):
                let i = index(pid)
                all[i].exited = time
                all[i].exitCode = Int(e.exit_code)
                if all[i].comm.isEmpty { all[i].comm = comm }
            default:
                continue
            }
        }
        // A fork event is also sent for each new thread: a task that neither executed
        // nor exited as a thread-group leader was a thread, not a process.
        processes = all.filter { !$0.executed.isEmpty || $0.exited != nil }
        self.lostEvents = lostEvents
    }

    /// The `processes` list of `kernelkit.boot-timeline/1`.
    public var json: JSONValue {
        .array(processes.map { p in
            .object([("pid", .int(p.pid)), ("ppid", p.ppid.map { .int($0) } ?? .null), ("comm", .string(p.comm)),
                     ("executed", .array(p.executed.map { .string($0) })), ("argv0", p.argv0.map { .string($0) } ?? .null),
                     ("fork_us", p.forked.map { .int($0) } ?? .null), ("exec_us", p.exec.map { .int($0) } ?? .null),
                     ("exit_us", p.exited.map { .int($0) } ?? .null), ("exit_code", p.exitCode.map { .int($0) } ?? .null)])
        })
    }
}
