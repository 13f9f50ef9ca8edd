import ArgumentParser
import KconfigKit
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// The options of the commands that resolve many configs of a tree, arch by arch
/// (`config defconfigs`, `config impact`): which defconfigs, the toolchain, the probe
/// cache and how many arches at once.
struct BatchTreeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only this ARCH= (x86_64, i386, arm64, riscv…) or arch directory (x86); repeatable.", valueName: "ARCH"))
    var arch: [String] = []
    @Option(help: ArgumentHelp("Only defconfigs whose name matches this shell pattern (e.g. 'multi_v*').", valueName: "GLOB"))
    var match: String?
    @Option(name: .customLong("set"), help: "A make variable, NAME=VALUE (LLVM=1, CC=…).") var variables: [String] = []
    @Flag(help: "Use the kernel's scripts/dummy-tools instead of a real toolchain (CROSS_COMPILE=KSRC/scripts/dummy-tools/), except for the host's own arch directory (x86 here).")
    var dummyTools = false
    @Flag(help: "Run every compiler probe instead of using cached results.") var noProbeCache = false
    @Option(help: "How many arches to resolve at once (default: the number of cores).") var jobs: Int?

    /// The tree's defconfigs that --arch and --match select, one group per ARCH= (its
    /// defconfigs share one loaded tree).
    func defconfigGroups(in tree: String) throws(KernelKitError) -> [(arch: String, archDirectory: String, names: [String])] {
        var all = try KconfigResolver.defconfigs(inTree: tree)
        if !arch.isEmpty { all = all.filter { arch.contains($0.arch) || arch.contains($0.archDirectory) } }
        if let match { all = all.filter { fnmatch(match, $0.name, 0) == 0 } }
        if all.isEmpty { throw KernelKitError(.usage, "no defconfig in \(tree) matches the --arch and --match given") }
        var groups: [(arch: String, archDirectory: String, names: [String])] = []
        for d in all {
            if let i = groups.firstIndex(where: { $0.arch == d.arch }) { groups[i].names.append(d.name) } else { groups.append((d.arch, d.archDirectory, [d.name])) }
        }
        return groups
    }

    /// A resolver of `srctree` for `arch`, whose arch directory is `archDirectory`: with
    /// --dummy-tools, the kernel's stand-in toolchain, except where the host's own
    /// compiler builds (its arch directory), so that those probes are real.
    func resolver(srctree: String, arch: String, archDirectory: String) throws(KernelKitError) -> KconfigResolver {
        let dummy = dummyTools && archDirectory != KconfigResolver.hostArchDirectory
        let overrides = try KconfigResolver.makeVariables(variables, dummyToolsIn: dummy ? srctree : nil)
        return KconfigResolver(srctree: srctree, arch: arch, overrides: overrides,
                               probeCacheDirectory: noProbeCache ? nil : ProbeCache.defaultDirectory)
    }

    var width: Int { max(1, jobs ?? Parallel.cores) }
}
