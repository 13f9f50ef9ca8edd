import ArgumentParser
import CBPFProbes
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import KernelKitCore
import KernelMetrics
import KernelProbes

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "eBPF probes: block I/O, the Hyper-V drivers (VMBus, storvsc, netvsc), and whether each fits a kernel.",
        discussion: """
        The block probes attach to the block_rq_* tracepoints (tp_btf, falling
        back to raw tracepoints); vmbus, storvsc and netvsc to the Hyper-V
        drivers. They need root (or CAP_BPF and CAP_PERFMON) and a kernel with
        BTF, and detach cleanly on Ctrl-C, SIGTERM, at the end of --duration or
        when --workload's command exits. `probe list` says which can run here
        and why not; `probe check` answers the same offline for any kernel's
        BTF, without root.

        Examples:
          kernelkit probe list
          kernelkit probe check --btf /boot/vmlinuz-$(uname -r)
          kernelkit probe vmbus --duration 10
          kernelkit probe storvsc --workload 'fio job.fio' \\
              --format json > run-a.json
          kernelkit probe biolatency --duration 10
          kernelkit probe biolatency -D -F --interval 1 --duration 5
          kernelkit probe biolatency --disk nvme0n1 --format json \\
              --svg lat.svg > run-a.json
          kernelkit probe bitesize --duration 5
          kernelkit probe biosnoop --disk sda --duration 3
          kernelkit probe compare run-a.json run-b.json
        """,
        subcommands: [ProbeListCommand.self, ProbeBiolatencyCommand.self, ProbeBitesizeCommand.self, ProbeBiosnoopCommand.self,
                      ProbeVMBusCommand.self, ProbeStorvscCommand.self, ProbeNetvscCommand.self,
                      ProbeCompareCommand.self, ProbeCheckCommand.self]
    )
}

struct ProbeRunOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only this disk (loop0, sda, /dev/nvme0n1).", valueName: "NAME")) var disk: String?
    @Option(help: ArgumentHelp("Print (and, in JSON, record) every S seconds.", valueName: "S")) var interval: Double?
    @Option(help: ArgumentHelp("Stop after S seconds (default: on Ctrl-C).", valueName: "S")) var duration: Double?
    @Option(help: "text or json.") var format: TextOrJSON = .text
    @Option(help: ArgumentHelp("Also write an SVG chart of the histograms.", valueName: "FILE")) var svg: String?
    @Option(help: ArgumentHelp("Run this command while attached and stop when it exits; recorded in the report.", valueName: "'CMD ARGS'"))
    var workload: String?
    @Option(help: ArgumentHelp("Also write DIR/kernelkit_probe_NAME.prom for node_exporter's textfile collector (docs/fleet.md).",
                               valueName: "DIR"))
    var prometheusTextfile: String?

    func validate() throws {
        if let d = duration, d <= 0 { throw ValidationError("--duration must be positive") }
        if let i = interval, i <= 0 { throw ValidationError("--interval must be positive") }
    }
}

