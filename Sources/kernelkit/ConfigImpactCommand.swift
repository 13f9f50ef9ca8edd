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
    @Flag(help: "Compare the tree's defconfigs (the default without --config).") var defconfigs = false
    @Option(help: ArgumentHelp("A config to compare, resolved as make olddefconfig; repeatable. Needs --arch.", valueName: "FILE"))
    var config: [String] = []
    @Option(help: "text or json (schema kernelkit.config-impact/1).") var format: OutputFormat = .text
    @Flag(help: "Explain each changed option on the new tree (config why).") var why = false
    @OptionGroup var batch: BatchTreeOptions

    enum OutputFormat: String, ExpressibleByArgument { case text, json }

    func validate() throws {
        if patch == nil, tree.count != 2 { throw ValidationError("give --tree OLD --tree NEW, or --tree OLD --patch FILE") }
        if patch != nil, tree.count != 1 { throw ValidationError("with --patch, give one --tree (the old one)") }
        if defconfigs, !config.isEmpty { throw ValidationError("--defconfigs and --config do not go together") }
        if !config.isEmpty, batch.arch.isEmpty { throw ValidationError("--config needs --arch (the ARCH= to resolve it for)") }
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
                for g in try batch.defconfigGroups(in: old) {
                    jobs.append((g.arch, g.archDirectory, g.names.map { .defconfig(archDirectory: g.archDirectory, name: $0) }))
                }
            } else {
                for file in config { _ = try InputFile.readBytes(file) } // a bad file is a usage error, before any work
                for a in batch.arch {
                    jobs.append((a, KconfigEnvironment.srcarch(for: a), config.map { .file(InputFile.absolutePath($0)) }))
                }
            }
            // Resolvers made here, where a bad --set is a usage error before any work.
            var resolvers: [(old: KconfigResolver, new: KconfigResolver)] = []
            for job in jobs {
                resolvers.append((try batch.resolver(srctree: old, arch: job.arch, archDirectory: job.dir),
                                  try batch.resolver(srctree: new, arch: job.arch, archDirectory: job.dir)))
            }
            let explain = why, pairs = resolvers
            let progress = Progress("impact")
            let finished = Mutex(0)
            let total = jobs.count
            let work = jobs
            let results = Parallel.map(count: jobs.count, width: batch.width) { i -> Result<[ConfigImpact.Item], KernelKitError> in
                let job = work[i]
                let r = Result { () throws(KernelKitError) -> [ConfigImpact.Item] in
                    try ConfigImpact.compare(arch: job.arch, inputs: job.inputs, old: pairs[i].old, new: pairs[i].new, why: explain)
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
