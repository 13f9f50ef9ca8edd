import ArgumentParser
import KconfigKit
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Diff, merge, resolve and explain kernel configs, byte-identical to the kernel's own tools.",
        discussion: """
        diff and merge -m work on .config files alone. resolve, savedefconfig,
        listnewconfig, helpnewconfig, oldconfig, why, show and merge without -m read a
        kernel tree's Kconfig files (--tree KSRC --arch ARCH), as make does; defconfigs
        resolves every defconfig of a tree in one run; impact shows what a Kconfig
        change (a second tree or a patch) does to them.
        """,
        subcommands: [ConfigDiffCommand.self, ConfigMergeCommand.self, ConfigResolveCommand.self,
                      ConfigSavedefconfigCommand.self, ConfigListnewconfigCommand.self, ConfigHelpnewconfigCommand.self,
                      ConfigOldconfigCommand.self, ConfigWhyCommand.self, ConfigShowCommand.self, ConfigBuildCommand.self, ConfigDefconfigsCommand.self, ConfigImpactCommand.self]
    )
}

struct ConfigDiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show the options that differ between two configs.",
        discussion: """
        Formats:
          text        grouped: removed, added, then changed options, with tristate
                      moves (y→m, m→y, y→n ...) grouped and counted. Coloured on a
                      terminal.
          json        the schema kernelkit.config-diff/1 (docs/config-diff.md). It
                      tells "absent" from "is not set", which diffconfig folds
                      together.
          diffconfig  byte-identical to the kernel's scripts/diffconfig; with -m, to
                      `diffconfig -m` (changed and new values as a config fragment).

        With no files, compares $KBUILD_OUTPUT/.config.old with $KBUILD_OUTPUT/.config,
        as diffconfig does.

        Examples:
          kernelkit config diff azl-6.6.config azl-6.18.config
          kernelkit config diff -m old.config new.config > changes.fragment
          kernelkit config diff --format json --exit-code a.config b.config
        """
    )

    @Option(name: .long, help: "Output format: text, json or diffconfig.")
    var format: DiffFormat?

    @Flag(name: .customShort("m"), help: "Merge style, as `diffconfig -m`: print the new values as a fragment.")
    var mergeStyle = false

    @Flag(name: .long, help: "Exit with 1 when the configs differ (as `git diff --exit-code`).")
    var exitCode = false

    @Argument(help: "The old config (default: .config.old).")
    var old: String?

    @Argument(help: "The new config (default: .config).")
    var new: String?

    func validate() throws {
        if mergeStyle, let format, format != .diffconfig {
            throw ValidationError("-m is diffconfig's merge style; it cannot be combined with --format \(format.rawValue)")
        }
        if (old == nil) != (new == nil) {
            throw ValidationError("give both OLD and NEW, or neither")
        }
    }

    func run() throws {
        try Terminal.run {
            let status = try Self.diff(old: old, new: new, format: format, mergeStyle: mergeStyle, exitCode: exitCode)
            if status != 0 { throw ExitCode(status) }
        }
    }

    /// The whole command; returns the exit status. Shared with the argv fast path in
    /// KernelKitCommand.main, which skips the argument parser's start-up for plain diffs.
    static func diff(old: String?, new: String?, format: DiffFormat?, mergeStyle: Bool, exitCode: Bool) throws(KernelKitError) -> Int32 {
        let defaults = Diffconfig.defaultPaths()
        let oldPath = old ?? defaults.old, newPath = new ?? defaults.new
        // Parse both strictly first: a malformed line is an error, never silently skipped.
        // The diffconfig format needs only the entries, not the per-line records.
        let format = format ?? (mergeStyle ? .diffconfig : .text)
        let a = try ConfigFile(contentsOf: oldPath, keepingLines: format != .diffconfig)
        let b = try ConfigFile(contentsOf: newPath, keepingLines: format != .diffconfig)
        var differs = false
        switch format {
        case .diffconfig:
            let out = Diffconfig.output(old: a, new: b, mergeStyle: mergeStyle)
            differs = out.differs
            Terminal.write(bytes: out.bytes)
        case .text:
            let diff = ConfigDiff(old: a, new: b)
            differs = !diff.changes.isEmpty
            Terminal.write(diff.text(color: Terminal.wantsColor, prefix: a.prefix))
        case .json:
            let diff = ConfigDiff(old: a, new: b)
            differs = !diff.changes.isEmpty
            Terminal.write(diff.json().serialized())
        }
        for warning in a.warnings { Terminal.error("kernelkit: \(warning)") }
        for warning in b.warnings { Terminal.error("kernelkit: \(warning)") }
        return exitCode && differs ? 1 : 0
    }

    /// `config diff [--format F] [-m] [--exit-code] OLD NEW`, recognised without the
    /// argument parser; nil for anything else (help, errors, other spellings), which
    /// then goes through ArgumentParser as usual.
    static func fastPath(_ args: ArraySlice<String>) -> (() throws(KernelKitError) -> Int32)? {
        guard args.count >= 4, args[args.startIndex] == "config", args[args.startIndex + 1] == "diff" else { return nil }
        var format: DiffFormat?, merge = false, exit = false, paths: [String] = []
        var i = args.startIndex + 2
        while i < args.endIndex {
            let a = args[i]
            switch a {
            case "-m": merge = true
            case "--exit-code": exit = true
            case "--format":
                guard i + 1 < args.endIndex, let f = DiffFormat(rawValue: args[i + 1]) else { return nil }
                format = f
                i += 1
            default:
                if a.hasPrefix("--format="), let f = DiffFormat(rawValue: String(a.dropFirst(9))) {
                    format = f
                } else if a.hasPrefix("-") {
                    return nil
                } else {
                    paths.append(a)
                }
            }
            i += 1
        }
        guard paths.count == 2, !(merge && format != nil && format != .diffconfig) else { return nil }
        return { () throws(KernelKitError) -> Int32 in
            try diff(old: paths[0], new: paths[1], format: format, mergeStyle: merge, exitCode: exit)
        }
    }
}

