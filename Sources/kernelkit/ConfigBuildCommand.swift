import ArgumentParser
import KernelAudit
import KernelKitCore

struct ConfigBuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build the 6.18 Hyper-V/Azure kernel config: the Azure Linux base plus KernelKit's fragments.",
        discussion: """
        Merges, as merge_config.sh -m does, the fragments that
        kconfigs/6.18/manifest.toml lists for the arch and flavour onto the Azure Linux
        4.0 base config. With --tree it resolves the result through that kernel tree's
        Kconfig (olddefconfig) and fails if a requested value is dropped, giving the
        dependency chain for each; symbols the tree does not have are listed
        separately. (No 6.18 tree is available here: use the nearest, 6.12 or 7.2.)

        Examples:
          kernelkit config build --arch x86_64 -o azure-6.18.config
          kernelkit config build --arch arm64 --flavour hyperv \\
              --tree /usr/src/linux-7.2 -o .config
        """
    )
    @Option(help: "x86_64 or arm64 (aarch64 too).") var arch: Arch
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
                let resolved = try BundledKernelResolution(build, srctree: tree, arch: arch)
                config = resolved.config
                if !resolved.unknown.isEmpty {
                    Terminal.error("\(resolved.unknown.count) symbol(s) not in \(tree): " + resolved.unknown.map { "CONFIG_\($0.name)" }.joined(separator: ", "))
                }
                for (d, entry) in resolved.lost {
                    Terminal.error("\(entry.location): error: CONFIG_\(d.name)=\(d.requested) resolves to \(d.actual.map { $0.isEmpty ? "n" : $0 } ?? "n")")
                    if let dep = d.dependsOn { Terminal.error("    depends on: \(dep)") }
                    for line in d.chain { Terminal.error("    " + line) }
                }
                failed = !resolved.lost.isEmpty
                Terminal.error("\(resolved.kept) of \(resolved.requested) requested values kept by \(tree)'s Kconfig")
            }
            if let output { try AtomicFile.write(config, to: output) } else { Terminal.write(bytes: config) }
        }
        if failed { throw ExitCode(1) }
    }
}
