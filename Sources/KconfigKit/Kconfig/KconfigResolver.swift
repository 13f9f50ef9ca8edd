import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// Resolves configs through a kernel tree: the operations of `conf` behind `make
/// ARCH=… olddefconfig`, `*_defconfig`, `alldefconfig`, `allnoconfig`, `allyesconfig`
/// and `allmodconfig`.
public struct KconfigResolver: Sendable {
    /// A config a mode reads: a file, or bytes already in memory (a config built in
    /// process, as `config build --tree` resolves one), with the name messages give it.
    public enum ConfigSource: Sendable {
        /// A path; a relative one that does not exist here is taken relative to the tree,
        /// as make's `NAME_defconfig` targets find `arch/*/configs/NAME_defconfig`.
        case file(String)
        case bytes([UInt8], name: String)
    }

    public enum Mode: Sendable {
        case olddefconfig(ConfigSource)
        case defconfig(ConfigSource)
        case alldefconfig, allnoconfig, allyesconfig, allmodconfig
        /// `make randconfig` with `KCONFIG_SEED` (and `KCONFIG_PROBABILITY`) as given;
        /// the result's `stdout` starts with conf's `KCONFIG_SEED=0x…` line.
        case randconfig(RandomConfig)
        /// `make savedefconfig` of this config: the result is the minimal defconfig.
        case savedefconfig(ConfigSource)
        /// `make listnewconfig` of this config: the result lists the new symbols.
        case listnewconfig(ConfigSource)
        /// `make helpnewconfig` of this config: each new symbol with its help screen.
        case helpnewconfig(ConfigSource)
        /// `make oldconfig` of this config, answering conf's questions from `answers`;
        /// the result's `stdout` holds the questions (and the answers, echoed unless
        /// `interactive`), `config` the new .config.
        case oldconfig(ConfigSource, answers: @Sendable () -> String?, interactive: Bool)
    }

    /// make's command-line variables from `NAME=VALUE` words (`--set CROSS_COMPILE=…`),
    /// and with `dummyTools` the kernel's own stand-in toolchain as CROSS_COMPILE.
    public static func makeVariables(_ assignments: [String], dummyToolsIn srctree: String? = nil)
        throws(KernelKitError) -> [String: String] {
        var overrides: [String: String] = [:]
        for v in assignments {
            guard let eq = v.firstIndex(of: "=") else {
                throw KernelKitError(.usage, "--set expects NAME=VALUE, got '\(v)'")
            }
            overrides[String(v[..<eq])] = String(v[v.index(after: eq)...])
        }
        // scripts/dummy-tools/gcc answers every compiler probe as a capable gcc would, so
        // that configs resolve on a machine without the arch's cross compiler. An absolute
        // path, as CROSS_COMPILE is used from other directories.
        if let srctree { overrides["CROSS_COMPILE"] = "\(ProbeCache.realPath(srctree) ?? srctree)/scripts/dummy-tools/" }
        return overrides
    }

    public struct Result: Sendable {
        /// The .config text conf writes.
        public var config: String
        /// What conf prints on standard output and standard error.
        public var stdout: String
        public var stderr: String
        /// include/config/auto.conf and include/generated/autoconf.h, when asked for.
        public var autoconf: (autoConf: String, header: String)? = nil

        /// Writes ``autoconf`` where `make syncconfig` writes it below the build directory
        /// (`O=`): `include/config/auto.conf` and `include/generated/autoconf.h`, each
        /// atomically, creating the directories. Nothing when the result has none.
        public func writeAutoconf(toBuildDirectory dir: String) throws(KernelKitError) {
            guard let files = autoconf else { return }
            for (path, text) in [("include/config/auto.conf", files.autoConf), ("include/generated/autoconf.h", files.header)] {
                let full = "\(dir)/\(path)"
                try InputFile.makeParentDirectories(of: full)
                try AtomicFile.write(Array(text.utf8), to: full)
            }
        }
    }

    public let srctree: String
    /// make's `ARCH=`: any arch the tree has (not only those ``Arch`` knows).
    public let arch: String
    public let kconfig: String
    public let overrides: [String: String]
    /// Where compiler probe results are cached; nil runs every probe.
    public let probeCacheDirectory: String?
    /// The process ends after this resolution (a command-line run): the tree that
    /// ``resolve(_:allConfig:autoconf:)`` or ``loadTree()`` loads is left to the process's
    /// exit, as conf leaves its symbol table, instead of being taken apart object by object
    /// (a quarter of a whole-process warm olddefconfig). Batches free each tree as before.
    public let processExitsAfterwards: Bool

