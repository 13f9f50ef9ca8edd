import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import HardeningKit
import KernelMetrics
import KernelAudit
import KconfigKit
import KernelKitCore

struct HardenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "harden",
        abstract: "Check kernel configs, command lines and sysctls against hardening baselines.",
        discussion: """
        Shipped baselines: kspp (KSPP recommended settings), khc (every check of
        kernel-hardening-checker, with its verdicts), kernel-hardening (the kernel's
        hardening.config fragments), azure-hyperv-6.18 (KernelKit's Azure/Hyper-V guest
        baseline) and azure-linux (Azure Linux's required-config JSON; pick the package
        with --azl-package). Policies are TOML files (docs/harden.md).

        Examples:
          kernelkit harden check --config /boot/config-$(uname -r) --live
          kernelkit harden check --config .config --baseline kspp \\
              --format sarif > harden.sarif
          kernelkit harden check --config .config --cmdline cmdline \\
              --sysctl sysctl.txt --baseline khc --format khc-json
          kernelkit harden check --config .config --baseline azure-linux \\
              --azl-package kernel-hwe
          kernelkit harden list --baseline kspp
          kernelkit harden explain kspp.PROC_KCORE
        """,
        subcommands: [HardenCheckCommand.self, HardenListCommand.self, HardenExplainCommand.self, HardenConvertCommand.self]
    )
}

extension Severity: ExpressibleByArgument {}

/// The baselines and waivers options shared by check and audit.
struct BaselineOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A shipped baseline's name or a policy file (.toml, or Azure Linux .json); repeatable. Default: kspp, kernel-hardening and azure-hyperv-6.18.", valueName: "NAME|FILE"))
    var baseline: [String] = []
    @Option(help: ArgumentHelp("With the Azure Linux JSON policy: the kernel package whose overrides apply (kernel, kernel-hwe, kernel-64k).", valueName: "PACKAGE"))
    var azlPackage: String?
    @Option(help: ArgumentHelp("A TOML file of [[waiver]] tables (rule, reason, owner, expires).", valueName: "FILE"))
    var waivers: String?

    func load() throws -> (baselines: [Baseline], waivers: [Waiver]) {
        let names = baseline.isEmpty ? ShippedBaselines.defaultNames : baseline
        var list = [Baseline]()
        for n in names { list.append(try ShippedBaselines.load(n)) }
        if let p = azlPackage, !AzureLinuxPolicy.packages.contains(p) {
            throw KernelKitError(.usage, "--azl-package is one of \(AzureLinuxPolicy.packages.joined(separator: ", "))")
        }
        return (list, try waivers.map { try WaiverFile.load(file: $0) } ?? [])
    }
}

/// Today's date, YYYY-MM-DD (UTC), for waiver expiry; KERNELKIT_TODAY overrides it.
func todayString() -> String {
    if let t = ProcessInfo.processInfo.environment["KERNELKIT_TODAY"] { return t }
    return UTCTimestamp.now.date
}

