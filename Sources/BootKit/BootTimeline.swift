import KernelKitCore
import KernelProbes

/// One boot, from firmware to user space, as far as the running system recorded it:
/// phases, kernel initcalls with their levels, driver probes, and what could not be read.
/// Its JSON form is `kernelkit.boot-timeline/1` (docs/boot.md).
public struct BootTimeline: Sendable {
    public struct Phase: Sendable, Equatable {
        public var name: String
        public var start: Int
        public var duration: Int
        /// Where it was read: `fpdt`, `trace`, `kmsg`.
        public var source: String
    }

    public struct Initcall: Sendable, Equatable {
        public var function: String
        /// The module for a loadable module's init, nil for a built-in initcall.
        public var module: String?
        /// The initcall level (`early`, `core`, … `late`, `console`) from the trace; `module`
        /// for a loadable module's init; nil when only the kernel log was read.
        public var level: String?
        public var start: Int
        public var duration: Int
        public var ret: Int
    }

    public struct DriverProbe: Sendable, Equatable {
        public var device: String
        public var start: Int
        public var duration: Int
        public var ret: Int
    }

    /// A process of user space, as `boot trace` saw it (times on CLOCK_MONOTONIC, which
    /// starts within milliseconds of printk's clock on x86 and arm64).
    public struct Process: Sendable, Equatable {
        public var pid: Int
        public var ppid: Int?
        public var comm: String
        public var executed: [String]
        /// argv[0] of its last exec.
        public var argv0: String?
        public var start: Int
        public var end: Int?
        public var exitCode: Int?
        /// Block I/O it submitted (bios), and their bytes.
        public var ioRequests: Int = 0
        public var ioBytes: Int = 0
        /// What people call it: what it was run as, else the file, else its command name.
        public var name: String { argv0 ?? executed.first ?? comm }
        public var duration: Int? { end.map { $0 - start } }
    }

    /// A module `boot trace` saw loaded (module_load), with its init's duration (µs): the
    /// process probe's own record.
    public typealias Module = TracedModule

    /// A systemd unit's activation (from leaving inactive to becoming active), as systemd
    /// recorded it.
    public typealias Unit = SystemdTimes.Unit

    /// A part of the timeline that could not be read, and why.
    public struct Unavailable: Sendable, Equatable {
        public var what: String
        public var reason: String
    }

    public var phases: [Phase] = []
    public var initcalls: [Initcall] = []
    public var probes: [DriverProbe] = []
    public var processes: [Process] = []
    public var modules: [Module] = []
    public var units: [Unit] = []
    /// Block I/O over time (`boot trace`): every process's bios in 50 ms buckets.
    public var io: [IOBucket] = []
    /// systemd's manager timestamps (µs since boot; FirmwareTimestampMonotonic … as
    /// `Firmware` …), when systemd is PID 1.
    public var systemd: [String: Int] = [:]
    public var unavailable: [Unavailable] = []
    /// Data that was read but is incomplete (lost trace events, a wrapped log).
    public var warnings: [String] = []
    public var sources: [String] = []

    public init() {}

