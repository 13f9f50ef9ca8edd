import ArgumentParser
import KconfigKit
import KernelKitCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

struct ConfigDefconfigsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "defconfigs",
        abstract: "Resolve every defconfig of a kernel tree in one run, as make NAME_defconfig does.",
        discussion: """
        Writes DIR/ARCHDIR/NAME.config for each arch/ARCHDIR/configs/NAME, exactly as
        `make ARCH=… NAME` writes .config. The tree is loaded once per ARCH= (parse,
        menus, compiler probes) and each defconfig resolved against it; arches run
        concurrently. --savedefconfig also writes DIR/ARCHDIR/NAME.savedefconfig (what
        `make savedefconfig` writes next) and names the defconfigs it would change.
        Without a cross compiler for an arch, --dummy-tools stands in as the kernel's
        build robots do. Exit status: 0, 1 when some defconfig failed (the others are
        written), 2 for a bad tree or usage.

        Examples:
          kernelkit config defconfigs --tree /usr/src/linux-7.2 --dummy-tools \\
              -o out/
          kernelkit config defconfigs --tree /usr/src/linux --arch arm64 \\
              --arch riscv --match '*defconfig' --savedefconfig --dummy-tools \\
              -o out/
        """
    )

    @Option(help: "The kernel source tree.") var tree: String
    @Option(name: .shortAndLong, help: ArgumentHelp("The directory to write into (created).", valueName: "DIR")) var output: String
    @Flag(help: "Also write NAME.savedefconfig, the minimal defconfig make savedefconfig writes.") var savedefconfig = false
    @OptionGroup var batch: BatchTreeOptions

    func run() throws {
        var failed = 0
        try Terminal.run {
            let clock = ContinuousClock()
            let start = clock.now
            let groups = try batch.defconfigGroups(in: tree)
            let total = groups.reduce(0) { $0 + $1.names.count }
            try InputFile.makeParentDirectories(of: output + "/.")
            var jobs: [KconfigDefconfigBatch.Job] = []
            for g in groups {
                jobs.append(KconfigDefconfigBatch.Job(archDirectory: g.archDirectory, names: g.names,
                                                      resolver: try batch.resolver(srctree: tree, arch: g.arch, archDirectory: g.archDirectory)))
            }
            let writer = KconfigDefconfigBatch(tree: tree, output: output, savedefconfig: savedefconfig, total: total)
            let report = writer.run(jobs, width: batch.width)
            for line in report.failures { Terminal.error(line) }
            if savedefconfig, !report.stale.isEmpty {
                Terminal.write("stale (make savedefconfig differs from the tree's file): \(report.stale.count)\n")
                for s in report.stale.sorted() { Terminal.write("  \(s)\n") }
            }
            let t = (clock.now - start).components
            let tenths = Int(t.seconds) * 10 + Int(t.attoseconds / 100_000_000_000_000_000)
            Terminal.write("\(report.written) of \(total) defconfigs written to \(output) (\(groups.count) arches), \(report.failures.count) failed, \(tenths / 10).\(tenths % 10) s\n")
            failed = report.failures.count
        }
        if failed > 0 { throw ExitCode(1) }
    }
}

/// The batch behind `config defconfigs`: each job (one ARCH=) on a thread of its own, at
/// most `width` at once, each writing its files atomically as it goes.
final class KconfigDefconfigBatch: Sendable {
    struct Job: Sendable {
        var archDirectory: String
        var names: [String]
        var resolver: KconfigResolver
    }
    struct Report { var written = 0; var failures: [String] = []; var stale: [String] = [] }

    let tree: String, output: String, savedefconfig: Bool
    let total: Int
    private let state = Mutex(Report())
    private let progress = Progress("defconfigs")
    private let done = Mutex(0)

    init(tree: String, output: String, savedefconfig: Bool, total: Int) {
        (self.tree, self.output, self.savedefconfig, self.total) = (tree, output, savedefconfig, total)
    }

    func run(_ jobs: [Job], width: Int) -> Report {
        let treeErrors = Parallel.map(count: jobs.count, width: width) { [self] i -> KernelKitError? in
            do throws(KernelKitError) { try self.run(jobs[i]); return nil } catch { return error }
        }
        var report = state.withLock { $0 }
        for e in treeErrors.compactMap({ $0 }) { report.failures.append("kernelkit: \(e)") }
        return report
    }

    private func run(_ job: Job) throws(KernelKitError) {
        let dir = job.archDirectory
        let sources = job.names.map { KconfigResolver.ConfigSource.file("arch/\(dir)/configs/\($0)") }
        _ = try job.resolver.resolveDefconfigs(sources, savedefconfig: savedefconfig) { i, item in
            let name = job.names[i]
            let base = "\(output)/\(dir)/\(name)"
            var failure: String?
            if let r = item.result {
                do {
                    try InputFile.makeParentDirectories(of: base)
                    try AtomicFile.write(Array(r.config.utf8), to: base + ".config")
                    if let saved = item.savedDefconfig {
                        try AtomicFile.write(Array(saved.utf8), to: base + ".savedefconfig")
                        let original = (try? InputFile.readBytes("\(tree)/arch/\(dir)/configs/\(name)")) ?? []
                        if original != Array(saved.utf8) { state.withLock { $0.stale.append("arch/\(dir)/configs/\(name)") } }
                    }
                } catch { failure = "kernelkit: \(error)" }
            } else {
                failure = "kernelkit: \(item.error.map { "\($0)" } ?? "arch/\(dir)/configs/\(name): not resolved")"
            }
            state.withLock { s in if let failure { s.failures.append(failure) } else { s.written += 1 } }
            let n = done.withLock { d -> Int in d += 1; return d }
            progress.update(n, total)
        }
    }
}