struct HardenCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a config (and a command line and sysctls) against baselines.",
        discussion: """
        Exit status: 0 when nothing fails at or above --fail-on, 1 when something does,
        2 for a usage or input error. Arch and version come from the config's header
        and can be overridden. --config takes a .config, /proc/config.gz or a kernel
        image built with CONFIG_IKCONFIG; several --config options check each in turn.
        --baseline khc makes every check kernel-hardening-checker makes (its -c, -l and
        -s are --config, --cmdline and --sysctl; its -m json is --format khc-json).

        Examples:
          kernelkit harden check --config .config
          kernelkit harden check --config /proc/config.gz --live \\
              --format junit > harden.xml
          kernelkit harden check --config .config --waivers waivers.toml \\
              --fail-on high
          kernelkit harden check --config .config --fix-fragment fix.config \\
              --tree /usr/src/linux
          kernelkit harden check --baseline khc --config .config \\
              --cmdline /proc/cmdline
        """
    )
    @Option(help: ArgumentHelp("A .config, /proc/config.gz or an IKCONFIG kernel image; repeatable.", valueName: "FILE"))
    var config: [String] = []
    @Option(help: ArgumentHelp("A kernel command line (as in /proc/cmdline).", valueName: "FILE")) var cmdline: String?
    @Option(help: ArgumentHelp("A `sysctl -a` dump.", valueName: "FILE")) var sysctl: String?
    @Flag(help: "Use the running system: /proc/cmdline and /proc/sys (and /proc/config.gz when no --config).") var live = false
    @OptionGroup var baselines: BaselineOptions
    @Option(help: ArgumentHelp("Override the arch (x86_64, x86_32, arm64, arm, riscv).", valueName: "ARCH")) var arch: String?
    @Option(help: ArgumentHelp("Override the kernel version (e.g. 6.18).", valueName: "VERSION")) var kernelVersion: String?
    @Option(help: "text, json, sarif, junit, or khc-json (kernel-hardening-checker's -m json, byte for byte).") var format: ReportFormat = .text
    @Option(help: "Fail (exit 1) only for findings of this severity or above: low, medium, high, critical.") var failOn: Severity = .low
    @Option(help: ArgumentHelp("Write a config fragment that makes every failing kconfig rule pass.", valueName: "OUT")) var fixFragment: String?
    @Option(help: ArgumentHelp("With --fix-fragment: a kernel tree to resolve the fixed config through, reporting values Kconfig would drop.", valueName: "KSRC")) var tree: String?
    @Flag(help: "In text, list passing and skipped rules too.") var verbose = false
    @Option(help: ArgumentHelp("Also write the findings as Prometheus metrics to DIR/kernelkit_harden.prom (node_exporter's textfile directory; one config).", valueName: "DIR"))
    var prometheusTextfile: String?

    func run() throws {
        try Terminal.run { try check() }
    }

    /// Exits once the reports are written, before its values are freed: the process ends
    /// anyway, and freeing 100 configs' findings and reports one by one was a third of
    /// such a run.
    private func check() throws -> Never {
        let (list, waivers) = try baselines.load()
        let archOverride = try arch.map { a -> Arch in
            guard let x = Arch(normalizing: a) else { throw KernelKitError(.usage, "unknown --arch \(a)") }
            return x
        }
        let versionOverride = try kernelVersion.map { v -> KernelVersion in
            guard let x = KernelVersion(v) else { throw KernelKitError(.usage, "--kernel-version takes MAJOR.MINOR, e.g. 6.18") }
            return x
        }
        let states = try SystemState.read(configs: config, cmdline: cmdline, sysctl: sysctl, live: live,
                                          arch: archOverride, version: versionOverride)
        var anyFailed = false
        var reports = [JSONValue]()
        if prometheusTextfile != nil && states.count > 1 {
            throw KernelKitError(.usage, "--prometheus-textfile describes one kernel: give one --config (or --live)")
        }
        // Each config is checked and its report made on its own thread (100 configs: the
        // second core halves the run); the reports are then written in the configs' order.
        let (package, today, format, failOn, verbose) = (baselines.azlPackage, todayString(), format, failOn, verbose)
        let color = Terminal.wantsColor
        let checked = Parallel.map(count: states.count, width: Parallel.cores) { i in
            Result { () throws(KernelKitError) -> (HardeningCheck, Report) in
                let result = try HardeningCheck(baselines: list, state: states[i], package: package,
                                                waivers: waivers, today: today)
                let report: Report
                switch format {
                case .text: report = .text(result.text(failOn: failOn, color: color, verbose: verbose))
                case .json: report = .json(result.json(failOn: failOn))
                case .sarif: report = .json(result.sarif(failOn: failOn, toolVersion: KernelKitVersion.string))
                case .junit: report = .text(result.junit())
                case .khcJSON: report = .json(result.khcJSON())
                }
                return (result, report)
            }
        }
        for (i, state) in states.enumerated() {
            let c = state.config
            let (result, report) = try checked[i].get()
            anyFailed = anyFailed || !result.failures(atOrAbove: failOn).isEmpty
            if let prometheusTextfile {
                try PrometheusTextfile.writeHarden(result, directory: prometheusTextfile)
            }
            switch report {
            case .text(let text):
                if format == .text && states.count > 1 { Terminal.write((i > 0 ? "\n" : "") + "== \(c?.path ?? "-")\n") }
                Terminal.write(text)
            case .json(let json): reports.append(json)
            }
            if let fixFragment, i == 0 {
                let fix = FixFragment(result)
                try AtomicFile.write(Array(fix.text().utf8), to: fixFragment)
                var note = "wrote \(fixFragment): \(fix.settings.count) setting(s)"
                if !fix.unfixable.isEmpty { note += "; no value follows for \(fix.unfixable.joined(separator: ", "))" }
                Terminal.error(note)
                if let tree, let base = c {
                    guard let arch = state.arch else { throw KernelKitError(.usage, "--tree needs the arch: give --arch") }
                    let resolver = KconfigResolver(srctree: tree, arch: arch.makeArch)
                    for d in try fix.dropped(base: base, resolver: resolver) {
                        if !d.exists {
                            Terminal.error("warning: CONFIG_\(d.name) does not exist in \(tree)")
                        } else {
                            Terminal.error("warning: CONFIG_\(d.name)=\(d.requested) would resolve to \(d.actual!.isEmpty ? "n" : d.actual!):")
                            if let dep = d.dependsOn { Terminal.error("    depends on: \(dep)") }
                            for line in d.chain { Terminal.error("    " + line) }
                        }
                    }
                }
            }
        }
        switch format {
        case .json: Terminal.write(reports.count == 1 ? reports[0].serialized() : JSONValue.serialized(array: reports))
        // kernel-hardening-checker's own bytes: print(json.dumps(output)).
        case .khcJSON: Terminal.write((reports.count == 1 ? reports[0] : .array(reports)).pythonSerialized() + "\n")
        case .sarif: Terminal.write(HardeningCheck.sarifLog(merging: reports).serialized())
        default: break
        }
        Glibc.exit(anyFailed ? 1 : 0)
    }

    /// One config's report: written as it is (text, JUnit), or one of the JSON documents
    /// written together at the end.
    private enum Report: Sendable {
        case text(String)
        case json(JSONValue)
    }
}

