import ArgumentParser
import BootKit
import KernelKitCore

struct BootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot",
        abstract: "Boot timelines: phases and every kernel initcall, from what the running system recorded.",
        discussion: """
        Boot with `initcall_debug trace_event=initcall:*` (and `trace_clock=global`
        on a VM whose clock is unstable, or the trace buffer is reset early in
        boot), then run `kernelkit boot report` once the system is up. docs/boot.md
        explains each source.

        Examples:
          kernelkit boot report
          kernelkit boot report --format json > boot-a.json --svg boot-a.svg
          kernelkit boot compare boot-a.json boot-b.json
        """,
        subcommands: [BootReportCommand.self, BootTraceCommand.self, BootCompareCommand.self]
    )
}

struct BootReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Build the boot timeline of this system: FPDT, initcalls with levels, driver probes, systemd's phases and units.",
        discussion: """
        Reads the initcall events in the trace buffer (tracefs `trace`, not consumed),
        the initcall_debug lines of the kernel log (/dev/kmsg), the firmware's FPDT
        record when there is one, and, when systemd is PID 1, its phases (initrd, user
        space up to FinishTimestamp) and every unit's activation, asked of systemd over
        D-Bus (sd-bus; as root through its private socket, so no dbus-daemon is
        needed). A saved --log describes another boot, so this system's trace
        buffer, FPDT record and systemd, which describe this one, are then read only
        when named (--trace, --fpdt, --systemd). Each source that is missing or
        unusable is reported as unavailable, with the reason, and the rest of the
        timeline is still built.

        Examples:
          kernelkit boot report
          kernelkit boot report --format json --svg boot.svg > boot.json
          # a boot saved elsewhere
          kernelkit boot report --log dmesg.txt --trace trace.txt
        """
    )
    @Option(help: "text or json.") var format: TextOrJSON = .text
    @Option(help: ArgumentHelp("Also write the timeline as an SVG picture.", valueName: "FILE")) var svg: String?
    @Option(help: ArgumentHelp("The trace buffer (default /sys/kernel/tracing/trace; with a saved --log, none).", valueName: "FILE")) var trace: String?
    @Option(help: ArgumentHelp("The kernel log: /dev/kmsg (default), or a saved dmesg or /dev/kmsg copy.", valueName: "FILE")) var log: String?
    @Option(help: ArgumentHelp("The FPDT boot record directory (default /sys/firmware/acpi/fpdt/boot; with a saved --log, none).", valueName: "DIR")) var fpdt: String?
    @Option(help: "How many of the slowest initcalls the text lists.") var top = 20
    @Flag(inversion: .prefixedNo, help: "Ask systemd (PID 1) for its phases and units (default: yes, but not with a saved --log).")
    var systemd: Bool?

    func run() throws {
        try Terminal.run {
            // A source the system lacks is a line of the report ("unavailable: …"); a file
            // the user named that cannot be read is bad input, and an error.
            let timeline = try BootSources(trace: trace, log: log, fpdt: fpdt, systemd: systemd).timelineOfNamedFiles()
            switch format {
            case .json: Terminal.write(timeline.json.serialized())
            case .text: Terminal.write(timeline.text(top: top))
            }
            if let svg { try AtomicFile.write(Array(BootChart.svg(timeline).utf8), to: svg) }
        }
    }
}

struct BootCompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two boot timelines: which phases, initcalls and driver probes got slower or faster.",
        discussion: """
        Takes two `kernelkit boot report --format json` documents. Changes are
        sorted by their size; an initcall that ran in only one boot is marked so.

        Example:
          kernelkit boot compare before.json after.json
        """
    )
    @Argument(help: "The first boot (kernelkit boot report --format json).") var a: String
    @Argument(help: "The second boot.") var b: String
    @Option(help: "text or json.") var format: TextOrJSON = .text
    @Option(help: "How many changes the text lists.") var top = 20

    func run() throws {
        try Terminal.run {
            let ta = try BootTimeline(json: try JSONValue.parse(try InputFile.readBytes(a), file: a), file: a)
            let tb = try BootTimeline(json: try JSONValue.parse(try InputFile.readBytes(b), file: b), file: b)
            let cmp = BootComparison(ta, tb)
            Terminal.write(format == .json ? cmp.json.serialized() : cmp.text(aName: a, bName: b, top: top))
        }
    }
}