/// Runs a histogram probe: waits, printing at each interval, until the duration ends or
/// a signal comes, then prints (or writes JSON and SVG) and detaches.
func runHistogramProbe(_ tool: BlockProbe.Tool, options asked: BlockProbe.Options, run: ProbeRunOptions) throws {
    // The metrics are per device and operation: then the kernel keys its histograms so,
    // and the report sums them back to what was asked.
    var options = asked
    if let dir = run.prometheusTextfile {
        try PrometheusTextfile.check(directory: dir)
        options.perDisk = true
        options.perOperation = true
    }
    func shown(_ hs: [Log2Histogram]) -> [Log2Histogram] {
        run.prometheusTextfile == nil ? hs : Log2Histogram.merged(hs, keepDisk: asked.perDisk, keepOp: asked.perOperation, keepComm: true)
    }
    var whole = [Log2Histogram]()
    var attachedAs = ""
    var lost: UInt64 = 0
    ProbeSignals.install()
    let start = Date()
    var reports = [JSONValue]()
    let workload = try run.workload.map { w throws(KernelKitError) in try Workload(w) }
    try BlockProbe.run(tool, options: options) { (object: borrowing BPFObject, attach: String) throws(KernelKitError) in
        if run.format == .text {
            Terminal.error("Tracing block I/O (\(attach))... " + (run.duration.map { "for \($0) s" } ?? run.workload.map { "while '\($0)' runs" } ?? "Hit Ctrl-C to end."))
        }
        try workload?.start()
        defer { workload?.terminate() }
        var lastPrint = Date()
        var final: [Log2Histogram] = []
        while !ProbeSignals.stopped {
            usleep(50_000)
            let now = Date()
            let over = (run.duration.map { now.timeIntervalSince(start) >= $0 } ?? false) || workload?.finished == true
            if let i = run.interval, now.timeIntervalSince(lastPrint) >= i, !over {
                let hs = BlockProbe.histograms(object, tool: tool, options: options, clear: true)
                whole = Log2Histogram.merged(whole + hs, keepDisk: true, keepOp: true, keepComm: true)
                emit(shown(hs), tool: tool, run: run, elapsed: now.timeIntervalSince(lastPrint), attach: attach, object: object, into: &reports, workload: nil)
                lastPrint = now
            }
            if over { break }
        }
        final = BlockProbe.histograms(object, tool: tool, options: options, clear: run.interval != nil)
        whole = Log2Histogram.merged(whole + final, keepDisk: true, keepOp: true, keepComm: true)
        attachedAs = attach
        lost = BlockProbe.counters(object).lost
        final = shown(final)
        if run.interval == nil || final.contains(where: { $0.total > 0 }) || reports.isEmpty {
            workload?.terminate()
            emit(final, tool: tool, run: run, elapsed: Date().timeIntervalSince(lastPrint), attach: attach, object: object, into: &reports,
                 workload: workload?.outcome)
        }
    }
    if run.format == .json {
        Terminal.write((reports.count == 1 ? reports[0] : .array(reports)).serialized())
    }
    if let dir = run.prometheusTextfile {
        try PrometheusTextfile.writeProbe(tool.rawValue, attach: attachedAs, lostEvents: lost, directory: dir) { $0.block(whole) }
    }
}

private func emit(_ hs: [Log2Histogram], tool: BlockProbe.Tool, run: ProbeRunOptions, elapsed: Double, attach: String,
                  object: borrowing BPFObject, into reports: inout [JSONValue], workload: Workload.Outcome?) {
    let counters = BlockProbe.counters(object)
    let report = ProbeReport(tool: tool.rawValue, histograms: hs, durationSeconds: elapsed, lostEvents: counters.lost, attach: attach,
                             workload: workload)
    if run.format == .json {
        reports.append(report.json)
    } else {
        var out = workload.map { $0.line + "\n" } ?? ""
        if hs.isEmpty { out += "(no block I/O seen)\n" }
        for h in hs { out += h.text() }
        Terminal.write(out)
    }
    if let svg = run.svg {
        do {
            try AtomicFile.write(Array(HistogramChart.svg(report).utf8), to: svg)
        } catch {
            Terminal.error("kernelkit: \(error)")
        }
    }
}

struct ProbeBiolatencyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "biolatency",
        abstract: "A log2 histogram of block I/O latency in microseconds, like bcc's biolatency.",
        discussion: """
        Latency runs from issue to completion (with -Q, from insertion into the I/O
        scheduler). JSON (kernelkit.probe-histograms/1, docs/probe.md) gives each
        histogram's disk, op, unit, buckets (low, high, count), total and p50/p90/p99.

        Examples:
          kernelkit probe biolatency --duration 10
          kernelkit probe biolatency -D -F --disk nvme0n1 --format json \\
              --svg lat.svg > a.json
        """
    )
    @Flag(name: .customShort("D"), help: "A histogram per disk.") var perDisk = false
    @Flag(name: .customShort("F"), help: "A histogram per operation (read, write, flush, discard) and sync flag.") var perOp = false
    @Flag(name: .customShort("Q"), help: "Include the time queued in the I/O scheduler (from block_rq_insert).") var queued = false
    @OptionGroup var options: ProbeRunOptions

    func run() throws {
        try Terminal.run {
            var o = BlockProbe.Options()
            o.perDisk = perDisk
            o.perOperation = perOp
            o.queued = queued
            o.disk = options.disk
            try runHistogramProbe(.biolatency, options: o, run: options)
        }
    }
}

