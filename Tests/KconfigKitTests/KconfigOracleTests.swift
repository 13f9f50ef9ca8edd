import Foundation
import KconfigKit
import Testing

/// The Kconfig engine against the kernel's own `conf`, run through `make` on the same
/// tree in the same test: the .config files must be identical, byte for byte.
@Suite("Kconfig: identical to the kernel's conf", .serialized,
       .enabled(if: Oracles.treesShouldRun, "needs the kernel trees from scripts/setup-oracles.sh"))
struct KconfigOracleTests {
    /// One make output directory per tree for the whole run, so conf is built once.
    nonisolated(unsafe) static var outputDirectories: [String: String] = [:]
    static let outputLock = NSLock()

    /// Runs `make O=… ARCH=arch [CROSS_COMPILE=…] target` and returns the .config it wrote.
    static func conf(tree: String, arch: String, target: String, dummyTools: Bool,
                     startingFrom config: String? = nil) throws -> Data {
        try confRun(tree: tree, arch: arch, target: target, dummyTools: dummyTools, startingFrom: config).config
    }

    /// Runs make and returns the .config, the defconfig (for savedefconfig) and stdout.
    /// With `keepConfig`, make runs on the .config the last run left (savedefconfig
    /// after NAME_defconfig).
    /// `workspace` names the make output directory to use: each suite has its own, as
    /// suites run in parallel and one make's .config must not be another's.
    static func confRun(tree: String, arch: String, target: String, dummyTools: Bool,
                        startingFrom config: String? = nil, keepConfig: Bool = false,
                        variables: [String] = [], workspace: String = "oracle") throws -> (config: Data, defconfig: Data?, stdout: Data) {
        let out: String
        let key = "\(tree)#\(workspace)"
        if let existing = outputLock.withLock({ outputDirectories[key] }) {
            out = existing
        } else {
            out = NSTemporaryDirectory() + "kernelkit-conf-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            outputLock.withLock { outputDirectories[key] = out }
        }
        if !keepConfig { try? FileManager.default.removeItem(atPath: "\(out)/.config") }
        if let config { try FileManager.default.copyItem(atPath: config, toPath: "\(out)/.config") }
        var args = ["-s", "-C", tree, "O=\(out)", "ARCH=\(arch)"]
        if dummyTools { args.append("CROSS_COMPILE=\(tree)/scripts/dummy-tools/") }
        args += variables
        args.append(target)
        try? FileManager.default.removeItem(atPath: "\(out)/defconfig")
        let r = try run("/usr/bin/make", args)
        #expect(r.status == 0, "make \(args.joined(separator: " ")): \(r.err)")
        return (try Data(contentsOf: URL(fileURLWithPath: "\(out)/.config")),
                try? Data(contentsOf: URL(fileURLWithPath: "\(out)/defconfig")), r.stdout)
    }

    static func ours(tree: String, arch: String, dummyTools: Bool, _ mode: KconfigResolver.Mode) throws -> Data {
        let overrides = dummyTools ? ["CROSS_COMPILE": "\(tree)/scripts/dummy-tools/"] : [:]
        let result = try KconfigResolver(srctree: tree, arch: arch, overrides: overrides).resolve(mode)
        return Data(result.config.utf8)
    }