    public init(srctree: String, arch: String, kconfig: String = "Kconfig", overrides: [String: String] = [:],
                probeCacheDirectory: String? = nil, processExitsAfterwards: Bool = false) {
        self.srctree = srctree
        self.arch = arch
        self.kconfig = kconfig
        self.overrides = overrides
        self.probeCacheDirectory = probeCacheDirectory
        self.processExitsAfterwards = processExitsAfterwards
    }

    /// Resolves `mode`; for the all*config modes, `allConfig` holds the bytes that
    /// `KCONFIG_ALLCONFIG` would name (values that stay fixed), as merge_config.sh uses it.
    /// Loads the tree (environment, probes) once, for explanations and repeated work.
    public func loadTree() throws(KernelKitError) -> KconfigTree {
        let tree = try loadTree(deferChecks: false)
        if processExitsAfterwards { _ = Unmanaged.passRetained(tree) }
        return tree
    }

    func loadTree(deferChecks: Bool) throws(KernelKitError) -> KconfigTree {
        let root = self.srctree
        // The cache is keyed by the environment before the version texts are added, so the
        // texts themselves (two more processes) can come from it.
        var cache: ProbeCache? = nil
        let env = try KconfigEnvironment.make(srctree: srctree, arch: arch, overrides: overrides) { command, base in
            if cache == nil, let dir = probeCacheDirectory { cache = ProbeCache(srctree: root, environment: base, directory: dir) }
            let run = { (c: String) in Preprocessor.runShell(c, environment: base, directory: root) }
            return cache?.result(of: command, run: run) ?? run(command)
        }
        // On a cold cache, quick passes over the Kconfig files with a stand-in shell (cached
        // results where known, "" otherwise) list the probe commands, which then run
        // concurrently. Commands built from earlier results (the -m64 flag, the compiler's
        // name) only appear once those are known, hence a few rounds. The real pass below
        // finds the results cached; anything still missing runs then, one at a time.
        if let cache, cache.startedCold {
            let cores = Parallel.cores
            for _ in 0..<4 {
                var commands: [String] = []
                let lister: (String) -> String = { command in
                    if let known = cache.cached(command) { return known }
                    commands.append(command)
                    return ""
                }
                _ = try? KconfigTree.load(srctree: srctree, kconfig: kconfig, environment: env, shell: lister, parseOnly: true)
                if commands.isEmpty { break }
                // Quiet: some listed commands are built from the stand-in "" of a probe not
                // yet answered (`expr  \>= 10000`), and their complaints are not conf's.
                cache.prefetch(commands, width: max(2, cores * 2)) { Preprocessor.runShell($0, environment: env, directory: root, quiet: true) }
            }
        }
        do {
            let shell: (String) -> String = { command in
                let run = { (c: String) in Preprocessor.runShell(c, environment: env, directory: root) }
                return cache?.result(of: command, run: run) ?? run(command)
            }
            let tree = try KconfigTree.load(srctree: srctree, kconfig: kconfig, environment: env, shell: shell,
                                            deferChecks: deferChecks)
            if let cache, getenv("KERNELKIT_DEBUG_PROBES") != nil {
                tree.stderr("probes: \(cache.hits) cached, \(cache.misses) run\n")
            }
            cache?.save()
            return tree
        }
    }

    /// With `autoconf`, the resolving modes (olddefconfig, defconfig, all*config) also give
    /// what `make syncconfig` would write next to the .config.
    public func resolve(_ mode: Mode, allConfig: (name: String, bytes: [UInt8])? = nil,
                        autoconf: Bool = false) throws(KernelKitError) -> Result {
        // oldconfig asks questions (on a terminal, as they come): conf would have failed
        // its checks before the first one, so there the checks run first.
        if case .oldconfig = mode {
            return try resolve(mode, tree: try loadTree(), allConfig: allConfig, autoconf: autoconf)
        }
        let tree = try loadTree(deferChecks: true)
        if processExitsAfterwards { _ = Unmanaged.passRetained(tree) }
        return try tree.alongsideChecks { () throws(KernelKitError) -> Result in
            try resolve(mode, tree: tree, allConfig: allConfig, autoconf: autoconf)
        }
    }