struct ConfigMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge config fragments into a base config, as merge_config.sh does.",
        discussion: """
        With -m this is scripts/kconfig/merge_config.sh -m: the same merged .config,
        byte for byte, and the same messages ("Value of CONFIG_X is redefined by
        fragment F:", "Previous value:", "New value:"). Later fragments win.

        The output goes to $KCONFIG_CONFIG if set, else DIR/.config with -O DIR, else
        ./.config, and is written atomically: an interrupted merge leaves the old file.
        A missing BASE is created empty, as merge_config.sh does.

        Without -m the merged file is resolved through the Kconfig of --tree for
        --arch, as merge_config.sh does with `make KCONFIG_ALLCONFIG=<merged>
        alldefconfig` (allnoconfig with -n), and every value that did not survive is
        reported: "Value requested for CONFIG_X not in final .config", with the
        requested and actual lines. The exit status is then 1 if any value was dropped.

        Examples:
          kernelkit config merge -m base.config hyperv.fragment azure.fragment
          kernelkit config merge --tree /usr/src/linux \\
              --arch x86_64 base.config hyperv.fragment
          kernelkit config merge -m -y -O build/ base.config debug.fragment
          kernelkit config merge -m \\
              -s base.config policy.fragment || echo "redefined"
        """
    )

    @Flag(name: .customShort("m"), help: "Only merge the fragments; do not resolve through Kconfig.")
    var mergeOnly = false
    @Flag(name: .customShort("n"), help: "Use allnoconfig instead of alldefconfig (has no effect with -m).")
    var allno = false
    @Flag(name: .customShort("r"), help: "List redundant entries when merging fragments.")
    var redundant = false
    @Flag(name: .customShort("y"), help: "Make built-in have precedence over modules: never demote y to m.")
    var builtin = false
    @Flag(name: .customShort("s"), help: "Strict mode: fail (exit 1, nothing written) if a fragment redefines any value.")
    var strict = false
    @Flag(name: .customShort("Q"), help: "Disable warning messages for overridden options.")
    var quiet = false
    @Option(name: .customShort("O"), help: "Directory to put the generated .config in.")
    var outputDirectory: String?

    @Option(help: "Without -m: the kernel tree to resolve through.") var tree: String?
    @Option(help: "Without -m: the architecture, as make's ARCH=.") var arch: String?
    @Flag(help: "Without -m: use the kernel's scripts/dummy-tools instead of a real toolchain.") var dummyTools = false

    @Argument(help: "The base config.")
    var base: String
    @Argument(help: "Fragments to merge, in order.")
    var fragments: [String] = []

    func run() throws {
        try Terminal.run {
            if !mergeOnly && (tree == nil || arch == nil) {
                throw KernelKitError(.usage, """
                    merging without -m resolves the result through a kernel tree's Kconfig: \
                    give --tree KSRC and --arch ARCH, or use -m for a text merge
                    """)
            }
            let merger = MergeConfig(options: .init(listRedundant: redundant, builtinWins: builtin,
                                                    strict: strict, quiet: quiet), prefix: ConfigFile.environmentPrefix)
            let resolution = mergeOnly ? nil : tree.flatMap { tree in
                arch.map { MergeConfig.Resolution(srctree: tree, arch: $0, allno: allno, dummyTools: dummyTools) }
            }
            let status = try merger.run(base: base, fragments: fragments, outputDirectory: outputDirectory,
                                        resolution: resolution, stdout: { Terminal.write(bytes: $0) }, stderr: { Terminal.error($0) })
            if status != 0 { throw ExitCode(status) }
        }
    }
}
