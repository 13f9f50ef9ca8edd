import Foundation
import KconfigKit
import Testing

/// `kernelkit config build` and `kernelkit audit` as users run them (the library side is
/// in KernelAuditTests).
@Suite("kernelkit audit and config build")
struct AuditCommandTests {
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

}