    static func expectIdentical(_ ours: Data, _ theirs: Data, _ label: String) {
        #expect(theirs.count > 1000, "\(label): conf wrote too little")
        if ours != theirs {
            let a = String(decoding: theirs, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            let b = String(decoding: ours, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            let first = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
            Issue.record("\(label): differs from conf at line \(first + 1): conf '\(first < a.count ? a[first] : "<end>")', ours '\(first < b.count ? b[first] : "<end>")'")
        }
    }

    /// A fixed sample of arch defconfigs: ten across nine architectures on 6.12 (the
    /// script scripts/kconfig-defconfigs.py runs all of them), and three on 7.2, whose
    /// tree has 6.18's transitional symbols. x86 uses the host's gcc, so its compiler
    /// probes are real; the others use the kernel's scripts/dummy-tools.
    static let defconfigs: [(String, String, String, String)] = [
        ("6.12", "x86_64", "x86", "x86_64_defconfig"), ("6.12", "i386", "x86", "i386_defconfig"),
        ("6.12", "arm64", "arm64", "defconfig"), ("6.12", "arm", "arm", "multi_v7_defconfig"),
        ("6.12", "riscv", "riscv", "defconfig"), ("6.12", "powerpc", "powerpc", "pmac32_defconfig"),
        ("6.12", "s390", "s390", "defconfig"), ("6.12", "mips", "mips", "malta_defconfig"),
        ("6.12", "loongarch", "loongarch", "loongson3_defconfig"), ("6.12", "sparc64", "sparc", "sparc64_defconfig"),
        ("7.2", "x86_64", "x86", "x86_64_defconfig"), ("7.2", "arm64", "arm64", "defconfig"),
        ("7.2", "riscv", "riscv", "defconfig"),
    ]

    @Test("arch defconfigs", arguments: defconfigs)
    func defconfig(version: String, arch: String, srcarch: String, name: String) throws {
        let tree = version == "6.12" ? Oracles.tree612 : Oracles.tree72
        let dummy = srcarch != "x86"
        let theirs = try Self.conf(tree: tree, arch: arch, target: name, dummyTools: dummy)
        let ours = try Self.ours(tree: tree, arch: arch, dummyTools: dummy, .defconfig(.file("arch/\(srcarch)/configs/\(name)")))
        Self.expectIdentical(ours, theirs, "\(version) \(arch) \(name)")
    }

    @Test("olddefconfig of real configs: Debian's 6.12 on the 6.12 tree, Azure Linux's 6.18 on the 7.2 tree", arguments: [
        ("6.12", "x86_64", RealConfigs.debianAmd64), ("6.12", "x86_64", RealConfigs.debianCloud),
        ("6.12", "arm64", Oracles.debianConfig("arm64_none_arm64")), ("6.12", "arm64", RealConfigs.debianArm64Cloud),
        ("7.2", "x86_64", RealConfigs.azl4_618_x86), ("7.2", "arm64", RealConfigs.azl4_618_arm),
    ])
    func olddefconfig(version: String, arch: String, config: String) throws {
        let tree = version == "6.12" ? Oracles.tree612 : Oracles.tree72
        let dummy = arch != "x86_64"
        let theirs = try Self.conf(tree: tree, arch: arch, target: "olddefconfig", dummyTools: dummy, startingFrom: config)
        let ours = try Self.ours(tree: tree, arch: arch, dummyTools: dummy, .olddefconfig(.file(config)))
        Self.expectIdentical(ours, theirs, "olddefconfig \(config) on \(version)")
    }

    @Test("allnoconfig, allyesconfig, allmodconfig and alldefconfig", arguments: [
        "allnoconfig", "allyesconfig", "allmodconfig", "alldefconfig",
    ], ["x86_64", "arm64"])
    func allConfigs(target: String, arch: String) throws {
        let tree = Oracles.tree612
        let dummy = arch != "x86_64"
        let mode: KconfigResolver.Mode = switch target {
        case "allnoconfig": .allnoconfig
        case "allyesconfig": .allyesconfig
        case "allmodconfig": .allmodconfig
        default: .alldefconfig
        }
        let theirs = try Self.conf(tree: tree, arch: arch, target: target, dummyTools: dummy)
        let ours = try Self.ours(tree: tree, arch: arch, dummyTools: dummy, mode)
        Self.expectIdentical(ours, theirs, "\(target) \(arch)")
    }

    @Test("savedefconfig", arguments: [
        ("6.12", "x86_64", RealConfigs.debianCloud), ("6.12", "arm64", RealConfigs.debianArm64Cloud),
        ("7.2", "x86_64", RealConfigs.azl4_618_x86),
    ])
    func savedefconfig(version: String, arch: String, config: String) throws {
        let tree = version == "6.12" ? Oracles.tree612 : Oracles.tree72
        let dummy = arch != "x86_64"
        let theirs = try Self.confRun(tree: tree, arch: arch, target: "savedefconfig", dummyTools: dummy, startingFrom: config)
        let overrides = dummy ? ["CROSS_COMPILE": "\(tree)/scripts/dummy-tools/"] : [:]
        let ours = try KconfigResolver(srctree: tree, arch: arch, overrides: overrides).resolve(.savedefconfig(.file(config)))
        let want = try #require(theirs.defconfig)
        #expect(want.count > 500)
        Self.expectIdentical(Data(ours.config.utf8), want, "savedefconfig \(config)")
    }

    @Test("listnewconfig of older configs against the 7.2 tree", arguments: [
        ("x86_64", RealConfigs.azl4_618_x86), ("arm64", RealConfigs.debianArm64Cloud),
    ])
    func listnewconfig(arch: String, config: String) throws {
        let tree = Oracles.tree72
        let dummy = arch != "x86_64"
        let theirs = try Self.confRun(tree: tree, arch: arch, target: "listnewconfig", dummyTools: dummy, startingFrom: config)
        let overrides = dummy ? ["CROSS_COMPILE": "\(tree)/scripts/dummy-tools/"] : [:]
        let ours = try KconfigResolver(srctree: tree, arch: arch, overrides: overrides).resolve(.listnewconfig(.file(config)))
        #expect(theirs.stdout.count > 100)
        #expect(Data(ours.config.utf8) == theirs.stdout)
    }

    @Test("helpnewconfig: every new symbol's help screen, byte for byte", arguments: [
        (Oracles.tree72, "x86_64", RealConfigs.azl4_618_x86), (Oracles.tree72, "arm64", RealConfigs.debianArm64Cloud),
        (Oracles.tree612, "x86_64", RealConfigs.azl4_618_x86),
    ])
    func helpnewconfig(tree: String, arch: String, config: String) throws {
        let dummy = arch != "x86_64"
        let theirs = try Self.confRun(tree: tree, arch: arch, target: "helpnewconfig", dummyTools: dummy, startingFrom: config)
        let overrides = dummy ? ["CROSS_COMPILE": "\(tree)/scripts/dummy-tools/"] : [:]
        let ours = try KconfigResolver(srctree: tree, arch: arch, overrides: overrides).resolve(.helpnewconfig(.file(config)))
        #expect(theirs.stdout.count > 100)
        #expect(Data(ours.config.utf8) == theirs.stdout)
    }

    @Test("why --want: the suggested changes really give the value, checked with conf", arguments: [
        ("DRM_HYPERV", "y"), ("DRM_HYPERV", "m"), ("HYPERV_NET", "y"),
    ])
    func whyWant(symbol: String, want: String) throws {
        let tree = Oracles.tree612
        let config = RealConfigs.debianCloud
        let r = try kernelkit(["config", "why", "--tree", tree, "--arch", "x86_64", "--config", config, symbol, "--want", want])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.out.contains("(verified:"))
        // Apply the suggested lines to the config and let the kernel's conf resolve it.
        let lines = r.out.split(separator: "\n").drop { !$0.hasPrefix("To get") }.dropFirst()
            .prefix { $0.hasPrefix("  CONFIG_") || $0.hasPrefix("  # CONFIG_") }.map { $0.dropFirst(2) }
        #expect(!lines.isEmpty)
        let dir = try TemporaryDirectory()
        let changed = try dir.write("changed.config",
                                    String(decoding: try Data(contentsOf: URL(fileURLWithPath: config)), as: UTF8.self)
                                        + lines.joined(separator: "\n") + "\n")
        let resolved = String(decoding: try Self.conf(tree: tree, arch: "x86_64", target: "olddefconfig",
                                                      dummyTools: false, startingFrom: changed), as: UTF8.self)
        #expect(resolved.contains("\nCONFIG_\(symbol)=\(want)\n"), "conf did not give \(symbol)=\(want) with \(lines)")
    }

    @Test("show: definition site and prompt, as the Kconfig file has them")
    func show() throws {
        let tree = Oracles.tree612
        let r = try kernelkit(["config", "show", "--tree", tree, "--arch", "x86_64", "CONFIG_HYPERV_NET"])
        #expect(r.status == 0, "\(r.err)")
        let kconfig = String(decoding: try Data(contentsOf: URL(fileURLWithPath: "\(tree)/drivers/net/hyperv/Kconfig")), as: UTF8.self)
        let lines = kconfig.split(separator: "\n", omittingEmptySubsequences: false)
        let defLine = try #require(lines.firstIndex { $0 == "config HYPERV_NET" }) + 1
        #expect(r.out.contains("Defined at drivers/net/hyperv/Kconfig:\(defLine)"))
        #expect(r.out.contains("Type  : tristate"))
        #expect(r.out.contains("Prompt: Microsoft Hyper-V virtual network driver"))
        let missing = try kernelkit(["config", "show", "--tree", tree, "--arch", "x86_64", "NO_SUCH_SYMBOL"])
        #expect(missing.status == 2)
    }

    @Test("oldconfig answering every question with Enter: the same questions and .config as make oldconfig")
    func oldconfig() throws {
        let tree = Oracles.tree72
        let config = RealConfigs.azl4_618_x86
        let dir = try TemporaryDirectory()
        let enter = Data(String(repeating: "\n", count: 400).utf8)
        // make oldconfig, fed the same answers.
        let out = NSTemporaryDirectory() + "kernelkit-oldconfig-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: out) }
        try FileManager.default.copyItem(atPath: config, toPath: "\(out)/.config")
        let theirs = try run("/usr/bin/make", ["-s", "-C", tree, "O=\(out)", "ARCH=x86_64", "oldconfig"], input: enter)
        #expect(theirs.status == 0)
        let copy = try dir.write("old.config", String(decoding: try Data(contentsOf: URL(fileURLWithPath: config)), as: UTF8.self))
        let ours = try run(Paths.kernelkit, ["config", "oldconfig", "--tree", tree, "--arch", "x86_64", copy, "-o", "\(dir.path)/new.config"],
                           input: enter)
        #expect(ours.status == 0, "\(ours.err)")
        #expect(try dir.read("new.config") == (try Data(contentsOf: URL(fileURLWithPath: "\(out)/.config"))))
        // Every question, its indentation (automatic submenus) and order, as conf prints them.
        #expect(ours.out == theirs.out)
        // 6.18's config on the 7.2 tree: well over a hundred new questions.
        #expect(ours.out.components(separatedBy: "(NEW)").count > 100)
    }

    @Test("the probe cache: a cold run (probes prefetched concurrently) and a warm run both give conf's file")
    func probeCache() throws {
        let tree = Oracles.tree612
        let dir = try TemporaryDirectory()
        let theirs = try Self.conf(tree: tree, arch: "x86_64", target: "x86_64_defconfig", dummyTools: false)
        let resolver = KconfigResolver(srctree: tree, arch: "x86_64", probeCacheDirectory: dir.path)
        let cold = try resolver.resolve(.defconfig(.file("arch/x86/configs/x86_64_defconfig")))
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(files.count == 1 && files[0].hasSuffix(".cache"))
        let warm = try resolver.resolve(.defconfig(.file("arch/x86/configs/x86_64_defconfig")))
        Self.expectIdentical(Data(cold.config.utf8), theirs, "cold cache")
        Self.expectIdentical(Data(warm.config.utf8), theirs, "warm cache")
    }

    @Test("the CLI writes the same file, atomically, and reports bad trees")
    func cli() throws {
        let dir = try TemporaryDirectory()
        let tree = Oracles.tree612
        let theirs = try Self.conf(tree: tree, arch: "x86_64", target: "x86_64_defconfig", dummyTools: false)
        let r = try kernelkit(["config", "resolve", "--tree", tree, "--arch", "x86_64",
                               "--defconfig", "arch/x86/configs/x86_64_defconfig", "-o", "\(dir.path)/out.config"])
        #expect(r.status == 0, "\(r.err)")
        #expect(try dir.read("out.config") == theirs)
        let bad = try kernelkit(["config", "resolve", "--tree", dir.path, "--arch", "x86_64", "--alldefconfig"])
        #expect(bad.status == 2)
        #expect(bad.err.contains("Makefile"), "\(bad.err)")
    }

    @Test("--autoconf writes make syncconfig's auto.conf and autoconf.h, byte for byte", arguments: [
        ("6.12", "x86_64", RealConfigs.debianCloud), ("7.2", "arm64", RealConfigs.azl4_618_arm),
    ])
    func autoconf(version: String, arch: String, config: String) throws {
        let tree = version == "6.12" ? Oracles.tree612 : Oracles.tree72
        let dir = try TemporaryDirectory()
        let make = "\(dir.path)/make"
        try FileManager.default.createDirectory(atPath: make, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: config, toPath: "\(make)/.config")
        var args = ["-s", "-C", tree, "O=\(make)", "ARCH=\(arch)"]
        var ours = ["config", "resolve", "--tree", tree, "--arch", arch, "--olddefconfig", config,
                    "-o", "\(dir.path)/ours.config", "--autoconf", "\(dir.path)/ours"]
        if arch != "x86_64" {
            args.append("CROSS_COMPILE=\(tree)/scripts/dummy-tools/")
            ours += ["--dummy-tools"]
        }
        for target in ["olddefconfig", "syncconfig"] {
            let r = try run("/usr/bin/make", args + [target])
            #expect(r.status == 0, "make \(target): \(r.err)")
        }
        let r = try kernelkit(ours)
        #expect(r.status == 0, "\(r.err)")
        #expect(try dir.read("ours.config") == (try dir.read("make/.config")))
        for file in ["include/config/auto.conf", "include/generated/autoconf.h"] {
            let theirs = try dir.read("make/\(file)")
            #expect(theirs.count > 10_000, "\(file): make wrote too little")
            Self.expectIdentical(try dir.read("ours/\(file)"), theirs, "\(file) for \(config) on \(version)")
        }
    }
}

/// `kernelkit config merge` without -m against merge_config.sh, which runs
/// `make KCONFIG_ALLCONFIG=… alldefconfig` and then checks every requested value.
@Suite("merge through Kconfig: identical to merge_config.sh", .serialized,
       .enabled(if: Oracles.treesShouldRun, "needs the kernel trees from scripts/setup-oracles.sh"))
struct MergeResolveOracleTests {
    @Test("Debian's cloud config with a Hyper-V fragment, some values dropped by dependencies", arguments: [false, true])
    func mergeResolve(allno: Bool) throws {
        let tree = Oracles.tree612
        let dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: "\(dir.path)/script", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(dir.path)/ours", withIntermediateDirectories: true)
        let base = try dir.write("base", String(decoding: try Data(contentsOf: URL(fileURLWithPath: RealConfigs.debianCloud)), as: UTF8.self))
        let frag = try dir.write("frag", """
            CONFIG_HYPERV=y
            CONFIG_HYPERV_NET=y
            CONFIG_HYPERV_STORAGE=m
            CONFIG_KPROBES=y
            CONFIG_NOT_A_SYMBOL=y
            CONFIG_DRM_HYPERV=m
            # CONFIG_MODULES is not set

            """)
        let flags = allno ? ["-n"] : []
        let script = try run("/bin/sh", [Oracles.mergeConfig] + flags + ["-O", "\(dir.path)/script", base, frag],
                             environment: ["ARCH": "x86_64"], in: tree)
        #expect(script.status == 0, "\(script.err)")
        let ours = try kernelkit(["config", "merge"] + flags + ["--tree", tree, "--arch", "x86_64", "-O", "\(dir.path)/ours", base, frag])
        #expect(ours.status == 1, "values were dropped, so kernelkit exits 1 (merge_config.sh exits 0)")
        #expect(try dir.read("ours/.config") == (try dir.read("script/.config")))
        // make's own build chatter ("  HOSTCC ...") is not conf's and is not reproduced.
        let scriptLines = script.out.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("  ") && !$0.hasPrefix("make") }
            .joined(separator: "\n").replacingOccurrences(of: "\(dir.path)/script", with: "OUT")
        let ourLines = ours.out.replacingOccurrences(of: "\(dir.path)/ours", with: "OUT")
        #expect(ourLines == scriptLines)
        #expect(ours.out.contains("Value requested for CONFIG_NOT_A_SYMBOL not in final .config"))
    }
}
