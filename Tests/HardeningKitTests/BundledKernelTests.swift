import Foundation
import HardeningKit
import KconfigKit
import KernelKitCore
import Testing

@Suite("kconfigs/6.18: the Hyper-V/Azure kernel's fragments, build and audit")
struct BundledKernelTests {
    static let flavours: [(arch: String, flavour: String)] = [("x86_64", "azure"), ("arm64", "azure"), ("x86_64", "hyperv"), ("arm64", "hyperv")]

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
    func noSilentContradictions(arch: String, flavour: String) throws {
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
    func auditPasses(arch: String, flavour: String) throws {
        let audit = try Audit(arch: arch, flavour: flavour, baselines: [try ShippedBaselines.named("azure-hyperv-6.18")],
                              waivers: [], today: "2026-11-27")
        let failing = audit.check.findings.filter { $0.status == .fail }.map(\.rule.id)
        #expect(failing.isEmpty, "\(arch) \(flavour): \(failing)")
        #expect(audit.check.findings.filter { $0.status == .pass }.count >= 20)
        // The build is the base with the fragments applied: every final request is in it.
        let config = try ConfigFile(bytes: audit.build.config, path: "built", prefix: "CONFIG_")
        for r in audit.build.finalRequests {
            #expect(config.value(of: r.name)?.configText == r.value, "CONFIG_\(r.name)")
        }
    }

    @Test("the built-in copy and the checkout build the same config")
    func embeddedEqualsCheckout() throws {
        for (arch, flavour) in Self.flavours {
            let a = try BundledKernel.build(arch: arch, flavour: flavour, directory: nil)
            let b = try BundledKernel.build(arch: arch, flavour: flavour, directory: Paths.kconfigs(""))
            #expect(a.config == b.config)
        }
    }

    @Test("config build --tree: requested values checked through Kconfig; unknown symbols apart from dropped values",
          .enabled(if: Oracles.treesShouldRun, "needs the 6.12 and 7.2 trees"))
    func buildThroughTrees() throws {
        let dir = try TemporaryDirectory()
        // 7.2 keeps every value it knows for both arches (pahole present for BTF).
        for arch in ["x86_64", "arm64"] {
            let r = try kernelkit(["config", "build", "--arch", arch, "--tree", Oracles.tree72, "-o", "\(dir.path)/\(arch).config"])
            #expect(r.status == 0, "\(arch): \(r.err)")
            #expect(r.err.contains("symbol(s) not in") && r.err.contains("CONFIG_FB_HYPERV"), "\(r.err)")
            let resolved = try ConfigFile(contentsOf: "\(dir.path)/\(arch).config")
            #expect(resolved.value(of: "MODULE_SIG_FORCE")?.tristate == .yes)
            #expect(resolved.value(of: "LOCK_DOWN_KERNEL_FORCE_INTEGRITY")?.tristate == .yes)
        }
        // 6.12 predates Arm CCA: on arm64 nothing selects TSM_REPORTS, so the build fails
        // and says where the value was asked for; the missing symbols are listed apart.
        let old = try kernelkit(["config", "build", "--arch", "arm64", "--tree", Oracles.tree612, "-o", "\(dir.path)/old.config"])
        #expect(old.status == 1)
        #expect(old.err.contains("CONFIG_ARM_CCA_GUEST"))
        #expect(old.err.contains("common/azure.config:16: error: CONFIG_TSM_REPORTS=y resolves to n"), "\(old.err)")
    }

    @Test("kernelkit audit: one report, verdict first, exit 0; JSON and SARIF too")
    func auditCommand() throws {
        let r = try kernelkit(["audit"])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.out.hasPrefix("AUDIT PASS: Linux 6.18 for Hyper-V/Azure"))
        #expect(r.out.contains("ok   Module signing"))
        #expect(r.out.contains("ok   What the probes need"))
        let j = try kernelkit(["audit", "--arch", "arm64", "--format", "json"])
        let doc = try JSONSerialization.jsonObject(with: j.stdout) as! [String: Any]
        #expect(doc["schema"] as? String == "kernelkit.audit-report/1")
        #expect(doc["verdict"] as? String == "pass")
        // With KSPP as well, the audit fails and names the deliberate conflicts.
        let k = try kernelkit(["audit", "--baseline", "azure-hyperv-6.18", "--baseline", "kspp"])
        #expect(k.status == 1)
        #expect(k.out.contains("Conflicts between baselines"))
        let bad = try kernelkit(["audit", "--arch", "sparc"])
        #expect(bad.status == 2)
    }

    @Test("docs/azure-6.18-kernel.md lists every option the build changes, with its reason")
    func docsCurrent() throws {
        let doc = try String(contentsOfFile: "\(Paths.packageRoot)/docs/azure-6.18-kernel.md", encoding: .utf8)
        for arch in ["x86_64", "arm64"] {
            let build = try BundledKernel.build(arch: arch, flavour: "azure", directory: nil)
            let base = try ConfigFile(contentsOf: Paths.kconfigs(build.flavour.base.replacingOccurrences(of: "../", with: "")))
            for r in build.finalRequests where (base.value(of: r.name)?.configText ?? "n") != r.value {
                #expect(doc.contains("CONFIG_\(r.name)") && doc.contains(r.reason ?? "\u{0}"), "\(arch): CONFIG_\(r.name) missing from the docs page (run scripts/kconfigs-doc.py)")
            }
        }
    }
}
