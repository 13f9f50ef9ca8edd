import ArgumentParser
import KconfigKit
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

struct ConfigResolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Resolve a config through a kernel tree's Kconfig, as the kernel's conf does.",
        discussion: """
        Reads the Kconfig files of KSRC for ARCH (what you would pass to make ARCH=)
        and writes the .config that `make ARCH=… <mode>` would write, with the
        environment make gives conf (KERNELVERSION, CC, LD, their version texts…).

        Modes (exactly one):
          --olddefconfig CONFIG   keep CONFIG's values, new symbols get their defaults
          --defconfig FILE        start from a defconfig
                                  (e.g. arch/x86/configs/x86_64_defconfig)
          --alldefconfig          every symbol at its default
          --allnoconfig, --allyesconfig, --allmodconfig
          --randconfig            random answers, as make randconfig: --seed S is
                                  KCONFIG_SEED (else the time of day, printed),
                                  --probability P[:P2[:P3]] is KCONFIG_PROBABILITY,
                                  --count N writes N configs (seeds S, S+1, …)
                                  into -o DIR
        --allconfig FILE is KCONFIG_ALLCONFIG=FILE: values the all*config and
        randconfig modes keep.

        Examples:
          kernelkit config resolve --tree /usr/src/linux --arch x86_64 \\
              --defconfig arch/x86/configs/x86_64_defconfig -o .config
          kernelkit config resolve --tree /usr/src/linux --arch arm64 \\
              --set CROSS_COMPILE=aarch64-linux-gnu- --olddefconfig my.config \\
              -o new.config
          kernelkit config resolve --tree /usr/src/linux --arch riscv --dummy-tools \\
              --randconfig --seed 0x2a --count 100 -o rand/
        """
    )

    @OptionGroup var treeOptions: TreeOptions
    @Option(name: .customLong("olddefconfig"), help: "Resolve this config, as make olddefconfig.") var olddefconfig: String?
    @Option(name: .customLong("defconfig"), help: "Resolve this defconfig, as make *_defconfig.") var defconfig: String?
    @Flag(name: .customLong("alldefconfig")) var alldefconfig = false
    @Flag(name: .customLong("allnoconfig")) var allnoconfig = false
    @Flag(name: .customLong("allyesconfig")) var allyesconfig = false
    @Flag(name: .customLong("allmodconfig")) var allmodconfig = false
    @Flag(name: .customLong("randconfig")) var randconfig = false
    @Option(help: ArgumentHelp("With --randconfig: the seed, as KCONFIG_SEED (decimal, 0x hex or 0 octal).", valueName: "S"))
    var seed: String?
    @Option(help: ArgumentHelp("With --randconfig: KCONFIG_PROBABILITY, percent (P, Y:M or B:Y:M).", valueName: "P[:P2[:P3]]"))
    var probability: String?
    @Option(help: ArgumentHelp("With --randconfig: this many configs from consecutive seeds, written to -o DIR as SEED.config.", valueName: "N"))
    var count: Int?
    @Option(help: ArgumentHelp("KCONFIG_ALLCONFIG: a config whose values the all*config and randconfig modes keep.", valueName: "FILE"))
    var allconfig: String?
    @Option(name: .shortAndLong, help: "Where to write the .config (default: standard output).") var output: String?
    @Option(name: .customLong("autoconf"),
            help: ArgumentHelp("Also write DIR/include/config/auto.conf and DIR/include/generated/autoconf.h, as make syncconfig does (DIR is the build directory, O=).", valueName: "DIR"))
    var autoconfDirectory: String?

    func validate() throws {
        let modes = [olddefconfig != nil, defconfig != nil, alldefconfig, allnoconfig, allyesconfig, allmodconfig, randconfig]
        if modes.filter({ $0 }).count != 1 {
            throw ValidationError("give exactly one mode: --olddefconfig, --defconfig, --alldefconfig, --allnoconfig, --allyesconfig, --allmodconfig or --randconfig")
        }
        if !randconfig, seed != nil || probability != nil || count != nil {
            throw ValidationError("--seed, --probability and --count go with --randconfig")
        }
        if let count, count < 1 || output == nil { throw ValidationError("--count N needs N ≥ 1 and -o DIR") }
        if allconfig != nil, olddefconfig != nil || defconfig != nil {
            throw ValidationError("--allconfig goes with --alldefconfig, --allnoconfig, --allyesconfig, --allmodconfig or --randconfig")
        }
    }

    func run() throws {
        try Terminal.run {
            let mode: KconfigResolver.Mode
            if let olddefconfig {
                mode = .olddefconfig(.file(olddefconfig))
            } else if let defconfig {
                mode = .defconfig(.file(defconfig))
            } else if allnoconfig {
                mode = .allnoconfig
            } else if allyesconfig {
                mode = .allyesconfig
            } else if allmodconfig {
                mode = .allmodconfig
            } else if randconfig {
                try runRandconfig()
                return
            } else {
                mode = .alldefconfig
            }
            try treeOptions.run(mode, output: output, autoconfDirectory: autoconfDirectory, allConfig: try allConfigFile())
        }
    }

    private func allConfigFile() throws(KernelKitError) -> (name: String, bytes: [UInt8])? {
        guard let allconfig else { return nil }
        return (allconfig, try InputFile.readBytes(allconfig))
    }

    /// One randconfig as `make randconfig` writes it, or `--count` of them from one
    /// loaded tree. The KCONFIG_SEED line goes where conf prints it, to standard output,
    /// unless the config itself does.
    private func runRandconfig() throws {
        var base = RandomConfig(seed: 0)
        let env = ProcessEnvironment.current
        if let p = probability ?? env["KCONFIG_PROBABILITY"] { try base.applyProbability(p) }
        let seedText = seed ?? env["KCONFIG_SEED"]
        if let seed, RandomConfig.parseSeed(seed) == nil {
            throw KernelKitError(.usage, "--seed must be a number (decimal, 0x hex or 0 octal), not '\(seed)'")
        }
        base.seed = seedText.flatMap(RandomConfig.parseSeed) ?? RandomConfig.timeSeed()
        let resolver = try treeOptions.resolver()
        let allConfig = try allConfigFile()
        guard let count else {
            let result = try resolver.resolve(.randconfig(base), allConfig: allConfig, autoconf: autoconfDirectory != nil)
            if !result.stderr.isEmpty { Terminal.error(result.stderr) }
            if let output {
                try AtomicFile.write(Array(result.config.utf8), to: output)
                Terminal.write(result.stdout)
            } else {
                Terminal.error(result.stdout)
                Terminal.write(result.config)
            }
            if let dir = autoconfDirectory { try result.writeAutoconf(toBuildDirectory: dir) }
            return
        }
        let dir = output!
        try InputFile.makeParentDirectories(of: dir + "/.")
        let configs = (0..<count).map { i -> RandomConfig in
            var r = base
            r.seed = base.seed &+ UInt32(truncatingIfNeeded: i)
            return r
        }
        let progress = Progress("randconfig")
        var failures = 0
        _ = try resolver.resolveRandconfigs(configs, allConfig: allConfig) { i, item in
            let name = "\(dir)/0x\(String(configs[i].seed, radix: 16, uppercase: true)).config"
            do {
                guard let r = item.result else { throw item.error! }
                try AtomicFile.write(Array(r.config.utf8), to: name)
            } catch {
                failures += 1
                Terminal.error("kernelkit: \(error)")
            }
            progress.update(i + 1, count)
        }
        Terminal.write("\(count - failures) randconfigs written to \(dir) (KCONFIG_SEED=0x\(String(base.seed, radix: 16, uppercase: true)) to 0x\(String(configs.last!.seed, radix: 16, uppercase: true)))\n")
        if failures > 0 { throw ExitCode(1) }
    }
}

