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
    /// Block I/O it submitted (bios, block_bio_queue on its tasks), and their bytes.
    public var ioRequests: Int = 0
    public var ioBytes: Int = 0
}

/// A module loaded while the probe was attached, with its init's time and result.
public struct TracedModule: Sendable, Equatable {
    public var name: String
    /// The process that loaded it (modprobe, insmod, udev's worker).
    public var pid: Int
    /// CLOCK_MONOTONIC µs of module_load and of the init's start; the init's duration.
    public var loaded: Int
    public var initStart: Int
    public var initDuration: Int
    public var ret: Int

    public init(name: String, pid: Int, loaded: Int, initStart: Int, initDuration: Int, ret: Int) {
        self.name = name
        self.pid = pid
        self.loaded = loaded
        self.initStart = initStart
        self.initDuration = initDuration
        self.ret = ret
    }
}

/// The block I/O of one 50 ms stretch of CLOCK_MONOTONIC (all processes together).
public struct IOBucket: Sendable, Equatable {
    /// µs since boot.
    public var start: Int
    public var requests: Int
    public var bytes: Int
    /// The width of every bucket, µs.
    public static let width = Int(KK_IO_BUCKET_NS / 1000)

    public init(start: Int, requests: Int, bytes: Int) {
        self.start = start
        self.requests = requests
        self.bytes = bytes
    }
}

/// Every process started, executed or ended while the probe is attached: the
/// `sched_process_fork`, `sched_process_exec` and `sched_process_exit` tracepoints,
/// one ring-buffer event each (process.bpf.c); the modules loaded meanwhile, with their
/// init times; and the block I/O each process issued.
public struct ProcessTrace: Sendable {
    public var processes: [TracedProcess]
    public var modules: [TracedModule]
    /// Events the BPF side or the ring-buffer reader had to drop.
    public var lostEvents: UInt64
    /// What this kernel could not trace, and why (no module_load without CONFIG_MODULES).
    public var unavailable: [(what: String, reason: String)] = []
    /// The bios over time, in 50 ms buckets (only those with I/O).
    public var ioTimeline: [IOBucket] = []

    /// The programs every kernel must have the tracepoints of, and their tracepoints.
    public static let programs = ["process_fork", "process_exec", "process_exit"]
    public static let tracepoints = ["sched/sched_process_fork", "sched/sched_process_exec", "sched/sched_process_exit"]
    /// The ones attached where the kernel has them: (what they record, programs, tracepoints).
    public static let optional: [(what: String, programs: [String], tracepoints: [String])] = [
        ("modules", ["module_load", "initcall_start", "initcall_finish"],
         ["module/module_load", "initcall/initcall_start", "initcall/initcall_finish"]),
        ("block I/O per process", ["block_bio_queue"], ["block/block_bio_queue"]),
    ]
    static var allPrograms: [String] { programs + optional.flatMap(\.programs) }

    /// The programs to attach here: the required ones and the optional ones whose
    /// tracepoints this kernel has (a program that cannot be relocated would fail the
    /// whole load); and what is left out, with why.
    static func available() throws(KernelKitError) -> (programs: [String], unavailable: [(what: String, reason: String)]) {
        try BPFPreflight.check(tracepoints: tracepoints)
        var chosen = programs, unavailable = [(what: String, reason: String)]()
        for o in optional {
            if let missing = o.tracepoints.first(where: { access("/sys/kernel/tracing/events/" + $0, F_OK) != 0 }) {
                unavailable.append((o.what, "the kernel has no \(missing) tracepoint" + (o.what == "modules" ? " (built without CONFIG_MODULES?)" : "")))
            } else {
                chosen += o.programs
            }
        }
        return (chosen, unavailable)
    }

    static func load(_ wanted: [String]) throws(KernelKitError) -> BPFObject {
        try BPFObject(BPFObjects.process) { (c: borrowing BPFObjectConfiguration) throws(KernelKitError) in
            for p in allPrograms { c.setAutoload(p, wanted.contains(p)) }
        }
    }