    /// Builds the timeline from what the system left behind. Any source may be absent;
    /// each absent or unusable one is listed in ``unavailable`` with its reason.
    ///
    /// - Parameters:
    ///   - trace: the tracefs `trace` file's bytes (initcall events), or why it could not be read.
    ///   - log: the kernel log, or why it could not be read.
    ///   - fpdt: the FPDT boot record's values in nanoseconds (`firmware_start_ns` …), or why not.
    ///   - systemd: systemd's timestamps and units, or why they could not be read.
    public init(trace: Result<InitcallTrace, KernelKitError>, log: Result<KernelLog, KernelKitError>,
                fpdt: Result<[String: Int], KernelKitError>,
                systemd: Result<SystemdTimes, KernelKitError> = .failure(KernelKitError(.systemd, "not asked"))) {
        var debug: InitcallDebugLog? = nil
        switch log {
        case .success(let l):
            sources.append("kmsg")
            if let t = l.truncation { warnings.append(t) }
            debug = InitcallDebugLog(l)
            if debug!.calls.isEmpty {
                unavailable.append(Unavailable(what: "initcall_debug", reason: "the kernel log has no initcall_debug lines (boot with initcall_debug)"))
            }
        case .failure(let e):
            unavailable.append(Unavailable(what: "kernel log", reason: e.description))
        }
        var traced: InitcallTrace? = nil
        switch trace {
        case .success(let t) where !t.isEmpty:
            sources.append("trace")
            traced = t
            if t.lostEvents > 0 {
                warnings.append("the trace buffer lost \(t.lostEvents) events (entries-in-buffer < entries-written): boot with a larger trace_buf_size=")
            }
        case .success:
            unavailable.append(Unavailable(what: "initcall trace", reason: "the trace buffer has no initcall events (boot with trace_event=initcall:*, and trace_clock=global on an unstable clock)"))
        case .failure(let e):
            unavailable.append(Unavailable(what: "initcall trace", reason: e.description))
        }
        initcalls = Self.merge(trace: traced, debug: debug)
        if let debug {
            probes = debug.probes.map { DriverProbe(device: $0.device, start: $0.end - $0.duration, duration: $0.duration, ret: $0.ret) }
        }
        // Phases: firmware and loader from FPDT, then the kernel up to the hand-over to
        // user space, then user space up to the last record read.
        switch fpdt {
        case .success(let f):
            sources.append("fpdt")
            if let start = f["firmware_start_ns"], let load = f["bootloader_load_ns"], let exit = f["exitbootservice_end_ns"] {
                phases.append(Phase(name: "firmware", start: (start - exit) / 1000, duration: (load - start) / 1000, source: "fpdt"))
                phases.append(Phase(name: "loader", start: (load - exit) / 1000, duration: (exit - load) / 1000, source: "fpdt"))
            }
        case .failure(let e):
            unavailable.append(Unavailable(what: "firmware and loader (FPDT)", reason: e.description))
        }
        let lastInitcall = initcalls.filter { $0.module == nil }.map { $0.start + $0.duration }.max()
        if let run = debug?.initStart {
            phases.append(Phase(name: "kernel", start: 0, duration: run, source: "kmsg"))
            if let first = initcalls.first(where: { $0.module == nil }), let last = lastInitcall {
                phases.append(Phase(name: "initcalls", start: first.start, duration: last - first.start, source: traced != nil ? "trace" : "kmsg"))
            }
            let lastRecord = (try? log.get())?.records.last?.time ?? run
            let end = max(lastRecord, initcalls.map { $0.start + $0.duration }.max() ?? run)
            // systemd's own phases, when it is PID 1, say more than the log's last line.
            if (try? systemd.get()) == nil {
                phases.append(Phase(name: "userspace (\(debug?.initPath ?? "init"))", start: run, duration: end - run, source: "kmsg"))
            }
        } else if let first = initcalls.first, let last = lastInitcall {
            phases.append(Phase(name: "initcalls", start: first.start, duration: last - first.start, source: "trace"))
        }
        switch systemd {
        case .success(let sd):
            sources.append("systemd")
            self.systemd = sd.manager
            units = sd.units
            // As systemd-analyze time divides it (src/analyze/analyze-time-data.c): the
            // initrd from InitRD to Userspace, user space from there to Finish.
            let initrd = sd.manager["InitRD"] ?? 0, user = sd.manager["Userspace"] ?? 0, finish = sd.manager["Finish"] ?? 0
            let lastUnit = units.compactMap(\.active).max() ?? user
            if initrd > 0 && user > initrd {
                phases.append(Phase(name: "initrd (systemd)", start: initrd, duration: user - initrd, source: "systemd"))
            }
            if user > 0 {
                phases.append(Phase(name: "userspace (systemd)", start: user, duration: (finish > 0 ? finish : lastUnit) - user, source: "systemd"))
            }
            if finish == 0 {
                warnings.append("systemd has not finished starting up (FinishTimestampMonotonic is 0): user space ends at the last unit that became active")
            }
        case .failure(let e):
            unavailable.append(Unavailable(what: "systemd", reason: e.description))
        }
        unavailable.append(Unavailable(what: "processes", reason: "not traced: kernelkit boot trace records them with BPF"))
    }