/// The options every command that reads a kernel tree's Kconfig shares.
struct TreeOptions: ParsableArguments {
    @Option(help: "The kernel source tree.") var tree: String
    @Option(help: "The architecture, as make's ARCH=.") var arch: String
    @Option(help: "The top Kconfig file, relative to the tree.") var kconfig = "Kconfig"
    @Option(name: .customLong("set"), help: "A make variable, NAME=VALUE (CROSS_COMPILE=…, LLVM=1, CC=…).")
    var variables: [String] = []
    @Flag(help: "Use the kernel's scripts/dummy-tools instead of a real toolchain (CROSS_COMPILE=KSRC/scripts/dummy-tools/).")
    var dummyTools = false
    @Flag(help: "Run every compiler probe ($(shell,…)) instead of using cached results.")
    var noProbeCache = false

    func resolver() throws -> KconfigResolver {
        let overrides = try KconfigResolver.makeVariables(variables, dummyToolsIn: dummyTools ? tree : nil)
        return KconfigResolver(srctree: tree, arch: arch, kconfig: kconfig, overrides: overrides,
                               probeCacheDirectory: noProbeCache ? nil : ProbeCache.defaultDirectory,
                               processExitsAfterwards: true)
    }

    /// Resolves and writes the result to `output` (atomically) or standard output, and
    /// with `autoconfDirectory` the two files make syncconfig writes below it.
    func run(_ mode: KconfigResolver.Mode, output: String?, autoconfDirectory: String? = nil,
             allConfig: (name: String, bytes: [UInt8])? = nil) throws {
        let result = try resolver().resolve(mode, allConfig: allConfig, autoconf: autoconfDirectory != nil)
        if !result.stderr.isEmpty { Terminal.error(result.stderr) }
        if let output {
            try AtomicFile.write(Array(result.config.utf8), to: output)
        } else {
            Terminal.write(result.config)
        }
        if let dir = autoconfDirectory { try result.writeAutoconf(toBuildDirectory: dir) }
    }
}

