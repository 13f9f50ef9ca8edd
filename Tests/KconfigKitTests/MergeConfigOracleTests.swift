import Foundation
import KconfigKit
import Testing

/// `kernelkit config merge -m` against scripts/kconfig/merge_config.sh -m, both run in
/// their own empty directory on copies of the same inputs.
@Suite("merge -m: identical to merge_config.sh -m", .enabled(if: Oracles.shouldRun, "needs scripts/setup-oracles.sh"))
struct MergeConfigOracleTests {
    struct Outcome: Equatable {
        var status: Int32
        var stdout: String
        var stderr: String
        var config: Data?
    }

    /// Runs both tools on the same named inputs and returns (script, kernelkit).
    func both(_ options: [String], base: (String, Data), fragments: [(String, Data)],
              environment: [String: String] = [:], outputDir: Bool = false) throws -> (Outcome, Outcome) {
        func once(_ tool: [String]) throws -> Outcome {
            let dir = try TemporaryDirectory()
            try Data(base.1).write(to: URL(fileURLWithPath: "\(dir.path)/\(base.0)"))
            for (name, data) in fragments { try data.write(to: URL(fileURLWithPath: "\(dir.path)/\(name)")) }
            var opts = options
            if outputDir {
                try FileManager.default.createDirectory(atPath: "\(dir.path)/out", withIntermediateDirectories: false)
                opts += ["-O", "out"]
            }
            let r = try run(tool[0], Array(tool.dropFirst()) + opts + [base.0] + fragments.map(\.0),
                            environment: environment, in: dir.path)
            // The only legitimate difference: the absolute output path, which names the directory.
            let out = r.out.replacingOccurrences(of: dir.path, with: "DIR")
            let configPath = environment["KCONFIG_CONFIG"].map { "\(dir.path)/\($0)" }
                ?? (outputDir ? "\(dir.path)/out/.config" : "\(dir.path)/.config")
            let config = try? Data(contentsOf: URL(fileURLWithPath: configPath))
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path)
                .filter { $0.hasPrefix(".tmp.config") || $0.hasPrefix(".merge_tmp") || $0.contains(".kernelkit-") }
            #expect(leftovers.isEmpty, "temporary files left behind: \(leftovers)")
            return Outcome(status: r.status, stdout: out, stderr: r.err, config: config)
        }
        return (try once(["/bin/sh", Oracles.mergeConfig, "-m"]), try once([Paths.kernelkit, "config", "merge", "-m"]))
    }

    func data(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    static let hyperv = Data("""
        CONFIG_HYPERV=y
        CONFIG_HYPERV_NET=y
        CONFIG_HYPERV_STORAGE=y
        # CONFIG_KPROBES is not set
        CONFIG_MODULE_SIG_SHA512=y
        CONFIG_CMDLINE="console=ttyS0   quiet \\"x\\" a\\\\b \\\\n"
        # a comment that mentions CONFIG_HYPERV_UTILS
        CONFIG_NR_CPUS=64
        CONFIG_NR_CPUS=128

        """.utf8)
    static let override = Data("""
        CONFIG_HYPERV_NET=m
        CONFIG_HYPERV=m
        CONFIG_NR_CPUS=128
        CONFIG_HYPERV_UTILS=m
        CONFIG_CMDLINE="console=tty0\\tx"
        CONFIG_BRAND_NEW=y
        # CONFIG_HYPERV_STORAGE is not set
        """.utf8) // no final newline

    @Test("real base configs with fragments, every option combination", arguments: [
        [], ["-r"], ["-y"], ["-y", "-r"], ["-Q"], ["-s"], ["-s", "-y"], ["-n"],
    ])
    func realBases(options: [String]) throws {
        for base in [RealConfigs.azl3hwe_618_x86, RealConfigs.azl4_618_arm] {
            let (script, ours) = try both(options, base: ("base.config", try data(base)),
                                          fragments: [("hyperv.config", Self.hyperv), ("override.config", Self.override)])
            #expect(script.stdout.contains("Merging override.config"))
            #expect(ours == script, "options \(options), base \(base)")
        }
    }

    @Test("a real config merged onto another, as a three-way chain")
    func configOntoConfig() throws {
        let (script, ours) = try both([], base: ("a.config", try data(RealConfigs.azl3_66_x86)),
                                      fragments: [("b.config", try data(RealConfigs.azl3hwe_618_x86)),
                                                  ("c.config", Self.hyperv)])
        #expect(script.status == 0)
        #expect(script.stdout.split(separator: "\n").count > 40)
        #expect(ours == script)
    }

    @Test("Debian's cloud config with the Hyper-V fragment, into -O DIR and into KCONFIG_CONFIG")
    func outputLocations() throws {
        let base = ("base.config", try data(RealConfigs.debianCloud))
        let (s1, o1) = try both(["-r"], base: base, fragments: [("hyperv.config", Self.hyperv)], outputDir: true)
        #expect(s1.config != nil)
        #expect(o1 == s1)
        let (s2, o2) = try both([], base: base, fragments: [("hyperv.config", Self.hyperv)],
                                environment: ["KCONFIG_CONFIG": "merged.config"])
        #expect(s2.stdout.contains("written to merged.config"))
        #expect(o2 == s2)
    }

    @Test("a base without a final newline, a -y demotion inside one fragment, and the CONFIG_ prefix")
    func edges() throws {
        let base = ("base", Data("CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\nCONFIG_AB=y".utf8))
        let frag = ("frag", Data("CONFIG_A=m\nCONFIG_A=y\nCONFIG_B=m\nCONFIG_C=y\nCONFIG_B_CONFIG_A=m\n".utf8))
        for options in [[], ["-y"], ["-y", "-r"]] {
            let (script, ours) = try both(options, base: base, fragments: [frag])
            #expect(ours == script, "options \(options)")
        }
        let prefixed = ("base", Data("BR2_A=y\n# BR2_B is not set\n".utf8))
        let prefixedFrag = ("frag", Data("BR2_B=y\nBR2_A=y\n".utf8))
        let (script, ours) = try both(["-r"], base: prefixed, fragments: [prefixedFrag], environment: ["CONFIG_": "BR2_"])
        #expect(script.stdout.contains("Value of BR2_B is redefined"))
        #expect(ours == script)
    }

    @Test("a missing base is created, as merge_config.sh does")
    func missingBase() throws {
        for tool in [["/bin/sh", Oracles.mergeConfig], [Paths.kernelkit, "config", "merge"]] {
            let dir = try TemporaryDirectory()
            try dir.write("frag", "CONFIG_A=y\n")
            let r = try run(tool[0], Array(tool.dropFirst()) + ["-m", "nobase", "frag"], in: dir.path)
            #expect(r.status == 0)
            #expect(r.err.contains("The base file 'nobase' does not exist. Creating one..."))
            #expect(dir.exists("nobase"))
            #expect(String(decoding: try dir.read(".config"), as: UTF8.self) == "\nCONFIG_A=y\n")
        }
    }
}
