import Foundation
import HardeningKit
import KconfigKit
import KernelAudit
import KernelKitCore
import Testing

@Suite("kconfigs/6.18: the Hyper-V/Azure kernel's fragments, build and audit")
struct BundledKernelTests {
    static let flavours: [(arch: Arch, flavour: String)] = [(.x86_64, "azure"), (.arm64, "azure"), (.x86_64, "hyperv"), (.arm64, "hyperv")]

    /// The 6.18 symbol set: Azure Linux 4.0's two 6.18 configs, the host's 6.18 config,
    /// and what the Fedora-generated 6.18 configs add (Tests/Fixtures/configs).
    static func symbols618() throws -> Set<String> {
        var names = Set<String>()
        for path in [RealConfigs.azl4_618_x86, RealConfigs.azl4_618_arm, RealConfigs.host_618] {
            names.formUnion(try ConfigFile(contentsOf: path).names)
        }
        let extra = try String(contentsOfFile: Paths.fixture("configs/fedora-6.18-extra-symbols.txt"), encoding: .utf8)
        names.formUnion(extra.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init))
        return names
    }

    static func fragments() throws -> [String] {
        let root = Paths.kconfigs("6.18")
        return try ["common", "x86_64", "arm64"].flatMap { dir in
            try FileManager.default.contentsOfDirectory(atPath: "\(root)/\(dir)").filter { $0.hasSuffix(".config") }.map { "\(dir)/\($0)" }
        }.sorted()
    }

    @Test("every symbol a fragment names exists in 6.18, and every option line has a reason")
    func symbolsExist() throws {
        let known = try Self.symbols618()
        #expect(known.count > 14_000)
        let all = try Self.fragments()
        #expect(all.count >= 8)
        for f in all {
            let entries = try FragmentEntry.parse(try InputFile.readBytes(Paths.kconfigs("6.18/\(f)")), path: f)
            #expect(!entries.isEmpty, "\(f)")
            for e in entries {
                #expect(known.contains(e.name), "\(e.location): CONFIG_\(e.name) is not a 6.18 symbol")
                #expect(e.reason.map { !$0.isEmpty } ?? false, "\(e.location): CONFIG_\(e.name) has no reason above it")
            }
        }
    }

    @Test("no fragment changes what an earlier one set without an explicit override", arguments: flavours)
    func noSilentContradictions(arch: Arch, flavour: String) throws {
        let build = try BundledKernel.build(arch: arch, flavour: flavour, directory: Paths.kconfigs(""))
        var set = [String: FragmentEntry]()
        var overrides = 0
        for e in build.requests {
            if let earlier = set[e.name], earlier.value != e.value {
                #expect(e.isOverride, "\(e.location): CONFIG_\(e.name)=\(e.value) contradicts \(earlier.location) without '# override:'")
                overrides += 1
            } else if set[e.name] == nil {
                #expect(!e.isOverride, "\(e.location): marked override, but no earlier fragment sets CONFIG_\(e.name)")
            }
            set[e.name] = e
        }
        if flavour == "azure" { #expect(overrides >= 1) }
    }

    @Test("the built configs pass the azure-hyperv-6.18 baseline with no waivers", arguments: flavours)
    func auditPasses(arch: Arch, flavour: String) throws {
        let audit = try Audit(arch: arch, flavour: flavour, baselines: [try ShippedBaselines.named("azure-hyperv-6.18")],
                              waivers: [], today: "2026-11-27")
        let failing = audit.check.findings.filter { $0.status == .fail }.map(\.rule.id)
        #expect(failing.isEmpty, "\(arch) \(flavour): \(failing)")
        #expect(audit.check.findings.filter { $0.status == .pass }.count >= 20)
    }

    @Test("the build is what merge_config.sh -m makes of the same base and fragments", arguments: flavours)
    func buildEqualsMergeConfig(arch: Arch, flavour: String) throws {
        let build = try BundledKernel.build(arch: arch, flavour: flavour, directory: Paths.kconfigs(""))
        let root = Paths.kconfigs("6.18")
        let dir = try TemporaryDirectory()
        let args = ["-m", "-O", dir.path, "\(root)/\(build.flavour.base)"] + build.flavour.fragments.map { "\(root)/\($0)" }
        let merged = try run("/bin/sh", [Oracles.mergeConfig] + args)
        #expect(merged.status == 0, "\(merged.err)")
        let oracle = try dir.read(".config")
        #expect(Array(oracle) == build.config, "\(arch) \(flavour): differs from merge_config.sh -m")
    }

    @Test("the built-in copy and the checkout build the same config")
    func embeddedEqualsCheckout() throws {
        for (arch, flavour) in Self.flavours {
            let a = try BundledKernel.build(arch: arch, flavour: flavour, directory: nil)
            let b = try BundledKernel.build(arch: arch, flavour: flavour, directory: Paths.kconfigs(""))
            #expect(a.config == b.config)
        }
    }

    @Test("docs/azure-6.18-kernel.md lists every option the build changes, with its reason")
    func docsCurrent() throws {
        let doc = try String(contentsOfFile: "\(Paths.packageRoot)/docs/azure-6.18-kernel.md", encoding: .utf8)
        let rows = doc.split(separator: "\n").filter { $0.hasPrefix("| `CONFIG_") }
        for arch in [Arch.x86_64, .arm64] {
            let build = try BundledKernel.build(arch: arch, flavour: "azure", directory: nil)
            let base = try ConfigFile(contentsOf: Paths.kconfigs(build.flavour.base.replacingOccurrences(of: "../", with: "")))
            for r in build.finalRequests where (base.value(of: r.name)?.configText ?? "n") != r.value {
                // Its own table row names it with its new value and its reason.
                let row = rows.first { $0.hasPrefix("| `CONFIG_\(r.name)` |") && $0.contains(r.reason ?? "\u{0}") }
                #expect(row != nil, "\(arch): CONFIG_\(r.name) has no row with its reason in the docs page (run scripts/kconfigs-doc.py)")
            }
        }
    }

    /// kconfigs/6.18/waivers.toml: the kernel's deviations from kspp and khc. The counts
    /// are written here so that a waiver added without a change to this test shows.
    static let waiverCount = 150
    static let waivedPerArch: [Arch: Int] = [.x86_64: 136, .arm64: 125]

    @Test("the azure flavour passes kspp and khc with its documented waivers, fails without them, and every waiver is used",
          arguments: [Arch.x86_64, .arm64])
    func strictestBaselines(arch: Arch) throws {
        let baselines = [try ShippedBaselines.named("kspp"), try ShippedBaselines.named("khc")]
        let file = Paths.kconfigs("6.18/waivers.toml")
        let waivers = try WaiverFile.load(file: file)
        #expect(waivers.count == Self.waiverCount, "kconfigs/6.18/waivers.toml has \(waivers.count) waivers; update the count here and docs/azure-6.18-kernel.md")
        let with = try Audit(arch: arch, flavour: "azure", baselines: baselines, waivers: waivers, today: "2026-12-03")
        #expect(with.check.findings.filter { $0.status == .fail }.map(\.rule.id) == [])
        #expect(with.check.findings.filter { $0.status == .waived }.count == Self.waivedPerArch[arch])
        let without = try Audit(arch: arch, flavour: "azure", baselines: baselines, waivers: [], today: "2026-12-03")
        let failing = Set(without.check.findings.filter { $0.status == .fail }.map(\.rule.id))
        #expect(failing.count == Self.waivedPerArch[arch])
        // A waiver for nothing that fails on either arch is stale.
        if arch == .x86_64 {
            let arm = try Audit(arch: .arm64, flavour: "azure", baselines: baselines, waivers: [], today: "2026-12-03")
            let either = failing.union(arm.check.findings.filter { $0.status == .fail }.map(\.rule.id))
            #expect(Set(waivers.map(\.rule)) == either)
            // Every waiver has an owner, a reason of some substance and a real date within 18 months.
            for w in waivers {
                #expect(!w.owner.isEmpty && w.reason.count >= 40, "\(w.rule)")
                #expect(w.expires > "2026-12-03" && w.expires <= "2028-06-30", "\(w.rule): \(w.expires)")
            }
        }
    }

    @Test("kernelkit audit --baseline kspp --baseline khc --waivers kconfigs/6.18/waivers.toml: exit 0; without the waivers exit 1")
    func strictestBaselinesCLI() throws {
        let args = ["audit", "--baseline", "kspp", "--baseline", "khc"]
        let pass = try kernelkit(args + ["--waivers", Paths.kconfigs("6.18/waivers.toml")])
        #expect(pass.status == 0, "\(pass.out.prefix(300))")
        #expect(pass.out.hasPrefix("AUDIT PASS"))
        let fail = try kernelkit(args)
        #expect(fail.status == 1)
        #expect(fail.out.hasPrefix("AUDIT FAIL"))
    }

    @Test("docs/azure-6.18-kernel.md lists every waiver with its reason")
    func waiversDocumented() throws {
        let doc = try String(contentsOfFile: "\(Paths.packageRoot)/docs/azure-6.18-kernel.md", encoding: .utf8)
        for w in try WaiverFile.load(file: Paths.kconfigs("6.18/waivers.toml")) {
            #expect(doc.contains("| `\(w.rule)` |"), "\(w.rule) is not in the docs page's waiver table (run scripts/kconfigs-doc.py)")
        }
    }
}