struct HardenListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the shipped baselines, or the rules of one.",
        discussion: """
        Examples:
          kernelkit harden list
          kernelkit harden list --baseline kspp
          kernelkit harden list --baseline my-policy.toml
        """
    )
    @Option(help: ArgumentHelp("List this baseline's rules.", valueName: "NAME|FILE")) var baseline: String?

    func run() throws {
        try Terminal.run {
            guard let baseline else {
                var out = ""
                for n in ShippedBaselines.names { out += try ShippedBaselines.named(n).summaryLine(name: n) }
                Terminal.write(out)
                return
            }
            let b = try ShippedBaselines.load(baseline)
            let out = b.ruleList
            Terminal.write(out)
        }
    }
}

struct HardenExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain a rule: what it checks, why, where it comes from.",
        discussion: """
        Example:
          kernelkit harden explain azh.LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY
        """
    )
    @Argument(help: "The rule id.") var rule: String
    @Option(help: ArgumentHelp("Look in these baselines (default: all shipped).", valueName: "NAME|FILE")) var baseline: [String] = []

    func run() throws {
        try Terminal.run {
            let names = baseline.isEmpty ? ShippedBaselines.names : baseline
            var all = [Rule]()
            for n in names { all += try ShippedBaselines.load(n).rules }
            guard let r = all.first(where: { $0.id == rule }) else {
                let close = all.map(\.id).filter { $0.lowercased().contains(rule.lowercased()) }.prefix(8)
                throw KernelKitError(.usage, "no rule '\(rule)'" + (close.isEmpty ? "" : "; did you mean: \(close.joined(separator: ", "))"))
            }
            Terminal.write(r.explanation(among: all))
        }
    }
}

struct HardenConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert Azure Linux's required-config JSON policy to a TOML baseline.",
        discussion: """
        The TOML gives the same verdicts: each entry becomes a rule per arch, and each
        package override a rule limited to that package.

        Example:
          kernelkit harden convert azl3-os-required-kernel-configs.json \\
              -o azure-linux.toml
        """
    )
    @Argument(help: "The JSON policy.") var json: String
    @Option(name: .shortAndLong, help: "Where to write the TOML (default: standard output).") var output: String?

    func run() throws {
        try Terminal.run {
            let text = AzureLinuxPolicy.toml(try AzureLinuxPolicy.load(file: json))
            if let output { try AtomicFile.write(Array(text.utf8), to: output) } else { Terminal.write(text) }
        }
    }
}

