import KernelKitCore

/// Resolves configs through a kernel tree: the operations of `conf` behind `make
/// ARCH=… olddefconfig`, `*_defconfig`, `alldefconfig`, `allnoconfig`, `allyesconfig`
/// and `allmodconfig`.
public struct KconfigResolver: Sendable {
    public enum Mode: Sendable {
        case olddefconfig(String)
        case defconfig(String)
        case alldefconfig, allnoconfig, allyesconfig, allmodconfig
    }

    public struct Result: Sendable {
        /// The .config text conf writes.
        public var config: String
        /// What conf prints on standard output and standard error.
        public var stdout: String
        public var stderr: String
    }

    public let srctree: String
    public let arch: String
    public let kconfig: String
    public let overrides: [String: String]

    public init(srctree: String, arch: String, kconfig: String = "Kconfig", overrides: [String: String] = [:]) {
        self.srctree = srctree
        self.arch = arch
        self.kconfig = kconfig
        self.overrides = overrides
    }

    public func resolve(_ mode: Mode) throws(KernelKitError) -> Result {
        let env = try KconfigEnvironment.make(srctree: srctree, arch: arch, overrides: overrides)
        let tree: KconfigTree
        do {
            tree = try KconfigTree.load(srctree: srctree, kconfig: kconfig, environment: env)
        } catch {
            throw KernelKitError(.malformedLine, error.description, at: SourceLocation(file: error.file, line: error.line))
        }
        func read(_ path: String) throws(KernelKitError) -> [UInt8] {
            let full = path.hasPrefix("/") || InputFile.exists(path) ? path : "\(srctree)/\(path)"
            return try InputFile.readBytes(full)
        }
        switch mode {
        case .olddefconfig(let path):
            tree.readConfig(bytes: try read(path), name: path)
        case .defconfig(let path):
            tree.readConfig(bytes: try read(path), name: path)
            tree.setAllNewSymbols(.defaults)
        case .alldefconfig: tree.setAllNewSymbols(.defaults)
        case .allnoconfig: tree.setAllNewSymbols(.no)
        case .allyesconfig: tree.setAllNewSymbols(.yes)
        case .allmodconfig: tree.setAllNewSymbols(.module)
        }
        let config = tree.writeConfig()
        return Result(config: config, stdout: tree.standardOutput, stderr: tree.standardError)
    }
}