struct BootTraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Record user space with BPF (every process, its parent, what it ran, when it ended; module loads; block I/O per process) until a condition, then report the whole boot.",
        discussion: """
        Start it as early as user space allows (an initramfs hook, or a systemd unit
        with DefaultDependencies=no, Type=notify and Before=sysinit.target: it tells
        systemd it is ready once the probe is attached). It records until
        --until-path exists, --until-unit is active (asked of systemd over D-Bus) or
        --seconds pass (600 s when none is given), then
        writes what `boot report` writes, with the processes, the modules loaded
        (with their init times) and each process's block I/O added. Needs root (or
        CAP_BPF and CAP_PERFMON) and BTF.

        From an initramfs, --handover attaches the programs, pins them on bpffs
        (/sys/fs/bpf/kernelkit-boot-trace) and exits at once: they keep recording
        across the switch of root, and a later `boot trace --finish` detaches them
        and writes the report. scripts/boot-trace/ has the dracut module, the
        initramfs-tools hook and the systemd units that do this (docs/boot.md).

        Examples:
          kernelkit boot trace --seconds 30 --format json -o /run/boot.json
          kernelkit boot trace --until-path /run/boot-done \\
              --ready-file /run/boot-trace.ready -o boot.json --format json
          kernelkit boot trace --until-unit multi-user.target --format json \\
              -o /run/boot.json
          kernelkit boot trace --handover                         # in the initramfs
          kernelkit boot trace --finish --format json \\
              -o /var/log/kernelkit/boot.json
        """
    )
    @Flag(help: "Attach, pin on bpffs and exit: the programs record until --finish.") var handover = false
    @Flag(help: "Collect what a --handover left pinned, detach it, and report.") var finish = false
    @Option(help: ArgumentHelp("Stop once this path exists.", valueName: "PATH")) var untilPath: String?
    @Option(help: ArgumentHelp("Stop once this systemd unit is active (or has failed); repeatable.", valueName: "UNIT")) var untilUnit: [String] = []
    @Option(help: ArgumentHelp("Stop after this many seconds.", valueName: "S")) var seconds: Double?
    @Option(help: ArgumentHelp("Create this file once the probe is attached.", valueName: "FILE")) var readyFile: String?
    @Option(name: .shortAndLong, help: "Where to write the report (default: standard output).") var output: String?
    @Option(help: "text or json.") var format: TextOrJSON = .text
    @Option(help: ArgumentHelp("Also write the timeline as an SVG picture.", valueName: "FILE")) var svg: String?

    func validate() throws {
        if let seconds, seconds <= 0 { throw ValidationError("--seconds must be positive") }
        if handover && finish { throw ValidationError("--handover and --finish are the two halves of one trace: give one") }
        if handover && (untilPath != nil || !untilUnit.isEmpty || seconds != nil || output != nil || svg != nil) {
            throw ValidationError("--handover only attaches and pins; --until-path, --until-unit, --seconds, -o and --svg go with --finish or a live trace")
        }
        if finish && (untilPath != nil || !untilUnit.isEmpty || seconds != nil) { throw ValidationError("--finish reports at once: no --until-path, --until-unit or --seconds") }
    }

    func run() throws {
        try Terminal.run {
            if handover {
                try BootTrace.handOver()
                if let readyFile { try? AtomicFile.write([], to: readyFile) }
                SystemdNotify.ready()
                return
            }
            var until = [BootTrace.Until]()
            if let untilPath { until.append(.path(untilPath)) }
            if let seconds { until.append(.seconds(seconds)) }
            until += untilUnit.map { .unit($0) }
            let timeline = finish ? try BootTrace(until: []).finish() : try BootTrace(until: until).run {
                if let readyFile { try? AtomicFile.write([], to: readyFile) }
                SystemdNotify.ready()
            }
            let text = format == .json ? timeline.json.serialized() : timeline.text()
            if let output { try AtomicFile.write(Array(text.utf8), to: output) } else { Terminal.write(text) }
            if let svg { try AtomicFile.write(Array(BootChart.svg(timeline).utf8), to: svg) }
        }
    }
}
