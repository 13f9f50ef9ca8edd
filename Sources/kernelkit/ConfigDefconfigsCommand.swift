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
    @Option(help: ArgumentHelp("Only this ARCH= (x86_64, i386, arm64, riscv…) or arch directory (x86); repeatable.", valueName: "ARCH"))
    var arch: [String] = []
    @Option(help: ArgumentHelp("Only defconfigs whose name matches this shell pattern (e.g. 'multi_v*').", valueName: "GLOB"))
    var match: String?
    @Option(name: .shortAndLong, help: ArgumentHelp("The directory to write into (created).", valueName: "DIR")) var output: String
    @Flag(help: "Also write NAME.savedefconfig, the minimal defconfig make savedefconfig writes.") var savedefconfig = false
    @Option(name: .customLong("set"), help: "A make variable, NAME=VALUE (LLVM=1, CC=…).") var variables: [String] = []
    @Flag(help: "Use the kernel's scripts/dummy-tools instead of a real toolchain (CROSS_COMPILE=KSRC/scripts/dummy-tools/), except for the host's own arch directory (x86 here).")
    var dummyTools = false
    @Flag(help: "Run every compiler probe instead of using cached results.") var noProbeCache = false
    @Option(help: "How many arches to resolve at once (default: the number of cores).") var jobs: Int?

    func run() throws {
        var failed = 0
        try Terminal.run {
            let clock = ContinuousClock()
            let start = clock.now
            var all = try KconfigResolver.defconfigs(inTree: tree)
            if !arch.isEmpty { all = all.filter { arch.contains($0.arch) || arch.contains($0.archDirectory) } }
            if let match { all = all.filter { fnmatch(match, $0.name, 0) == 0 } }
            if all.isEmpty { throw KernelKitError(.usage, "no defconfig in \(tree) matches the --arch and --match given") }
            try InputFile.makeParentDirectories(of: output + "/.")
            // One job per ARCH=: its defconfigs share one loaded tree.
            var groups: [(arch: String, items: [(archDirectory: String, arch: String, name: String)])] = []
            for d in all {
                if let i = groups.firstIndex(where: { $0.arch == d.arch }) { groups[i].items.append(d) } else { groups.append((d.arch, [d])) }
            }
            let host = KconfigDefconfigBatch.hostArch
            let jobs = [KconfigDefconfigBatch.Job](groups.map { g in
                KconfigDefconfigBatch.Job(arch: g.arch, defconfigs: g.items.map { ($0.archDirectory, $0.name) },
                                          dummyTools: dummyTools && g.items[0].archDirectory != KconfigEnvironment.srcarch(for: host))
            })
            let batch = KconfigDefconfigBatch(tree: tree, output: output, variables: variables, savedefconfig: savedefconfig,
                                              probeCache: noProbeCache ? nil : ProbeCache.defaultDirectory, total: all.count)
            let report = try batch.run(jobs, width: max(1, jobs.count == 1 ? 1 : (self.jobs ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))))
            for line in report.failures { Terminal.error(line) }
            if savedefconfig, !report.stale.isEmpty {
                Terminal.write("stale (make savedefconfig differs from the tree's file): \(report.stale.count)\n")
                for s in report.stale.sorted() { Terminal.write("  \(s)\n") }
            }
            let t = (clock.now - start).components
            let tenths = Int(t.seconds) * 10 + Int(t.attoseconds / 100_000_000_000_000_000)
            Terminal.write("\(report.written) of \(all.count) defconfigs written to \(output) (\(groups.count) arches), \(report.failures.count) failed, \(tenths / 10).\(tenths % 10) s\n")
            failed = report.failures.count
        }
        if failed > 0 { throw ExitCode(1) }
    }
}

/// The batch behind `config defconfigs`: each job (one ARCH=) on a thread of its own, at
/// most `width` at once, each writing its files atomically as it goes.
final class KconfigDefconfigBatch: Sendable {
    struct Job: Sendable {
        var arch: String
        var defconfigs: [(archDirectory: String, name: String)]
        var dummyTools: Bool
    }
    struct Report { var written = 0; var failures: [String] = []; var stale: [String] = [] }

    let tree: String, output: String, variables: [String], savedefconfig: Bool, probeCache: String?
    let total: Int
    private let state = Mutex(Report())
    private let progress = Progress("defconfigs")
    private let done = Mutex(0)

    init(tree: String, output: String, variables: [String], savedefconfig: Bool, probeCache: String?, total: Int) {
        (self.tree, self.output, self.variables, self.savedefconfig, self.probeCache, self.total) =
            (tree, output, variables, savedefconfig, probeCache, total)
    }

    /// The ARCH= of this machine: its arch directory (x86 for x86_64 and i386) uses the
    /// host's own compiler even with --dummy-tools, so real compiler probes are made.
    static var hostArch: String {
        var u = utsname()
        uname(&u)
        let m = withUnsafeBytes(of: u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return m == "aarch64" ? "arm64" : m
    }

    func run(_ jobs: [Job], width: Int) throws(KernelKitError) -> Report {
        let treeErrors = Parallel.map(count: jobs.count, width: width) { [self] i -> KernelKitError? in
            do throws(KernelKitError) { try self.run(jobs[i]); return nil } catch { return error }
        }
        var report = state.withLock { $0 }
        for e in treeErrors.compactMap({ $0 }) { report.failures.append("kernelkit: \(e)") }
        return report
    }

    private func run(_ job: Job) throws(KernelKitError) {
        let overrides = try KconfigResolver.makeVariables(variables, dummyToolsIn: job.dummyTools ? tree : nil)
        let resolver = KconfigResolver(srctree: tree, arch: job.arch, overrides: overrides, probeCacheDirectory: probeCache)
        let sources = job.defconfigs.map { KconfigResolver.ConfigSource.file("arch/\($0.archDirectory)/configs/\($0.name)") }
        _ = try resolver.resolveDefconfigs(sources, savedefconfig: savedefconfig) { i, item in
            let (dir, name) = job.defconfigs[i]
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
