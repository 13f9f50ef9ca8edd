import Foundation
import KconfigKit
import Testing

/// `config resolve --randconfig` against `make randconfig` on the same tree and seed:
/// the .config byte for byte, and conf's standard output.
@Suite("randconfig: identical to make randconfig, seed for seed", .serialized,
       .enabled(if: Oracles.treesShouldRun, "needs the kernel trees from scripts/setup-oracles.sh"))
struct RandconfigOracleTests {
    static func tree(_ version: String) -> String { version == "6.12" ? Oracles.tree612 : Oracles.tree72 }

    /// 10 consecutive seeds per tree and arch, made by one `--count 10` run (one loaded
    /// tree), each compared with a fresh make randconfig; the first also through the
    /// library, whose stdout must be make's.
    @Test("10 seeds on each of x86_64, arm64 and riscv, 6.12 and 7.2", arguments: ["6.12", "7.2"], ["x86_64", "arm64", "riscv"])
    func seeds(version: String, arch: String) throws {
        let tree = Self.tree(version)
        let dummy = arch != "x86_64"
        // A different base per case, so the seeds cover more than one range.
        let base = UInt32(truncatingIfNeeded: (version == "6.12" ? 0x1000 : 0x2000) + arch.utf8.count * 0x101)
        let out = try TemporaryDirectory()
        var args = ["config", "resolve", "--tree", tree, "--arch", arch, "--randconfig", "--seed", "\(base)", "--count", "10", "-o", out.path]
        if dummy { args.append("--dummy-tools") }
        let r = try kernelkit(args)
        #expect(r.status == 0, "\(r.err)")
        for i in 0..<10 {
            let seed = base + UInt32(i)
            let hex = "0x" + String(seed, radix: 16, uppercase: true)
            let theirs = try KconfigOracleTests.confRun(tree: tree, arch: arch, target: "randconfig", dummyTools: dummy,
                                                        variables: ["KCONFIG_SEED=\(hex)"], workspace: "randconfig")
            let ours = try Data(contentsOf: URL(fileURLWithPath: "\(out.path)/\(hex).config"))
            KconfigOracleTests.expectIdentical(ours, theirs.config, "\(version) \(arch) randconfig \(hex)")
            if i == 0 {
                let overrides = dummy ? ["CROSS_COMPILE": "\(tree)/scripts/dummy-tools/"] : [:]
                let lib = try KconfigResolver(srctree: tree, arch: arch, overrides: overrides).resolve(.randconfig(RandomConfig(seed: seed)))
                #expect(lib.stdout == String(decoding: theirs.stdout, as: UTF8.self), "\(version) \(arch): stdout")
                #expect(lib.stdout.hasPrefix("KCONFIG_SEED=\(hex)\n"))
                #expect(Data(lib.config.utf8) == theirs.config)
            }
        }
    }

    @Test("KCONFIG_PROBABILITY in each of its three forms", arguments: [
        ("6.12", "x86_64", "20"), ("6.12", "x86_64", "70:20"), ("7.2", "riscv", "10:60:30"), ("7.2", "arm64", "0"),
    ])
    func probability(version: String, arch: String, probability: String) throws {
        let tree = Self.tree(version)
        let dummy = arch != "x86_64"
        for seed in [7, 0xBEEF] {
            let theirs = try KconfigOracleTests.confRun(tree: tree, arch: arch, target: "randconfig", dummyTools: dummy,
                                                        variables: ["KCONFIG_SEED=\(seed)", "KCONFIG_PROBABILITY=\(probability)"], workspace: "randconfig")
            var args = ["config", "resolve", "--tree", tree, "--arch", arch, "--randconfig", "--seed", "\(seed)", "--probability", probability]
            if dummy { args.append("--dummy-tools") }
            let r = try kernelkit(args)
            #expect(r.status == 0, "\(r.err)")
            KconfigOracleTests.expectIdentical(r.stdout, theirs.config, "\(version) \(arch) KCONFIG_PROBABILITY=\(probability) seed \(seed)")
            // The seed line goes to stderr when the config is on stdout.
            #expect(r.err.hasPrefix("KCONFIG_SEED=0x" + String(seed, radix: 16, uppercase: true) + "\n"), "\(r.err)")
        }
    }

    /// Values the all-config file fixes stay, choices included: x86's kernel compression
    /// and arm64's page size, each set to a member randconfig would not always pick.
    @Test("KCONFIG_ALLCONFIG: its values are kept, the rest random", arguments: [
        ("6.12", "x86_64", "CONFIG_MODULES=y\n# CONFIG_SMP is not set\nCONFIG_KERNEL_XZ=y\nCONFIG_BLOCK=y\n"),
        ("7.2", "arm64", "CONFIG_ARM64_64K_PAGES=y\n# CONFIG_MODULES is not set\nCONFIG_NET=y\n"),
    ])
    func allconfig(version: String, arch: String, fragment: String) throws {
        let tree = Self.tree(version)
        let dummy = arch != "x86_64"
        let dir = try TemporaryDirectory()
        let file = try dir.write("all.config", fragment)
        for seed in [1, 2, 3] {
            let theirs = try KconfigOracleTests.confRun(tree: tree, arch: arch, target: "randconfig", dummyTools: dummy,
                                                        variables: ["KCONFIG_SEED=\(seed)", "KCONFIG_ALLCONFIG=\(file)"], workspace: "randconfig")
            var args = ["config", "resolve", "--tree", tree, "--arch", arch, "--randconfig", "--seed", "\(seed)", "--allconfig", file,
                        "-o", "\(dir.path)/out.config"]
            if dummy { args.append("--dummy-tools") }
            let r = try kernelkit(args)
            #expect(r.status == 0, "\(r.err)")
            #expect(r.out == "KCONFIG_SEED=0x\(seed)\n")
            let ours = try Data(contentsOf: URL(fileURLWithPath: "\(dir.path)/out.config"))
            KconfigOracleTests.expectIdentical(ours, theirs.config, "\(version) \(arch) KCONFIG_ALLCONFIG seed \(seed)")
            for line in fragment.split(separator: "\n") where !line.hasPrefix("#") {
                #expect(String(decoding: ours, as: UTF8.self).contains("\n\(line)\n"), "\(line) kept")
            }
        }
    }

    @Test("bad input: a probability over 100, y + m over 100, a seed that is not a number")
    func badInput() throws {
        let tree = Oracles.tree612
        for (extra, message) in [(["--probability", "101"], "KCONFIG_PROBABILITY: Numerical result out of range"),
                                 (["--probability", "60:50"], "tristate y + m is over 100"),
                                 (["--seed", "12abc"], "--seed must be a number")] {
            let r = try kernelkit(["config", "resolve", "--tree", tree, "--arch", "riscv", "--dummy-tools", "--randconfig"] + extra)
            #expect(r.status == 2, "\(extra): \(r.status)")
            #expect(r.err.split(separator: "\n").count == 1 && r.err.contains(message), "\(r.err)")
            #expect(r.out.isEmpty)
        }
    }
}
