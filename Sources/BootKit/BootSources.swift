import KernelKitCore

/// Where `boot report` reads a running system's boot, and reading each source so that a
/// missing one becomes a reason, never an error.
public struct BootSources: Sendable {
    /// tracefs `trace` (read, not consumed: `trace_pipe` would consume it); nil: not read.
    public var trace: String? = "/sys/kernel/tracing/trace"
    /// /dev/kmsg, or a saved `dmesg`.
    public var log: String = "/dev/kmsg"
    /// The FPDT boot performance record (drivers/acpi/acpi_fpdt.c); nil: not read.
    public var fpdt: String? = "/sys/firmware/acpi/fpdt/boot"

    /// Ask systemd (PID 1) over D-Bus for its phases and units.
    public var systemd = true

    /// Whether the user named the trace file: then one that cannot be read is bad input.
    var traceNamed = false

    /// A saved log (anything but a device such as /dev/kmsg) describes another boot, so
    /// this system's trace buffer, FPDT record and systemd, which describe this one, are
    /// read only when named (`trace`, `fpdt`, `systemd: true`): mixing two boots' initcalls
    /// would draw a timeline of neither.
    public init(trace: String? = nil, log: String? = nil, fpdt: String? = nil, systemd: Bool? = nil) {
        if let log { self.log = log }
        let live = isLive
        self.trace = trace ?? (live ? self.trace : nil)
        self.fpdt = fpdt ?? (live ? self.fpdt : nil)
        self.systemd = systemd ?? live
        traceNamed = trace != nil
    }

    /// The log is this system's own (a device), not a saved file.
    public var isLive: Bool { log.hasPrefix("/dev/") }

    static let anotherBoot = "not read: a saved --log describes another boot"

    /// The FPDT values, in nanoseconds: only when the firmware published the table.
    static let fpdtFields = ["firmware_start_ns", "bootloader_load_ns", "bootloader_launch_ns",
                             "exitbootservice_start_ns", "exitbootservice_end_ns"]

    /// The FPDT values of the files in `directory`, each a decimal count of nanoseconds
    /// (drivers/acpi/acpi_fpdt.c prints a u64 with %llu); `read` gives a file's bytes.
    /// One over Int.max or a minus sign is a located error: the timeline subtracts them.
    public static func fpdtValues(in directory: String, read: (String) throws(KernelKitError) -> [UInt8]) throws(KernelKitError) -> [String: Int] {
        var values = [String: Int]()
        for name in fpdtFields {
            let path = "\(directory)/\(name)"
            let text = String(decoding: try read(path), as: UTF8.self).trimming(" \n")
            guard let v = Int(text), v >= 0 else {
                throw KernelKitError(.malformedLine, "not a decimal number of nanoseconds", at: SourceLocation(file: path, line: 1))
            }
            values[name] = v
        }
        return values
    }

    /// The timeline; a source that is missing or unreadable is a line of it.
    public func timeline() -> BootTimeline {
        let r = read()
        return BootTimeline(trace: r.trace, log: r.log, fpdt: r.fpdt, systemd: r.systemd)
    }

    /// The same, but a file the user named (the trace, a saved log) that cannot be read
    /// or parsed is an error, as bad input is: only what the system lacks is a reason.
    public func timelineOfNamedFiles() throws(KernelKitError) -> BootTimeline {
        let r = read()
        if traceNamed, case .failure(let e) = r.trace { throw e }
        if !isLive, case .failure(let e) = r.log { throw e }
        return BootTimeline(trace: r.trace, log: r.log, fpdt: r.fpdt, systemd: r.systemd)
    }

    func read() -> (trace: Result<InitcallTrace, KernelKitError>, log: Result<KernelLog, KernelKitError>,
                    fpdt: Result<[String: Int], KernelKitError>, systemd: Result<SystemdTimes, KernelKitError>) {
        let trace = Result { () throws(KernelKitError) -> InitcallTrace in
            guard let path = self.trace else { throw KernelKitError(.fileNotFound, Self.anotherBoot + " (give --trace)") }
            return try InitcallTrace.parse(try InputFile.readBytes(path), file: path)
        }
        let log = Result { () throws(KernelKitError) -> KernelLog in
            let kind = InputFile.kind(self.log)
            if !kind.exists { throw KernelKitError(.fileNotFound, "no such file", at: SourceLocation(file: self.log, line: 0)) }
            // A character device is /dev/kmsg (or one like it); anything else is a saved log.
            if self.isLive { return try KernelLog.readDevice(self.log) }
            return try KernelLog.parse(try InputFile.readBytes(self.log), file: self.log)
        }
        let fpdt = Result { () throws(KernelKitError) -> [String: Int] in
            guard let dir = self.fpdt else { throw KernelKitError(.fileNotFound, Self.anotherBoot + " (give --fpdt)") }
            guard InputFile.kind(dir).isDirectory else {
                throw KernelKitError(.fileNotFound, "the firmware published no FPDT table",
                                     at: SourceLocation(file: dir, line: 0))
            }
            return try Self.fpdtValues(in: dir) { path throws(KernelKitError) in try InputFile.readBytes(path) }
        }
        let systemd = Result { () throws(KernelKitError) -> SystemdTimes in
            guard self.systemd else { throw KernelKitError(.systemd, "not asked (a saved log, or --no-systemd)") }
            return try SystemdTimes.read()
        }
        return (trace, log, fpdt, systemd)
    }
}