    /// Attaches the probe, calls `attached` once the programs are in place (for a
    /// caller that must say it is ready, such as a systemd unit of Type=notify), then
    /// collects until `done` returns true (asked every 50 ms), and detaches.
    public static func record(attached: () -> Void = {}, until done: () -> Bool) throws(KernelKitError) -> ProcessTrace {
        let (chosen, unavailable) = try available()
        let object = try load(chosen)
        var links = [BPFLinkBox]()
        for program in chosen {
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
        let lost = object.lostEvents
        let io = object.withMap("io") { $0.entries(UInt32.self, kk_proc_io.self) } ?? []
        let ioTime = object.withMap("io_time") { $0.entries(UInt32.self, kk_proc_io.self) } ?? []
        var trace = ProcessTrace(events: events, io: io.map { ($0.0, $0.1[0]) }, lostEvents: lost + stream.dropped)
        trace.ioTimeline = Self.buckets(ioTime.map { ($0.0, $0.1[0]) })
        trace.unavailable = unavailable
        return trace
    }

    /// Where a handed-over trace is pinned (bpffs): its programs' links and its maps.
    public static let pinDirectory = "/sys/fs/bpf/kernelkit-boot-trace"
    static let pinnedMaps = ["events", ".bss", "io", "io_time"]

    /// Attaches the probe and pins its links and maps at `directory`, then returns: the
    /// programs stay attached after this process exits (an initramfs hook, before the
    /// switch of root), recording into the pinned ring buffer until
    /// ``collectHandedOver(from:)`` reads it.
    public static func handOver(to directory: String = pinDirectory) throws(KernelKitError) {
        try BPFPreflight.check(tracepoints: tracepoints)
        try BPFPreflight.ensureBPFFS(under: directory)
        if access(directory, F_OK) == 0 {
            throw KernelKitError(.bpf, "a boot trace is already handed over at \(directory): collect it first (kernelkit boot trace --finish)")
        }
        guard mkdir(directory, 0o700) == 0 else {
            throw KernelKitError(.bpf, "cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        do {
            let chosen = try available().programs
            let object = try load(chosen)
            for map in pinnedMaps { try object.pinMap(map, at: "\(directory)/\(pinName(map))") }
            for program in chosen { try object.attach(program).pin(at: "\(directory)/link-\(program)") }
        } catch {
            removePins(directory)
            throw error
        }
    }

    /// Detaches a handed-over probe and reads everything it recorded since, then removes
    /// its pins.
    public static func collectHandedOver(from directory: String = pinDirectory) throws(KernelKitError) -> ProcessTrace {
        guard access("\(directory)/\(pinName("events"))", F_OK) == 0 else {
            throw KernelKitError(.fileNotFound, "no boot trace was handed over (nothing pinned at \(directory)): start one with kernelkit boot trace --handover")
        }
        let events = try PinnedMap("\(directory)/\(pinName("events"))")
        let bss = try PinnedMap("\(directory)/\(pinName(".bss"))")
        let io = try PinnedMap("\(directory)/\(pinName("io"))")
        // A trace handed over by an older kernelkit has no io_time.
        let ioTime = try? PinnedMap("\(directory)/\(pinName("io_time"))")
        // The links first: once unpinned nothing holds them, so the programs detach and
        // the ring buffer stops growing.
        for program in allPrograms { unlink("\(directory)/link-\(program)") }
        let stream = try EventStream(ringBuffer: events.fd, of: kk_proc_event.self, capacity: 1 << 20)
        stream.stop()
        let recorded = stream.drain(as: kk_proc_event.self)
        let lost = bss.value(key: 0, size: 8).map { $0.withUnsafeBytes { $0.load(as: UInt64.self) } } ?? 0
        let counts = io.entries(UInt32.self, kk_proc_io.self)
        let timed = ioTime?.entries(UInt32.self, kk_proc_io.self) ?? []
        removePins(directory)
        var trace = ProcessTrace(events: recorded, io: counts, lostEvents: lost + stream.dropped)
        trace.ioTimeline = Self.buckets(timed)
        // The same kernel: what --handover could not attach, it cannot now either.
        trace.unavailable = (try? available().unavailable) ?? []
        return trace
    }

    /// The io_time map's entries as buckets in time order.
    static func buckets(_ entries: [(UInt32, kk_proc_io)]) -> [IOBucket] {
        entries.map { IOBucket(start: Int($0.0) * IOBucket.width, requests: Int($0.1.requests), bytes: Int($0.1.bytes)) }
            .sorted { $0.start < $1.start }
    }

    /// ".bss" → "bss": a pin's file name.
    static func pinName(_ map: String) -> String { map.hasPrefix(".") ? String(map.dropFirst()) : map }

    static func removePins(_ directory: String) {
        for program in allPrograms { unlink("\(directory)/link-\(program)") }
        for map in pinnedMaps { unlink("\(directory)/\(pinName(map))") }
        rmdir(directory)
    }

    /// Folds the events into processes, in the order they first appeared, with each
    /// process's block I/O (`io`: tgid and its counts, as the `io` map holds them).
    public init(events: [kk_proc_event], io: [(UInt32, kk_proc_io)] = [], lostEvents: UInt64 = 0) {
        var modules = [TracedModule]()
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
            case UInt32(KK_PROC_MODULE):
                let name = withUnsafeBytes(of: e.filename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                let (initNs, loadedNs) = withUnsafeBytes(of: e.arg0) { ($0.loadUnaligned(as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
                modules.append(TracedModule(name: name, pid: pid, loaded: Int(loadedNs / 1000), initStart: time,
                                            initDuration: Int(initNs / 1000), ret: Int(Int32(bitPattern: e.exit_code))))
                continue
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
        for (tgid, counts) in io {
            // The process live at the end with that pid; else the last one that had it.
            if let i = current[Int(tgid)] ?? all.lastIndex(where: { $0.pid == Int(tgid) }) {
                all[i].ioRequests += Int(counts.requests)
                all[i].ioBytes += Int(counts.bytes)
            }
        }
        processes = all.filter { !$0.executed.isEmpty || $0.exited != nil }
        self.modules = modules
        self.lostEvents = lostEvents
    }

    /// The `processes` list of `kernelkit.boot-timeline/1`.
    public var json: JSONValue {
        .array(processes.map { p in
            .object([("pid", .int(p.pid)), ("ppid", p.ppid.map { .int($0) } ?? .null), ("comm", .string(p.comm)),
                     ("executed", .array(p.executed.map { .string($0) })), ("argv0", p.argv0.map { .string($0) } ?? .null),
                     ("fork_us", p.forked.map { .int($0) } ?? .null), ("exec_us", p.exec.map { .int($0) } ?? .null),
                     ("exit_us", p.exited.map { .int($0) } ?? .null), ("exit_code", p.exitCode.map { .int($0) } ?? .null),
                     ("io_requests", .int(p.ioRequests)), ("io_bytes", .int(p.ioBytes))])
        })
    }
}