    private func resolve(_ mode: Mode, tree: KconfigTree, allConfig: (name: String, bytes: [UInt8])?,
                         autoconf: Bool) throws(KernelKitError) -> Result {
        func read(_ source: ConfigSource) throws(KernelKitError) -> [UInt8] {
            switch source {
            case .bytes(let bytes, _): return bytes
            case .file(let path):
                let full = path.hasPrefix("/") || InputFile.exists(path) ? path : "\(srctree)/\(path)"
                return try InputFile.readBytes(full)
            }
        }
        if let allConfig {
            switch mode {
            case .alldefconfig, .allnoconfig, .allyesconfig, .allmodconfig, .randconfig:
                tree.readUserValues(bytes: allConfig.bytes, name: allConfig.name)
            default: break
            }
        }
        switch mode {
        case .savedefconfig(let path):
            tree.readConfig(bytes: try read(path), name: path.name)
            return Result(config: tree.writeDefconfig(), stdout: tree.standardOutput, stderr: tree.standardError)
        case .listnewconfig(let path):
            tree.readConfig(bytes: try read(path), name: path.name)
            return Result(config: tree.listNewConfig(), stdout: tree.standardOutput, stderr: tree.standardError)
        case .helpnewconfig(let path):
            tree.readConfig(bytes: try read(path), name: path.name)
            return Result(config: tree.helpNewConfig(), stdout: tree.standardOutput, stderr: tree.standardError)
        case .oldconfig(let path, let answers, let interactive):
            tree.readConfig(bytes: try read(path), name: path.name)
            let session = InteractiveConf(tree: tree, mode: .oldconfig, answers: answers, inputIsTerminal: interactive)
            session.run()
            let config = tree.writeConfig()
            return Result(config: config, stdout: tree.standardOutput + session.output, stderr: tree.standardError)
        case .olddefconfig(let path):
            tree.readConfig(bytes: try read(path), name: path.name)
        case .defconfig(let path):
            tree.readConfig(bytes: try read(path), name: path.name)
            tree.setAllNewSymbols(.defaults)
        case .alldefconfig: tree.setAllNewSymbols(.defaults)
        case .allnoconfig: tree.setAllNewSymbols(.no)
        case .allyesconfig: tree.setAllNewSymbols(.yes)
        case .allmodconfig: tree.setAllNewSymbols(.module)
        case .randconfig(let r): tree.setAllNewSymbolsRandomly(r)
        }
        let config = tree.writeConfig()
        var result = Result(config: config, stdout: tree.standardOutput, stderr: tree.standardError)
        // conf prints the seed while reading its options, before the Kconfig files are read.
        if case .randconfig(let r) = mode { result.stdout = "KCONFIG_SEED=0x\(String(r.seed, radix: 16, uppercase: true))\n" + result.stdout }
        if autoconf { result.autoconf = tree.writeAutoconf() }
        return result
    }
}

extension KconfigResolver.Mode {
    /// The config the mode reads, if any.
    public var source: KconfigResolver.ConfigSource? {
        switch self {
        case .olddefconfig(let s), .defconfig(let s), .savedefconfig(let s), .listnewconfig(let s), .helpnewconfig(let s),
             .oldconfig(let s, _, _): s
        case .alldefconfig, .allnoconfig, .allyesconfig, .allmodconfig, .randconfig: nil
        }
    }
}

extension KconfigResolver.ConfigSource {
    /// The name conf's messages give the config.
    public var name: String {
        switch self {
        case .file(let path): path
        case .bytes(_, let name): name
        }
    }
}

// MARK: Many configs against one tree

extension KconfigResolver {
    /// One config of a batch: conf's output for it, or the error that stopped it.
    public struct BatchResult: Sendable {
        public var source: ConfigSource
        public var result: Result?
        /// With `savedefconfig`, what `make savedefconfig` writes after `make NAME`.
        public var savedDefconfig: String?
        public var error: KernelKitError?
    }

    /// Resolves each defconfig as `make ARCH=… NAME` does, loading the tree once (its
    /// parse, menu finalisation, checks and probes: most of a run) and putting the symbol
    /// state back after each (``KconfigTree/restore(_:)``), so that each result is what a
    /// fresh conf process writes. A config that cannot be read is reported in its result
    /// and the others go on; a tree that does not load is thrown.
    public func resolveDefconfigs(_ sources: [ConfigSource], savedefconfig: Bool = false,
                                  progress: (Int, BatchResult) -> Void = { _, _ in }) throws(KernelKitError) -> [BatchResult] {
        try resolveBatch(sources.map { .defconfig($0) }, savedefconfig: savedefconfig, progress: progress)
    }