    /// One list of initcalls. The trace gives levels and start times; the kernel log
    /// (initcall_debug) gives the kernel's own durations (ktime deltas taken inside
    /// do_one_initcall(), which the trace's own time stamps would inflate by the printk
    /// of the `calling` line) and the names of module inits, whose symbols are gone
    /// from the trace. With only one of them, that one is used.
    static func merge(trace: InitcallTrace?, debug: InitcallDebugLog?) -> [Initcall] {
        let logged = debug?.calls ?? []
        guard let trace else {
            return logged.map { c in
                Initcall(function: c.function, module: c.module, level: c.module == nil ? nil : "module",
                         start: c.start ?? (c.end - c.duration), duration: c.duration, ret: c.ret)
            }
        }
        // Match the log's calls in order: built-ins by name, module inits by pid (one
        // insmod or modprobe process per module).
        var byName = [String: [InitcallDebugLog.Call]]()
        var byPid = [Int: [InitcallDebugLog.Call]]()
        for c in logged {
            if c.module == nil { byName[c.function, default: []].append(c) } else if let pid = c.pid { byPid[pid, default: []].append(c) }
        }
        var out = [Initcall]()
        for t in trace.calls {
            let isModule = t.function.hasPrefix("0x") || t.module != nil
            var match: InitcallDebugLog.Call? = nil
            if isModule {
                if byPid[t.pid]?.isEmpty == false { match = byPid[t.pid]!.removeFirst() }
            } else if byName[t.function]?.isEmpty == false {
                match = byName[t.function]!.removeFirst()
            }
            out.append(Initcall(function: match?.function ?? t.function, module: match?.module ?? t.module,
                                level: isModule || match?.module != nil ? "module" : t.level,
                                start: t.start, duration: match?.duration ?? (t.finish - t.start),
                                ret: match?.ret ?? t.ret))
        }
        return out
    }

    /// The whole boot's length: the end of the last phase or process.
    public var total: Int {
        max(phases.map { $0.start + $0.duration }.max() ?? 0, processes.compactMap(\.end).max() ?? 0,
            units.compactMap(\.active).max() ?? 0)
    }
}

// MARK: reports

extension BootTimeline {
    public var json: JSONValue {
        .object([
            ("schema", "kernelkit.boot-timeline/1"),
            ("sources", .array(sources.map { .string($0) })),
            ("total_us", .int(total)),
            ("phases", .array(phases.map { p in
                .object([("name", .string(p.name)), ("start_us", .int(p.start)), ("duration_us", .int(p.duration)),
                         ("source", .string(p.source))])
            })),
            ("initcalls", .array(initcalls.map { c in
                .object([("function", .string(c.function)), ("module", c.module.map { .string($0) } ?? .null),
                         ("level", c.level.map { .string($0) } ?? .null), ("start_us", .int(c.start)),
                         ("duration_us", .int(c.duration)), ("return", .int(c.ret))])
            })),
            ("driver_probes", .array(probes.map { p in
                .object([("device", .string(p.device)), ("start_us", .int(p.start)), ("duration_us", .int(p.duration)),
                         ("return", .int(p.ret))])
            })),
            ("processes", .array(processes.map { p in
                .object([("pid", .int(p.pid)), ("ppid", p.ppid.map { .int($0) } ?? .null), ("comm", .string(p.comm)),
                         ("executed", .array(p.executed.map { .string($0) })),
                         ("argv0", p.argv0.map { .string($0) } ?? .null), ("start_us", .int(p.start)),
                         ("end_us", p.end.map { .int($0) } ?? .null), ("exit_code", p.exitCode.map { .int($0) } ?? .null),
                         ("io_requests", .int(p.ioRequests)), ("io_bytes", .int(p.ioBytes))])
            })),
            ("modules", .array(modules.map { m in
                .object([("module", .string(m.name)), ("pid", .int(m.pid)), ("load_us", .int(m.loaded)),
                         ("init_start_us", .int(m.initStart)), ("init_duration_us", .int(m.initDuration)), ("return", .int(m.ret))])
            })),
            ("units", .array(unitsJSON)),
            ("io_timeline", .object([("bucket_us", .int(IOBucket.width)), ("buckets", .array(io.map { b in
                .object([("start_us", .int(b.start)), ("requests", .int(b.requests)), ("bytes", .int(b.bytes))])
            }))])),
            ("systemd", .object(systemdJSON)),
            ("unavailable", .array(unavailable.map { .object([("what", .string($0.what)), ("reason", .string($0.reason))]) })),
            ("warnings", .array(warnings.map { .string($0) })),
        ])
    }

    var unitsJSON: [JSONValue] {
        units.map { u in
            let duration: JSONValue = u.duration.map { .int($0) } ?? .null
            let active: JSONValue = u.active.map { .int($0) } ?? .null
            return .object([("unit", .string(u.name)), ("start_us", .int(u.activating)), ("duration_us", duration),
                            ("active_us", active), ("after", .array(u.after.map { .string($0) }))])
        }
    }

    var systemdJSON: [(String, JSONValue)] {
        SystemdTimes.managerTimestamps.compactMap { k in systemd[k].map { (k + "TimestampMonotonic", JSONValue.int($0)) } }
    }