struct ConfigSavedefconfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "savedefconfig",
        abstract: "Write the minimal defconfig for a config, as make savedefconfig does.",
        discussion: """
        Only values that differ from what Kconfig would choose by itself are kept, so
        the result is the smallest file that resolves back to the same config.

        Example:
          kernelkit config savedefconfig --tree /usr/src/linux \\
              --arch x86_64 .config -o defconfig
        """
    )
    @OptionGroup var treeOptions: TreeOptions
    @Argument(help: "The config to reduce.") var config: String
    @Option(name: .shortAndLong, help: "Where to write (default: standard output).") var output: String?

    func run() throws {
        try Terminal.run { try treeOptions.run(.savedefconfig(.file(config)), output: output) }
    }
}

struct ConfigListnewconfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listnewconfig",
        abstract: "List the symbols a config has no value for, as make listnewconfig does.",
        discussion: """
        These are the questions `make oldconfig` would ask: visible, changeable symbols
        that the config does not mention, each with the value it would get.

        Example:
          kernelkit config listnewconfig --tree /usr/src/linux-7.2 \\
              --arch x86_64 azl-6.18.config
        """
    )
    @OptionGroup var treeOptions: TreeOptions
    @Argument(help: "The config to check.") var config: String

    func run() throws {
        try Terminal.run { try treeOptions.run(.listnewconfig(.file(config)), output: nil) }
    }
}

struct ConfigHelpnewconfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "helpnewconfig",
        abstract: "List the symbols a config has no value for, each with its help, as make helpnewconfig does.",
        discussion: """
        The same symbols as listnewconfig, each between `-----` lines with the help
        screen that menuconfig shows: the help text, the type and value, where it is
        defined, the prompt with its dependencies and menu location, and what selects
        or implies it. Use it to review what a kernel upgrade will ask about.

        Example:
          kernelkit config helpnewconfig --tree /usr/src/linux-7.2 \\
              --arch x86_64 azl-6.18.config | less
        """
    )
    @OptionGroup var treeOptions: TreeOptions
    @Argument(help: "The config to check.") var config: String

    func run() throws {
        try Terminal.run { try treeOptions.run(.helpnewconfig(.file(config)), output: nil) }
    }
}

