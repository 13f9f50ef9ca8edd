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
        With no arguments: the bundled kconfigs (kconfigs/6.18, built into kernelkit),
        for the host's arch (x86_64 or arm64; others fall back to x86_64), checked
        against the azure-hyperv-6.18 baseline. The report starts with a one-line
        verdict, then the module-signing settings, what the eBPF probes need, lockdown,
        Hyper-V and confidential-VM settings, then every finding. Exit status as harden
        check: 0 pass, 1 a failure at or above --fail-on, 2 a usage or input error.

        --live audits the running system instead (docs/audit.md): the kernel config
        (/proc/config.gz, else /boot/config-RELEASE) with /proc/cmdline and /proc/sys
        against the baselines; module signing (CONFIG_MODULES, modules_disabled,
        sig_enforce, the kernel's taint decoded, each loaded module's taint, and every
        module under /lib/modules/RELEASE verified against the certificates built into
        /boot/vmlinuz-RELEASE and any --keyring); lockdown, the LSMs, SELinux and
        Secure Boot; what the probes need (BTF, tracefs, the JIT, unprivileged BPF, a
        line per probe as `probe list` gives it); VMBus devices, Hyper-V drivers,
        accelerated networking and confidential-VM signs. Every finding names the file
        it was read from; a source that cannot be read is a finding, not an error.
        Waivers may name live findings as live.ID (e.g. live.signing.sig_enforce).

        Examples:
          kernelkit audit
          kernelkit audit --arch arm64 --format json
          # also show where KSPP differs
          kernelkit audit --baseline azure-hyperv-6.18 --baseline kspp
          kernelkit audit --format sarif > audit.sarif
          kernelkit audit --live
          kernelkit audit --live --format json --baseline kspp \\
              --keyring extra-signing-cert.pem
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
    @Option(help: ArgumentHelp("Also write the verdict as Prometheus metrics to DIR/kernelkit_audit.prom (kernelkit_audit_live.prom with --live; node_exporter's textfile directory).", valueName: "DIR"))
    var prometheusTextfile: String?

    @Flag(help: "Audit the running system instead: its config, cmdline and sysctls, every module it could load, lockdown and LSMs, the probes' needs, Hyper-V.")
    var live = false
    @Option(help: ArgumentHelp("With --live: the kernel config (default /proc/config.gz, else /boot/config-RELEASE).", valueName: "FILE"))
    var config: String?
    @Option(help: ArgumentHelp("With --live: the modules tree (default /lib/modules/RELEASE).", valueName: "DIR"))
    var modules: String?
    @Option(help: ArgumentHelp("With --live: the kernel image whose built-in certificates are trusted (default /boot/vmlinuz-RELEASE).", valueName: "FILE"))
    var kernelImage: String?
    @Option(help: ArgumentHelp("With --live: more certificates (DER, PEM, a bundle) or kernel images to trust; repeatable.", valueName: "FILE"))
    var keyring: [String] = []
    @Flag(help: "With --live: list every module and loaded module, every failing rule.") var verbose = false

    func run() throws {
        var failed = false
        if live {
            try Terminal.run { failed = try runLive() }
            if failed { throw ExitCode(1) }
            return
        }
        try Terminal.run {
            for (given, name) in [(config != nil, "--config"), (modules != nil, "--modules"), (kernelImage != nil, "--kernel-image"), (!keyring.isEmpty, "--keyring"), (verbose, "--verbose")] where given {
                throw KernelKitError(.usage, "\(name) goes with --live")
            }
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

    /// `audit --live`: prints the report; true when it fails.
    private func runLive() throws -> Bool {
        if arch != nil || flavour != nil || kconfigs != nil { throw KernelKitError(.usage, "--arch, --flavour and --kconfigs describe the bundled kernel, not --live") }
        let names = baseline.isEmpty ? ["azure-hyperv-6.18"] : baseline
        var list = [Baseline]()
        for n in names { list.append(try ShippedBaselines.load(n)) }
        let w = try waivers.map { try WaiverFile.load(file: $0) } ?? []
        var sources = LiveAudit.Sources()
        sources.config = config
        sources.modules = modules
        sources.kernelImage = kernelImage
        sources.keyrings = keyring
        let audit = try LiveAudit(baselines: list, waivers: w, today: todayString(), failOn: failOn, sources: sources)
        if let prometheusTextfile {
            let counts = LiveAudit.ModuleVerdict.allCases.map { v in (v.rawValue, audit.moduleFiles.filter { $0.verdict == v }.count) }
            try PrometheusTextfile.writeLiveAudit(audit.check, passed: audit.passed, modules: counts, directory: prometheusTextfile)
        }
        switch format {
        case .json: Terminal.write(audit.json().serialized())
        case .sarif: Terminal.write(audit.sarif(toolVersion: KernelKitVersion.string).serialized())
        case .text: Terminal.write(audit.text(color: Terminal.wantsColor, verbose: verbose))
        }
        return !audit.passed
    }
}

