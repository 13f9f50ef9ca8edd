import ArgumentParser
import BootKit
import KernelKitCore

struct BootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot",
        abstract: "Boot timelines: phases and every kernel initcall, from what the running system recorded.",
        discussion: """
        Boot with `initcall_debug trace_event=initcall:*` (and `trace_clock=global` on a VM
        whose clock is unstable, or the trace buffer is reset early in boot), then run
        `kernelkit boot report` once the system is up. docs/boot.md explains each source.

        Examples:
          kernelkit boot report
          kernelkit boot report --format json > boot-a.json --svg boot-a.svg
          kernelkit boot compare boot-a.json boot-b.json
        """,
        subcommands: [BootReportCommand.self, BootCompareCommand.self]
    )
}

struct BootReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Build the boot timeline of this system: FPDT, initcalls with levels, driver probes, user space.",
        discussion: """
        Reads the initcall events in the trace buffer (tracefs `trace`, not consumed), the
        initcall_debug lines of the kernel log (/dev/kmsg), and the firmware's FPDT record
        when there is one. Each source that is missing or unusable is reported as
        unavailable, with the reason, and the rest of the timeline is still built.

        Examples:
          kernelkit boot report
          kernelkit boot report --format json --svg boot.svg > boot.json
          kernelkit boot report --log dmesg.txt --trace trace.txt   # a boot saved elsewhere
        """
    )
    @Option(help: "text or json.") var format: TextOrJSON = .text
    @Option(help: ArgumentHelp("Also write the timeline as an SVG picture.", valueName: "FILE")) var svg: String?
    @Option(help: ArgumentHelp("The trace buffer (default /sys/kernel/tracing/trace).", valueName: "FILE")) var trace: String?
    @Option(help: ArgumentHelp("The kernel log: /dev/kmsg (default), or a saved dmesg or /dev/kmsg copy.", valueName: "FILE")) var log: String?
    @Option(help: ArgumentHelp("The FPDT boot record directory (default /sys/firmware/acpi/fpdt/boot).", valueName: "DIR")) var fpdt: String?
    @Option(help: "How many of the slowest initcalls the text lists.") var top = 20

    func run() throws {
        try Terminal.run {
            let timeline = BootSources(trace: trace, log: log, fpdt: fpdt).timeline()
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
        Takes two `kernelkit boot report --format json` documents. Changes are sorted by
        their size; an initcall that ran in only one boot is marked so.

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