struct ProbeBitesizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bitesize",
        abstract: "A log2 histogram of block I/O request sizes (KiB) per process, like bcc's bitesize.",
        discussion: """
        Example:
          kernelkit probe bitesize --duration 5
        """
    )
    @OptionGroup var options: ProbeRunOptions

    func run() throws {
        try Terminal.run {
            var o = BlockProbe.Options()
            o.disk = options.disk
            try runHistogramProbe(.bitesize, options: o, run: options)
        }
    }
}

struct ProbeBiosnoopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "biosnoop",
        abstract: "Every block I/O request as it completes: time, process, disk, op, sector, bytes, latency.",
        discussion: """
        Events come through a ring buffer read on its own thread; if the terminal falls
        behind, events are dropped and counted, never buffered without bound.

        Example:
          kernelkit probe biosnoop --disk sda --duration 3
        """
    )
    @Flag(name: .customShort("Q"), help: "Latency from insertion into the I/O scheduler.") var queued = false
    @OptionGroup var options: ProbeRunOptions

    func run() throws {
        try Terminal.run {
            var o = BlockProbe.Options()
            o.disk = options.disk
            o.queued = queued
            ProbeSignals.install()
            let start = Date()
            var first: UInt64? = nil
            var names = [UInt32: String]()
            var json = [JSONValue]()
            var folded = BlockIOEvent.Histograms()
            var attachedAs = "", lost: UInt64 = 0
            if let dir = options.prometheusTextfile { try PrometheusTextfile.check(directory: dir) }
            let workload = try options.workload.map { w throws(KernelKitError) in try Workload(w) }
            try BlockProbe.run(.biosnoop, options: o) { (object: borrowing BPFObject, attach: String) throws(KernelKitError) in
                let stream = try EventStream(object, of: kk_event.self)
                try workload?.start()
                if options.format == .text {
                    Terminal.write(BlockIOEvent.textHeader)
                }
                func flush() {
                    var out = ""
                    for e in stream.drain(as: kk_event.self) {
                        if first == nil { first = e.ts_ns }
                        let name = names[e.dev] ?? BlockDevices.name(e.dev)
                        names[e.dev] = name
                        let event = BlockIOEvent(e, since: first!, disk: name)
                        if options.prometheusTextfile != nil { folded.add(event) }
                        if options.format == .json { json.append(event.json) } else { out += event.textRow }
                    }
                    if !out.isEmpty { Terminal.write(out) }
                }
                while !ProbeSignals.stopped {
                    usleep(100_000)
                    flush()
                    if let d = options.duration, Date().timeIntervalSince(start) >= d { break }
                    if workload?.finished == true { break }
                }
                workload?.terminate()
                stream.stop()
                flush()
                lost = BlockProbe.counters(object).lost + stream.dropped
                attachedAs = attach
                if options.format == .json {
                    Terminal.write(BlockIOEvent.report(json, attach: attach, lost: lost, workload: workload?.outcome).serialized())
                } else if let w = workload?.outcome {
                    Terminal.error(w.line)
                }
                if options.format == .text, lost > 0 {
                    Terminal.error("\(lost) events lost (the ring buffer or the output fell behind)")
                }
            }
            if let dir = options.prometheusTextfile {
                try PrometheusTextfile.writeProbe("biosnoop", attach: attachedAs, lostEvents: lost, directory: dir) { $0.block(folded.histograms) }
            }
        }
    }
}

struct ProbeCompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two probe runs (JSON): per-bucket deltas and the change in p50, p90 and p99.",
        discussion: """
        Histograms are matched by disk, op and process. Use it to compare two kernels
        or two kernel configs under the same load.

        Example:
          kernelkit probe compare baseline.json candidate.json
        """
    )
    @Argument(help: "The first run (kernelkit probe … --format json).") var a: String
    @Argument(help: "The second run.") var b: String
    @Option(help: "text or json.") var format: TextOrJSON = .text

    func run() throws {
        try Terminal.run {
            let ra = try ProbeReport.load(try InputFile.readBytes(a), file: a)
            let rb = try ProbeReport.load(try InputFile.readBytes(b), file: b)
            let cmp = ProbeComparison(ra, rb)
            Terminal.write(format == .json ? cmp.json.serialized() : cmp.text(aName: a, bName: b))
        }
    }
}
