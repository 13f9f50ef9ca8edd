import KernelKitCore

/// Where `boot report` reads a running system's boot, and reading each source so that a
/// missing one becomes a reason, never an error.
public struct BootSources: Sendable {
    /// tracefs `trace` (read, not consumed: `trace_pipe` would consume it).
    public var trace: String = "/sys/kernel/tracing/trace"
    /// /dev/kmsg, or a saved `dmesg`.
    public var log: String = "/dev/kmsg"
    /// The FPDT boot performance record (drivers/acpi/acpi_fpdt.c).
    public var fpdt: String = "/sys/firmware/acpi/fpdt/boot"

    /// Ask systemd (PID 1) over D-Bus for its phases and units.
    public var systemd = true

    public init(trace: String? = nil, log: String? = nil, fpdt: String? = nil, systemd: Bool = true) {
        self.systemd = systemd
        if let trace { self.trace = trace }
        if let log { self.log = log }
        if let fpdt { self.fpdt = fpdt }
    }

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

    public func timeline() -> BootTimeline {
        let trace = Result { () throws(KernelKitError) -> InitcallTrace in
            try InitcallTrace.parse(try InputFile.readBytes(self.trace), file: self.trace)
        }
        let log = Result { () throws(KernelKitError) -> KernelLog in
            let kind = InputFile.kind(self.log)
            if !kind.exists { throw KernelKitError(.fileNotFound, "no such file", at: SourceLocation(file: self.log, line: 0)) }
            // A character device is /dev/kmsg (or one like it); anything else is a saved log.
            if self.log.hasPrefix("/dev/") { return try KernelLog.readDevice(self.log) }
            return try KernelLog.parse(try InputFile.readBytes(self.log), file: self.log)
        }
        let fpdt = Result { () throws(KernelKitError) -> [String: Int] in
            guard InputFile.kind(self.fpdt).isDirectory else {
                throw KernelKitError(.fileNotFound, "the firmware published no FPDT table",
                                     at: SourceLocation(file: self.fpdt, line: 0))
            }
            return try Self.fpdtValues(in: self.fpdt) { path throws(KernelKitError) in try InputFile.readBytes(path) }
        }
        let systemd = Result { () throws(KernelKitError) -> SystemdTimes in
            guard self.systemd else { throw KernelKitError(.systemd, "not asked (a saved log, or --no-systemd)") }
            return try SystemdTimes.read()
        }
        return BootTimeline(trace: trace, log: log, fpdt: fpdt, systemd: systemd)
    }
}
