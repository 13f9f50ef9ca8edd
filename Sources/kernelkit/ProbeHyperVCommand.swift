import ArgumentParser
import KernelKitCore
import KernelMetrics
import KernelProbes

/// What the Hyper-V probes share: how long, what to run, how to print.
struct HyperVRunOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Stop after S seconds (default: on Ctrl-C, or when the workload exits).", valueName: "S")) var duration: Double?
    @Option(help: ArgumentHelp("Run this command while attached and stop when it exits; recorded in the report.", valueName: "'CMD ARGS'"))
    var workload: String?
    @Option(help: "text or json.") var format: TextOrJSON = .text
    @Option(help: ArgumentHelp("Also write an SVG chart of the histograms.", valueName: "FILE")) var svg: String?
    @Option(help: ArgumentHelp("Also write DIR/kernelkit_probe_NAME.prom for node_exporter's textfile collector (docs/fleet.md); "
                               + "where the driver is absent, kernelkit_probe_attached is 0.", valueName: "DIR"))
    var prometheusTextfile: String?

    func validate() throws {
        if let d = duration, d <= 0 { throw ValidationError("--duration must be positive") }
    }

    func control() throws(KernelKitError) -> HyperVProbes.Control {
        HyperVProbes.Control(duration: duration, workload: try workload.map { w throws(KernelKitError) in try Workload(w) })
    }

    /// Runs `body` unless the driver is absent, which is said in one line (exit 0).
    func run(_ probe: String,
             _ body: () throws(KernelKitError) -> (text: String, json: JSONValue, report: ProbeReport, metrics: (MetricsFeed) -> Void)) throws {
        try Terminal.run {
            ProbeSignals.install()
            if let dir = prometheusTextfile { try PrometheusTextfile.check(directory: dir) }
            if let why = HyperVProbes.absence(probe, devices: VMBus.devices()) {
                Terminal.error(why)
                if let dir = prometheusTextfile {
                    try PrometheusTextfile.writeProbe(probe, attach: "none", attached: false, lostEvents: 0, directory: dir) { _ in }
                }
                return
            }
            if format == .text {
                Terminal.error("Tracing \(probe)... " + (duration.map { "for \($0) s" } ?? workload.map { "while '\($0)' runs" } ?? "Hit Ctrl-C to end."))
            }
            let out = try body()
            Terminal.write(format == .json ? out.json.serialized() : out.text)
            if let svg { try AtomicFile.write(Array(HistogramChart.svg(out.report).utf8), to: svg) }
            if let dir = prometheusTextfile {
                try PrometheusTextfile.writeProbe(probe, attach: out.report.attach, lostEvents: out.report.lostEvents, directory: dir, out.metrics)
            }
        }
    }
}

struct ProbeVMBusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmbus",
        abstract: "VMBus channels: interrupt, tasklet and host-signal rates, interrupt-to-tasklet latency, per channel and CPU.",
        discussion: """
        Attaches to the hyperv tracepoints (drivers/hv/hv_trace.h): vmbus_chan_sched
        (the ISR found the channel pending), vmbus_on_event (its tasklet ran the
        driver's callback), vmbus_setevent (the guest signalled the host), and
        vmbus_onoffer and vmbus_onoffer_rescind, which keep the relid-to-device map
        current while running. Channels are named through /sys/bus/vmbus/devices
        (class GUID to driver) and cross-checked against each channel's sysfs
        interrupts counter.

        netvsc's channels call back from the ISR (HV_CALL_ISR): they have interrupts
        but no tasklet runs, hence no latency. JSON: kernelkit.probe-vmbus/1
        (docs/probe.md).

        Examples:
          kernelkit probe vmbus --duration 10
          kernelkit probe vmbus --workload 'fio --name=r --rw=randread --size=1g' \\
              --format json > a.json
        """
    )
    @OptionGroup var options: HyperVRunOptions

    func run() throws {
        try options.run("vmbus") { () throws(KernelKitError) in
            let r = try HyperVProbes.vmbus(try options.control())
            return (r.text, r.json, r.probeReport, { $0.vmbus(r) })
        }
    }
}

struct ProbeStorvscCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storvsc",
        abstract: "storvsc disks: I/O latency per disk, VMBus channel and CPU; submit against completion CPU; queue depth; sizes.",
        discussion: """
        storvsc has no tracepoints. Where the kernel allows fentry, the probe
        attaches to storvsc_queuecommand, storvsc_on_channel_callback and scsi_done,
        and attributes each completion to its channel. Where it does not (lockdown,
        no BTF for the module), it falls back to the block tracepoints on storvsc's
        disks and says that per-channel figures are unavailable. JSON:
        kernelkit.probe-storvsc/1.

        Examples:
          kernelkit probe storvsc --duration 10
          kernelkit probe storvsc --workload 'fio job.fio' --format json \\
              --svg storvsc.svg > a.json
        """
    )
    @OptionGroup var options: HyperVRunOptions

    func run() throws {
        try options.run("storvsc") { () throws(KernelKitError) in
            let r = try HyperVProbes.storvsc(try options.control(), lockdown: ProbeAvailability.System.current().lockdown)
            return (r.text, r.json, r.probeReport, { $0.storvsc(r) })
        }
    }
}

struct ProbeNetvscCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netvsc",
        abstract: "netvsc: packets and bytes per interface, queue and direction; send-section use; receive batches; per CPU.",
        discussion: """
        Attaches to netvsc's tracepoints (nvsp_send_pkt, nvsp_recv, rndis_recv) and
        to the network core's net_dev_start_xmit and napi_gro_receive_entry for
        netvsc's interfaces, and reads the driver's own counters (ethtool -S,
        through the ETHTOOL_GSTATS ioctl) before and after, reported beside the
        probe's. JSON: kernelkit.probe-netvsc/1.

        Examples:
          kernelkit probe netvsc --duration 10
          kernelkit probe netvsc --workload 'iperf3 -c 10.0.0.5 -t 10' \\
              --format json > a.json
        """
    )
    @OptionGroup var options: HyperVRunOptions

    func run() throws {
        try options.run("netvsc") { () throws(KernelKitError) in
            let r = try HyperVProbes.netvsc(try options.control())
            return (r.text, r.json, r.probeReport, { $0.netvsc(r) })
        }
    }
}
