import ArgumentParser
import KconfigKit
import KernelKitCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

struct ConfigImpactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "impact",
        abstract: "What a Kconfig change does to configs: each resolved through the old tree and the new.",
        discussion: """
        Resolves every defconfig (--defconfigs, the default) or the configs given
        (--config FILE, as make olddefconfig) through the old tree and through the new
        one, per arch, and lists the options whose resolved value differs: what
        scripts/diffconfig would print between `make` on the two trees, with tristate
        moves marked. --patch FILE stands for the new tree: the old one with that
        unified diff applied (GNU patch on copies of the files it touches; the tree is
        not written). --why explains each changed option on the new tree, as config why
        does. Exit status: 0; 1 when a config failed to resolve; 2 for usage or bad
        input (a patch that does not apply, a tree that is not a kernel tree).

        Examples:
          kernelkit config impact --tree linux-7.2 --tree linux-7.2-next \\
              --arch x86_64 --arch arm64
          kernelkit config impact --tree linux-7.2 --patch 0001-mm-default.patch \\
              --dummy-tools
          kernelkit config impact --tree linux-7.2 --patch fix.patch \\
              --config my.config --arch x86_64 --why
        """
    )

    @Option(help: ArgumentHelp("The old tree, then the new tree (or give --patch instead of the second).", valueName: "KSRC"))
    var tree: [String] = []
    @Option(help: ArgumentHelp("A unified diff (git diff, diff -u; -p1 paths) that makes the new tree from the old.", valueName: "FILE"))
    var patch: String?
    @Option(help: ArgumentHelp("Only this ARCH= or arch directory; repeatable (default: every arch for --defconfigs).", valueName: "ARCH"))
    var arch: [String] = []
    @Flag(help: "Compare the tree's defconfigs (the default without --config).") var defconfigs = false
    @Option(help: ArgumentHelp("A config to compare, resolved as make olddefconfig; repeatable. Needs --arch.", valueName: "FILE"))
    var config: [String] = []
    @Option(help: ArgumentHelp("With --defconfigs: only names matching this shell pattern.", valueName: "GLOB")) var match: String?
    @Option(help: "text or json (schema kernelkit.config-impact/1).") var format: OutputFormat = .text
    @Flag(help: "Explain each changed option on the new tree (config why).") var why = false
    @Option(name: .customLong("set"), help: "A make variable, NAME=VALUE (LLVM=1, CC=…).") var variables: [String] = []
    @Flag(help: "Use the kernel's scripts/dummy-tools as the toolchain, except for the host's own arch directory.")
    var dummyTools = false
    @Flag(help: "Run every compiler probe instead of using cached results.") var noProbeCache = false
    @Option(help: "How many arches to resolve at once (default: the number of cores).") var jobs: Int?

    enum OutputFormat: String, ExpressibleByArgument { case text, json }

    func validate() throws {
        if patch == nil, tree.count != 2 { throw ValidationError("give --tree OLD --tree NEW, or --tree OLD --patch FILE") }
        if patch != nil, tree.count != 1 { throw ValidationError("with --patch, give one --tree (the old one)") }
        if defconfigs, !config.isEmpty { throw ValidationError("--defconfigs and --config do not go together") }
        if !config.isEmpty, arch.isEmpty { throw ValidationError("--config needs --arch (the ARCH= to resolve it for)") }
    }

    func run() throws {
        var failed = false
        try Terminal.run {
            let old = tree[0]
            let patched: PatchedTree? = try patch.map { p throws(KernelKitError) in try PatchedTree(base: old, patch: p) }
            let new = patched?.path ?? tree[1]
            // Per ARCH=: its inputs, and the arch directory (for the host-compiler rule).
            var jobs: [(arch: String, dir: String, inputs: [ConfigImpact.Input])] = []
            if config.isEmpty {
                var all = try KconfigResolver.defconfigs(inTree: old)
                if !arch.isEmpty { all = all.filter { arch.contains($0.arch) || arch.contains($0.archDirectory) } }
                if let match { all = all.filter { fnmatch(match, $0.name, 0) == 0 } }
                if all.isEmpty { throw KernelKitError(.usage, "no defconfig in \(old) matches the --arch and --match given") }
                for d in all {
                    let input = ConfigImpact.Input.defconfig(archDirectory: d.archDirectory, name: d.name)
                    if let i = jobs.firstIndex(where: { $0.arch == d.arch }) { jobs[i].inputs.append(input) } else { jobs.append((d.arch, d.archDirectory, [input])) }
                }
            } else {
                for file in config { _ = try InputFile.readBytes(file) } // a bad file is a usage error, before any work
                for a in arch {
                    jobs.append((a, KconfigEnvironment.srcarch(for: a), config.map { .file(InputFile.absolutePath($0)) }))
                }
            }
            let host = KconfigEnvironment.srcarch(for: KconfigDefconfigBatch.hostArch)
            let overrides = variables, dummy = dummyTools, cache = noProbeCache ? nil : ProbeCache.defaultDirectory, explain = why
            let progress = Progress("impact")
            let finished = Mutex(0)
            let total = jobs.count
            let work = jobs
            let results = Parallel.map(count: jobs.count, width: self.jobs ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) { i -> Result<[ConfigImpact.Item], KernelKitError> in
                let job = work[i]
                let r = Result { () throws(KernelKitError) -> [ConfigImpact.Item] in
                    func resolver(_ srctree: String) throws(KernelKitError) -> KconfigResolver {
                        let vars = try KconfigResolver.makeVariables(overrides, dummyToolsIn: dummy && job.dir != host ? srctree : nil)
                        return KconfigResolver(srctree: srctree, arch: job.arch, overrides: vars, probeCacheDirectory: cache)
                    }
                    return try ConfigImpact.compare(arch: job.arch, inputs: job.inputs, old: try resolver(old), new: try resolver(new), why: explain)
                }
                progress.update(finished.withLock { $0 += 1; return $0 }, total)
                return r
            }
            var items: [ConfigImpact.Item] = []
            for (job, r) in zip(jobs, results) {
                switch r {
                case .success(let list): items += list
                case .failure(let e):
                    items += job.inputs.map { ConfigImpact.Item(arch: job.arch, config: $0.label, diff: nil, error: e) }
                }
            }
            let impact = ConfigImpact(items: items)
            switch format {
            case .text: Terminal.write(impact.text(color: Terminal.wantsColor))
            case .json: Terminal.write(impact.json(oldTree: old, newTree: patch.map { "\(old) + \($0)" } ?? new).serialized() + "\n")
            }
            failed = items.contains { $0.error != nil }
            withExtendedLifetime(patched) {}
        }
        if failed { throw ExitCode(1) }
    }
}