    /// Reads a `kernelkit.boot-timeline/1` document (`boot compare`).
    public init(json: JSONValue, file: String) throws(KernelKitError) {
        func bad(_ why: String) -> KernelKitError {
            KernelKitError(.malformedLine, "not a kernelkit.boot-timeline/1 document: \(why)", at: SourceLocation(file: file, line: 0))
        }
        guard json.member("schema")?.stringValue == "kernelkit.boot-timeline/1" else { throw bad("no \"schema\": \"kernelkit.boot-timeline/1\"") }
        func int(_ v: JSONValue?, _ what: String) throws(KernelKitError) -> Int {
            guard case .int(let i)? = v else { throw bad("\(what) is not an integer") }
            return i
        }
        for p in json.member("phases")?.arrayValue ?? [] {
            guard let name = p.member("name")?.stringValue else { throw bad("a phase has no name") }
            phases.append(Phase(name: name, start: try int(p.member("start_us"), "start_us"),
                                duration: try int(p.member("duration_us"), "duration_us"),
                                source: p.member("source")?.stringValue ?? ""))
        }
        guard let calls = json.member("initcalls")?.arrayValue else { throw bad("no \"initcalls\" list") }
        for c in calls {
            guard let f = c.member("function")?.stringValue else { throw bad("an initcall has no function") }
            initcalls.append(Initcall(function: f, module: c.member("module")?.stringValue, level: c.member("level")?.stringValue,
                                      start: try int(c.member("start_us"), "start_us"),
                                      duration: try int(c.member("duration_us"), "duration_us"),
                                      ret: try int(c.member("return"), "return")))
        }
        for p in json.member("driver_probes")?.arrayValue ?? [] {
            guard let d = p.member("device")?.stringValue else { throw bad("a driver probe has no device") }
            probes.append(DriverProbe(device: d, start: try int(p.member("start_us"), "start_us"),
                                      duration: try int(p.member("duration_us"), "duration_us"), ret: try int(p.member("return"), "return")))
        }
        for p in json.member("processes")?.arrayValue ?? [] {
            guard let comm = p.member("comm")?.stringValue else { throw bad("a process has no comm") }
            func optional(_ key: String) throws(KernelKitError) -> Int? {
                guard let v = p.member(key), v != .null else { return nil }
                return try int(v, key)
            }
            processes.append(Process(pid: try int(p.member("pid"), "pid"), ppid: try optional("ppid"), comm: comm,
                                     executed: (p.member("executed")?.arrayValue ?? []).compactMap(\.stringValue),
                                     argv0: p.member("argv0")?.stringValue,
                                     start: try int(p.member("start_us"), "start_us"), end: try optional("end_us"),
                                     exitCode: try optional("exit_code"), ioRequests: try optional("io_requests") ?? 0,
                                     ioBytes: try optional("io_bytes") ?? 0))
        }
        for m in json.member("modules")?.arrayValue ?? [] {
            guard let name = m.member("module")?.stringValue else { throw bad("a module has no name") }
            modules.append(Module(name: name, pid: try int(m.member("pid"), "pid"), loaded: try int(m.member("load_us"), "load_us"),
                                  initStart: try int(m.member("init_start_us"), "init_start_us"),
                                  initDuration: try int(m.member("init_duration_us"), "init_duration_us"),
                                  ret: try int(m.member("return"), "return")))
        }
        for u in json.member("units")?.arrayValue ?? [] {
            guard let name = u.member("unit")?.stringValue else { throw bad("a unit has no name") }
            let active: Int? = if let v = u.member("active_us"), v != .null { try int(v, "active_us") } else { nil }
            units.append(Unit(name: name, activating: try int(u.member("start_us"), "start_us"), active: active,
                              after: (u.member("after")?.arrayValue ?? []).compactMap(\.stringValue)))
        }
        for b in json.member("io_timeline")?.member("buckets")?.arrayValue ?? [] {
            io.append(IOBucket(start: try int(b.member("start_us"), "start_us"), requests: try int(b.member("requests"), "requests"),
                               bytes: try int(b.member("bytes"), "bytes")))
        }
        sources = (json.member("sources")?.arrayValue ?? []).compactMap(\.stringValue)
    }

