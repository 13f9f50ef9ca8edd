import KernelKitCore

/// The non-interactive modes of the kernel's `conf` program (`scripts/kconfig/conf.c`,
/// `main()`), with its exit status and messages: what `make *config` runs. Used by
/// `kernelkit config resolve` and to run the kernel's own Kconfig selftests.
public enum ConfProgram {
    public enum Mode: Sendable {
        case olddefconfig
        /// `--savedefconfig=FILE`: the result's `config` is the defconfig written.
        case savedefconfig
        case defconfig(String)
        /// `--oldconfig` and `--oldaskconfig`, answering from `input` (not a terminal, so
        /// each answer is echoed, as conf does).
        case oldconfig(input: [UInt8])
        case oldaskconfig(input: [UInt8])
        case alldefconfig, allnoconfig, allyesconfig, allmodconfig
    }

    public struct Run: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// The .config conf wrote, nil when it failed.
        public var config: String?
    }

    /// Runs `conf --MODE KCONFIG` with `srctree` and `environment`; `dotConfig` is the
    /// existing `.config` (for olddefconfig), `allConfig` the KCONFIG_ALLCONFIG file.
    public static func run(_ mode: Mode, kconfig: String = "Kconfig", srctree: String,
                           environment: [String: String], dotConfig: [UInt8]? = nil,
                           allConfig: [UInt8]? = nil, silent: Bool = false,
                           shell: ((String) -> String)? = nil) -> Run {
        PosixThread.onLargeStack { () -> Run in
            runHere(mode, kconfig: kconfig, srctree: srctree, environment: environment, dotConfig: dotConfig,
                    allConfig: allConfig, silent: silent, shell: shell)
        }
    }

    private static func runHere(_ mode: Mode, kconfig: String, srctree: String, environment: [String: String],
                                dotConfig: [UInt8]?, allConfig: [UInt8]?, silent: Bool,
                                shell: ((String) -> String)?) -> Run {
        let tree: KconfigTree
        do {
            tree = try KconfigTree.load(srctree: srctree, kconfig: kconfig, environment: environment, shell: shell)
        } catch {
            let streams = error.underlying as? ConfStreams
            return Run(status: 1, stdout: streams?.stdout ?? "", stderr: streams?.stderr ?? error.description + "\n", config: nil)
        }
        let configName = environment["KCONFIG_CONFIG"] ?? ".config"
        switch mode {
        case .olddefconfig:
            tree.readConfig(bytes: dotConfig ?? [], name: configName)
        case .oldconfig(let input), .oldaskconfig(let input):
            if let dotConfig {
                tree.readConfig(bytes: dotConfig, name: configName)
            } else if let m = tree.modulesSymbol {
                tree.calcValue(m)
            }
            var ask = false
            if case .oldaskconfig = mode { ask = true }
            let session = InteractiveConf(tree: tree, mode: ask ? .oldaskconfig : .oldconfig, input: input)
            session.run()
            tree.stdout(session.output)
        case .savedefconfig:
            tree.readConfig(bytes: dotConfig ?? [], name: configName)
            let defconfig = tree.writeDefconfig()
            return Run(status: 0, stdout: tree.standardOutput, stderr: tree.standardError, config: defconfig)
        case .defconfig(let name):
            guard let bytes = try? InputFile.readBytes(name.hasPrefix("/") ? name : "\(srctree)/\(name)") else {
                return Run(status: 1, stdout: tree.standardOutput,
                           stderr: tree.standardError + "***\n*** Can't find default configuration \"\(name)\"!\n***\n", config: nil)
            }
            tree.readConfig(bytes: bytes, name: name)
            tree.setAllNewSymbols(.defaults)
        case .alldefconfig, .allnoconfig, .allyesconfig, .allmodconfig:
            if let allConfig { tree.readUserValues(bytes: allConfig, name: environment["KCONFIG_ALLCONFIG"] ?? "") }
            switch mode {
            case .allnoconfig: tree.setAllNewSymbols(.no)
            case .allyesconfig: tree.setAllNewSymbols(.yes)
            case .allmodconfig: tree.setAllNewSymbols(.module)
            default: tree.setAllNewSymbols(.defaults)
            }
        }
        let config = tree.writeConfig()
        if !silent { tree.stdout("#\n# configuration written to \(configName)\n#\n") }
        return Run(status: 0, stdout: tree.standardOutput, stderr: tree.standardError, config: config)
    }
}
