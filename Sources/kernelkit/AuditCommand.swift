import ArgumentParser
import HardeningKit
import KernelAudit
import KernelMetrics
import KernelKitCore

extension Arch: ExpressibleByArgument {
    public init?(argument: String) { self.init(normalizing: argument) }
}

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Build KernelKit's 6.18 Hyper-V/Azure kernel config and audit it: signing, probes, hardening.",
        discussion: """
        With no arguments: the bundled kconfigs (kconfigs/6.18, built into kernelkit), for
        the host's arch (x86_64 or arm64; others fall back to x86_64), checked against the
        azure-hyperv-6.18 baseline. The report starts with a one-line verdict, then the
        module-signing settings, what the eBPF probes need, lockdown, Hyper-V and
        confidential-VM settings, then every finding. Exit status as harden check: 0 pass,
        1 a failure at or above --fail-on, 2 a usage or input error.

        Examples:
          kernelkit audit
          kernelkit audit --arch arm64 --format json
          kernelkit audit --baseline azure-hyperv-6.18 --baseline kspp   # also show where KSPP differs
          kernelkit audit --format sarif > audit.sarif
        """
    )
    @Option(help: "x86_64 or arm64 (aarch64 too; default: the host's, else x86_64).") var arch: Arch?
    @Option(help: "A flavour from kconfigs/6.18/manifest.toml (default: the first for the arch, azure).") var flavour: String?
    @Option(name: .long, help: ArgumentHelp("Baselines to check against (default: azure-hyperv-6.18); repeatable.", valueName: "NAME|FILE"))
    var baseline: [String] = []
    @Option(help: ArgumentHelp("A waivers file.", valueName: "FILE")) var waivers: String?
    @Option(help: "text, json or sarif.") var format: AuditFormat = .text
    @Option(help: "Fail (exit 1) for findings of this severity or above.") var failOn: Severity = .low
    @Option(help: ArgumentHelp("Read kconfigs/ from this checkout instead of the built-in copy.", valueName: "DIR")) var kconfigs: String?
    @Option(help: ArgumentHelp("Also write the verdict as Prometheus metrics to DIR/kernelkit_audit.prom (node_exporter's textfile directory).", valueName: "DIR"))
    var prometheusTextfile: String?

    func run() throws {
        var failed = false
        try Terminal.run {
            let names = baseline.isEmpty ? ["azure-hyperv-6.18"] : baseline
            var list = [Baseline]()
            for n in names { list.append(try ShippedBaselines.load(n)) }
            let w = try waivers.map { try WaiverFile.load(file: $0) } ?? []
            let audit = try Audit(arch: arch ?? Arch.host ?? .x86_64, flavour: flavour, baselines: list, waivers: w,
                                  today: todayString(), directory: kconfigs)
            failed = !audit.check.failures(atOrAbove: failOn).isEmpty
            if let prometheusTextfile {
                try PrometheusTextfile.writeAudit(audit.check, failOn: failOn, directory: prometheusTextfile)
            }
            switch format {
            case .json: Terminal.write(audit.json(failOn: failOn).serialized())
            case .sarif: Terminal.write(audit.check.sarif(failOn: failOn, toolVersion: KernelKitVersion.string).serialized())
            case .text: Terminal.write(audit.text(failOn: failOn, color: Terminal.wantsColor))
            }
        }
        if failed { throw ExitCode(1) }
    }
}

