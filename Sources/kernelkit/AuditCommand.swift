import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import HardeningKit
import KconfigKit
import KernelKitCore

/// The host's arch in the manifest's terms, falling back to x86_64.
func hostArch() -> String {
    var u = utsname()
    uname(&u)
    let machine = withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    return machine == "aarch64" || machine == "arm64" ? "arm64" : "x86_64"
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
    @Option(help: "x86_64 or arm64 (default: the host's, else x86_64).") var arch: String?
    @Option(help: "A flavour from kconfigs/6.18/manifest.toml (default: the first for the arch, azure).") var flavour: String?
    @Option(name: .long, help: ArgumentHelp("Baselines to check against (default: azure-hyperv-6.18); repeatable.", valueName: "NAME|FILE"))
    var baseline: [String] = []
    @Option(help: ArgumentHelp("A waivers file.", valueName: "FILE")) var waivers: String?
    @Option(help: "text, json or sarif.") var format: String = "text"
    @Option(help: "Fail (exit 1) for findings of this severity or above.") var failOn: Severity = .low
    @Option(help: ArgumentHelp("Read kconfigs/ from this checkout instead of the built-in copy.", valueName: "DIR")) var kconfigs: String?

    func run() throws {
        var failed = false
        try Terminal.run {
            guard ["text", "json", "sarif"].contains(format) else { throw KernelKitError(.usage, "--format is text, json or sarif") }
            let names = baseline.isEmpty ? ["azure-hyperv-6.18"] : baseline
            var list = [Baseline]()
            for n in names { list.append(try ShippedBaselines.load(n)) }
            let w = try waivers.map { try WaiverFile.load(file: $0) } ?? []
            let audit = try Audit(arch: arch ?? hostArch(), flavour: flavour, baselines: list, waivers: w,
                                  today: todayString(), directory: kconfigs)
            failed = !audit.check.failures(atOrAbove: failOn).isEmpty
            switch format {
            case "json": Terminal.write(audit.json(failOn: failOn).serialized())
            case "sarif": Terminal.write(audit.check.sarif(failOn: failOn, toolVersion: KernelKitVersion.string).serialized())
            default: Terminal.write(audit.text(failOn: failOn, color: Terminal.wantsColor))
            }
        }
        if failed { throw ExitCode(1) }
    }
}

struct ConfigBuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build the 6.18 Hyper-V/Azure kernel config: the Azure Linux base plus KernelKit's fragments.",
        discussion: """
        Merges, as merge_config.sh -m does, the fragments that kconfigs/6.18/manifest.toml
        lists for the arch and flavour onto the Azure Linux 4.0 base config. With --tree it
        resolves the result through that kernel tree's Kconfig (olddefconfig) and fails if
        a requested value is dropped, giving the dependency chain for each; symbols the
        tree does not have are listed separately. (No 6.18 tree is available here: use the
        nearest, 6.12 or 7.2.)

        Examples:
          kernelkit config build --arch x86_64 -o azure-6.18.config
          kernelkit config build --arch arm64 --flavour hyperv --tree /usr/src/linux-7.2 -o .config
        """
    )
    @Option(help: "x86_64 or arm64.") var arch: String
    @Option(help: "A flavour from the manifest (default: the first for the arch).") var flavour: String?
    @Option(name: .shortAndLong, help: "Where to write the config (default: standard output).") var output: String?
    @Option(help: ArgumentHelp("Resolve through this kernel tree's Kconfig.", valueName: "KSRC")) var tree: String?
    @Option(help: ArgumentHelp("Read kconfigs/ from this checkout instead of the built-in copy.", valueName: "DIR")) var kconfigs: String?

    func run() throws {
        var failed = false
        try Terminal.run {
            let build = try BundledKernel.build(arch: arch, flavour: flavour, directory: kconfigs)
            var config = build.config
            if let tree {
                let resolver = KconfigResolver(srctree: tree, arch: arch)
                let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("kernelkit-build-\(UUID().uuidString).config").path
                try AtomicFile.write(build.config, to: tmp)
                defer { try? FileManager.default.removeItem(atPath: tmp) }
                config = Array(try resolver.resolve(.olddefconfig(tmp)).config.utf8)
                let requests = build.finalRequests.map { (name: $0.name, value: ConfigValue.unquote($0.value)) }
                let dropped = try resolver.loadTree().droppedRequests(configBytes: build.config, configName: tmp, requests: requests)
                let unknown = dropped.filter { !$0.exists }, lost = dropped.filter(\.exists)
                if !unknown.isEmpty {
                    Terminal.error("\(unknown.count) symbol(s) not in \(tree): " + unknown.map { "CONFIG_\($0.name)" }.joined(separator: ", "))
                }
                for d in lost {
                    let entry = build.finalRequests.first { $0.name == d.name }!
                    Terminal.error("\(entry.location): error: CONFIG_\(d.name)=\(d.requested) resolves to \(d.actual!.isEmpty ? "n" : d.actual!)")
                    if let dep = d.dependsOn { Terminal.error("    depends on: \(dep)") }
                    for line in d.chain { Terminal.error("    " + line) }
                }
                failed = !lost.isEmpty
                Terminal.error("\(build.finalRequests.count - dropped.count) of \(build.finalRequests.count) requested values kept by \(tree)'s Kconfig")
            }
            if let output { try AtomicFile.write(config, to: output) } else { Terminal.write(bytes: config) }
        }
        if failed { throw ExitCode(1) }
    }
}