    /// The phases with their durations, then the `top` slowest initcalls and driver
    /// probes, then what is missing.
    public func text(top: Int = 20) -> String {
        func ms(_ us: Int) -> String { fixedPoint(Double(us) / 1000, decimals: 3) + " ms" }
        var out = "Boot: \(ms(total)) (from \(sources.isEmpty ? "nothing" : sources.joined(separator: ", ")))\n\n"
        out += "PHASE".leftAligned(28) + "START".rightAligned(14) + "DURATION".rightAligned(14) + "\n"
        for p in phases { out += p.name.leftAligned(28) + ms(p.start).rightAligned(14) + ms(p.duration).rightAligned(14) + "\n" }
        let builtIn = initcalls.filter { $0.module == nil }, modules = initcalls.filter { $0.module != nil }
        out += "\n\(initcalls.count) initcalls (\(builtIn.count) built in, \(modules.count) modules), \(ms(initcalls.reduce(0) { $0 + $1.duration })) in all"
        out += "; the \(min(top, initcalls.count)) slowest:\n"
        out += "DURATION".rightAligned(12) + "  " + "LEVEL".leftAligned(9) + " FUNCTION\n"
        for c in initcalls.sorted(by: { ($0.duration, $1.start) > ($1.duration, $0.start) }).prefix(top) {
            out += ms(c.duration).rightAligned(12) + "  " + (c.level ?? "-").leftAligned(9) + " " + c.function
                + (c.module.map { " [\($0)]" } ?? "") + (c.ret != 0 ? "  (returned \(c.ret))" : "") + "\n"
        }
        if !probes.isEmpty {
            out += "\n\(probes.count) driver probes; the \(min(top, probes.count)) slowest:\n"
            for p in probes.sorted(by: { $0.duration > $1.duration }).prefix(top) {
                out += ms(p.duration).rightAligned(12) + "  " + p.device + (p.ret != 0 ? "  (returned \(p.ret))" : "") + "\n"
            }
        }
        if !processes.isEmpty {
            let timed = processes.filter { $0.duration != nil }
            out += "\n\(processes.count) processes traced; the \(min(top, timed.count)) longest-running:\n"
            out += "DURATION".rightAligned(12) + "  " + "PID".rightAligned(6) + " " + "PPID".rightAligned(6) + "  COMMAND\n"
            for p in timed.sorted(by: { ($0.duration!, $1.start) > ($1.duration!, $0.start) }).prefix(top) {
                out += ms(p.duration!).rightAligned(12) + "  " + String(p.pid).rightAligned(6) + " "
                    + (p.ppid.map(String.init) ?? "-").rightAligned(6) + "  " + p.name + "\n"
            }
        }
        let loaded: [Module] = self.modules
        if !loaded.isEmpty {
            out += "\n\(loaded.count) modules loaded while traced; the \(min(top, loaded.count)) slowest to initialise:\n"
            out += "INIT".rightAligned(12) + "  " + "PID".rightAligned(6) + "  MODULE\n"
            let slowest = loaded.sorted { (a: Module, b: Module) in (a.initDuration, b.initStart) > (b.initDuration, a.initStart) }
            for m in slowest.prefix(top) {
                out += ms(m.initDuration).rightAligned(12) + "  " + String(m.pid).rightAligned(6) + "  " + m.name
                    + (m.ret != 0 ? "  (returned \(m.ret))" : "") + "\n"
            }
        }
        let readers = processes.filter { $0.ioRequests > 0 }
        if !readers.isEmpty {
            out += "\nblock I/O by process; the \(min(top, readers.count)) busiest:\n"
            out += "REQUESTS".rightAligned(10) + "KBYTES".rightAligned(12) + "  " + "PID".rightAligned(6) + "  COMMAND\n"
            for p in readers.sorted(by: { ($0.ioBytes, $1.start) > ($1.ioBytes, $0.start) }).prefix(top) {
                out += String(p.ioRequests).rightAligned(10) + String(p.ioBytes / 1024).rightAligned(12) + "  "
                    + String(p.pid).rightAligned(6) + "  " + p.name + "\n"
            }
        }
        let started = units.filter { $0.duration != nil }
        if !started.isEmpty {
            out += "\n\(units.count) systemd units activated; the \(min(top, started.count)) slowest to become active:\n"
            out += "DURATION".rightAligned(12) + "  " + "ACTIVE AT".rightAligned(14) + "  UNIT\n"
            for u in started.sorted(by: { ($0.duration!, $1.activating) > ($1.duration!, $0.activating) }).prefix(top) {
                out += ms(u.duration!).rightAligned(12) + "  " + ms(u.active!).rightAligned(14) + "  " + u.name + "\n"
            }
        }
        for w in warnings { out += "\nwarning: \(w)" }
        if !warnings.isEmpty { out += "\n" }
        if !unavailable.isEmpty { out += "\n" }
        for u in unavailable { out += "unavailable: \(u.what): \(u.reason)\n" }
        return out
    }
}