    /// Resolves each mode (defconfig, olddefconfig, all*config, randconfig) against one
    /// loaded tree, as ``resolveDefconfigs(_:savedefconfig:progress:)`` does; `allConfig`
    /// (KCONFIG_ALLCONFIG) is read anew for each all*config and randconfig.
    public func resolveBatch(_ modes: [Mode], savedefconfig: Bool = false, allConfig: (name: String, bytes: [UInt8])? = nil,
                             progress: (Int, BatchResult) -> Void = { _, _ in }) throws(KernelKitError) -> [BatchResult] {
        let tree = try loadTree(deferChecks: false)
        return resolveBatch(modes, on: tree, loaded: tree.snapshot(), savedefconfig: savedefconfig, allConfig: allConfig,
                            progress: progress)
    }

    /// ``resolveBatch(_:savedefconfig:allConfig:progress:)`` on a tree this resolver
    /// loaded, put back to `loaded` before each mode; the caller keeps the tree for more
    /// work (config impact's explanations).
    func resolveBatch(_ modes: [Mode], on tree: KconfigTree, loaded: KconfigTree.State, savedefconfig: Bool = false,
                      allConfig: (name: String, bytes: [UInt8])? = nil,
                      progress: (Int, BatchResult) -> Void = { _, _ in }) -> [BatchResult] {
        var out = [BatchResult]()
        for (i, mode) in modes.enumerated() {
            tree.restore(loaded)
            var item = BatchResult(source: mode.source ?? .bytes([], name: "\(mode)"))
            do {
                let r = try resolve(mode, tree: tree, allConfig: allConfig, autoconf: false)
                item.result = r
                if savedefconfig {
                    tree.restore(loaded)
                    tree.readConfig(bytes: Array(r.config.utf8), name: ".config")
                    item.savedDefconfig = tree.writeDefconfig()
                }
            } catch {
                item.error = error
            }
            progress(i, item)
            out.append(item)
        }
        return out
    }

    /// `make randconfig` once per seed, loading the tree once.
    public func resolveRandconfigs(_ configs: [RandomConfig], allConfig: (name: String, bytes: [UInt8])? = nil,
                                   progress: (Int, BatchResult) -> Void = { _, _ in }) throws(KernelKitError) -> [BatchResult] {
        try resolveBatch(configs.map { .randconfig($0) }, allConfig: allConfig, progress: progress)
    }

    /// The defconfigs of a tree: `arch/DIR/configs/*defconfig` (not the `*.config`
    /// fragments), with the ARCH= that make needs for each. x86's are i386 or x86_64 by
    /// name, sparc's sparc or sparc64, as `make help` lists them; `um` is ARCH=um on the
    /// host's SUBARCH, as make gives it. Directories without a Kconfig are left out.
    public static func defconfigs(inTree srctree: String) throws(KernelKitError) -> [(archDirectory: String, arch: String, name: String)] {
        guard InputFile.exists("\(srctree)/Kconfig"), InputFile.kind("\(srctree)/arch").isDirectory else {
            throw KernelKitError(.fileNotFound, "not a kernel tree (no Kconfig and arch/)", at: SourceLocation(file: srctree, line: 0))
        }
        var out: [(String, String, String)] = []
        for dir in InputFile.entries("\(srctree)/arch").sorted() {
            guard InputFile.exists("\(srctree)/arch/\(dir)/Kconfig") else { continue }
            for name in InputFile.entries("\(srctree)/arch/\(dir)/configs").sorted() where name.hasSuffix("defconfig") {
                out.append((dir, makeArch(archDirectory: dir, defconfig: name), name))
            }
        }
        return out
    }

    /// The arch directory of this machine (x86 for x86_64 and i386), as make's SUBARCH.
    public static var hostArchDirectory: String { KconfigEnvironment.srcarch(for: KconfigEnvironment.hostSubarch()) }

    /// make's ARCH= for a defconfig under arch/DIR/configs.
    public static func makeArch(archDirectory dir: String, defconfig name: String) -> String {
        switch dir {
        case "x86": name.hasPrefix("i386") ? "i386" : "x86_64"
        case "sparc": name.contains("64") ? "sparc64" : "sparc"
        default: dir
        }
    }
}