struct ConfigShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a symbol: type, prompts, where it is defined, dependencies, selects, help.",
        discussion: """
        Example:
          kernelkit config show --tree /usr/src/linux --arch x86_64 HYPERV_NET
        """
    )
    @OptionGroup var treeOptions: TreeOptions
    @Argument(help: "The symbol, with or without CONFIG_.") var symbol: String

    func run() throws {
        try Terminal.run {
            let tree = try treeOptions.resolver().loadTree()
            let name = symbol.hasPrefix("CONFIG_") ? String(symbol.dropFirst(7)) : symbol
            guard let text = tree.describe(name) else {
                throw KernelKitError(.usage, "no symbol \(name) in this tree for \(treeOptions.arch)")
            }
            Terminal.write(text)
        }
    }
}

struct ConfigWhyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "why",
        abstract: "Explain a symbol's value in a config, and what would change it.",
        discussion: """
        Resolves CONFIG (olddefconfig) through the tree and tells where the symbol's
        value comes from (the config itself, a default, a select, an imply, a choice),
        prints its dependencies with their values, and follows unmet dependencies down
        to their leaves. With --want it finds a minimal set of option changes that
        gives that value and checks it by resolving again.

        Examples:
          kernelkit config why --tree /usr/src/linux --arch x86_64 \\
              --config .config HYPERV_NET
          kernelkit config why --tree /usr/src/linux --arch x86_64 \\
              --config .config DRM_HYPERV --want y
        """
    )
    @OptionGroup var treeOptions: TreeOptions
    @Option(help: "The config to explain (default: the tree's defaults, as alldefconfig).") var config: String?
    @Option(help: "The value you want (y, m, n, or a number or string).") var want: String?
    @Argument(help: "The symbol, with or without CONFIG_.") var symbol: String

    func run() throws {
        try Terminal.run {
            let tree = try treeOptions.resolver().loadTree()
            let name = symbol.hasPrefix("CONFIG_") ? String(symbol.dropFirst(7)) : symbol
            let bytes = try config.map { try InputFile.readText($0) } ?? []
            guard let explanation = tree.explain(name, configBytes: bytes, configName: config ?? "(defaults)", wanted: want) else {
                throw KernelKitError(.usage, "no symbol \(name) in this tree for \(treeOptions.arch)")
            }
            if !tree.standardError.isEmpty { Terminal.error(tree.standardError) }
            Terminal.write(explanation.text(prefix: tree.prefix))
            if let want, !explanation.verified && explanation.value != want { throw ExitCode(1) }
        }
    }
}

struct ConfigOldconfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oldconfig",
        abstract: "Update a config for a tree, asking about new symbols, as make oldconfig does.",
        discussion: """
        Asks conf's questions for every symbol CONFIG has no value for, on standard
        output, and reads the answers from standard input (Enter takes the default; '?'
        shows help). When standard input is not a terminal, each answer is echoed, as
        conf does.

        Example:
          kernelkit config oldconfig --tree /usr/src/linux-7.2 \\
              --arch x86_64 old.config -o new.config
          yes '' | kernelkit config oldconfig --tree /usr/src/linux-7.2 \\
              --arch x86_64 old.config -o new.config
        """
    )
    @OptionGroup var treeOptions: TreeOptions
    @Argument(help: "The config to update.") var config: String
    @Option(name: .shortAndLong, help: "Where to write the .config (default: overwrite CONFIG).") var output: String?

    func run() throws {
        try Terminal.run {
            let interactive = isatty(0) == 1 && isatty(1) == 1
            let answers: @Sendable () -> String? = { readLine(strippingNewline: false) }
            let result = try treeOptions.resolver().resolve(.oldconfig(.file(config), answers: answers, interactive: interactive))
            Terminal.write(result.stdout)
            if !result.stderr.isEmpty { Terminal.error(result.stderr) }
            try AtomicFile.write(Array(result.config.utf8), to: output ?? config)
        }
    }
}
