import Foundation
import HardeningKit
import KernelAudit
import KconfigKit
import KernelKitCore
import TestSupport

import Testing

/// What kspp and kernel-hardening used to misjudge, each on a real config changed the way
/// a user's would be: rules that do not apply, or that a kernel passes another way.
@Suite("Hardening: kspp and kernel-hardening judge modules, EFI and per-arch values as KSPP means them")
struct BaselineSemanticsTests {
    /// Azure Linux 4.0's real 6.18 x86_64 config (modules, EFI) with some options set otherwise, and the lines of the
    /// options that follow from them removed (as olddefconfig would drop them).
    func config(_ dir: TemporaryDirectory, unset: [String], drop: [String]) throws -> String {
        let text = try String(contentsOfFile: RealConfigs.azl4_618_x86, encoding: .utf8)
        var lines = [String]()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let name = unset.first(where: { line.hasPrefix("CONFIG_\($0)=") }) { lines.append("# CONFIG_\(name) is not set"); continue }
            if drop.contains(where: { line.hasPrefix("CONFIG_\($0)=") || line == "# CONFIG_\($0) is not set" }) { continue }
            lines.append(String(line))
        }
        return try dir.write("changed.config", lines.joined(separator: "\n"))
    }

    func check(_ path: String, _ baselines: [String], sysctl: String? = nil, arch: Arch? = nil) throws -> HardeningCheck {
        let states = try SystemState.read(configs: [path], cmdline: nil, sysctl: sysctl, live: false, arch: arch)
        return try HardeningCheck(baselines: baselines.map(ShippedBaselines.named), state: states[0], today: "2026-12-03")
    }

    func finding(_ c: HardeningCheck, _ id: String) throws -> Finding { try #require(c.findings.first { $0.rule.id == id }, "no finding of \(id)") }

    @Test("without CONFIG_MODULES, module signing and STRICT_MODULE_RWX pass, saying why")
    func noModules() throws {
        let dir = try TemporaryDirectory()
        let path = try config(dir, unset: ["MODULES"], drop: ["MODULE_SIG", "MODULE_SIG_ALL", "MODULE_SIG_FORCE", "MODULE_SIG_SHA512",
                                                             "MODULE_SIG_SHA3_512", "STRICT_MODULE_RWX", "MODULE_SIG_HASH", "MODULE_SIG_KEY"])
        let c = try check(path, ["kspp", "kernel-hardening"])
        for id in ["kspp.MODULE_SIG", "kspp.MODULE_SIG_ALL", "kspp.MODULE_SIG_FORCE", "kspp.MODULE_SIG_SHA512", "kspp.STRICT_MODULE_RWX", "kh.STRICT_MODULE_RWX"] {
            let f = try finding(c, id)
            #expect(f.status == .pass, "\(id): \(f.status) \(f.note ?? "")")
            #expect(f.note == "passes: CONFIG_MODULES is not set", "\(id)")
        }
        // With modules, the same rules still fail when signing is off.
        let f = try finding(try check(RealConfigs.azl4_618_x86, ["kspp"]), "kspp.MODULE_SIG_FORCE")
        #expect(f.status == .fail && f.note == nil && f.actual == "n")
    }

    @Test("without CONFIG_EFI, the EFI protections do not apply")
    func noEFI() throws {
        let dir = try TemporaryDirectory()
        let path = try config(dir, unset: ["EFI"], drop: ["EFI_DISABLE_PCI_DMA", "RESET_ATTACK_MITIGATION", "EFI_STUB"])
        let c = try check(path, ["kspp", "kernel-hardening"])
        for id in ["kspp.EFI_DISABLE_PCI_DMA", "kspp.RESET_ATTACK_MITIGATION", "kh.EFI_DISABLE_PCI_DMA", "kh.RESET_ATTACK_MITIGATION"] {
            let f = try finding(c, id)
            #expect(f.status == .skipped, "\(id): \(f.status)")
            #expect(f.note == "does not apply: CONFIG_EFI is not set, not y", "\(id): \(f.note ?? "")")
        }
        // With EFI and the option not set, it fails.
        #expect(try finding(try check(RealConfigs.azl4_618_x86, ["kspp"]), "kspp.EFI_DISABLE_PCI_DMA").status == .fail)
    }

    @Test("vm.mmap_min_addr: 65536 on x86_64, 32768 on arm64, as KSPP gives them")
    func mmapMinAddr() throws {
        let dir = try TemporaryDirectory()
        let low = try dir.write("sysctl.txt", "vm.mmap_min_addr = 32768\n")
        let x86 = try check(RealConfigs.azl4_618_x86, ["kspp"], sysctl: low)
        #expect(try finding(x86, "kspp.sysctl.vm.mmap_min_addr").status == .fail)
        #expect(!x86.findings.contains { $0.rule.id == "kspp.sysctl.vm.mmap_min_addr.arm" })
        let arm = try check(RealConfigs.azl4_618_arm, ["kspp"], sysctl: low)
        #expect(try finding(arm, "kspp.sysctl.vm.mmap_min_addr.arm").status == .pass)
        #expect(!arm.findings.contains { $0.rule.id == "kspp.sysctl.vm.mmap_min_addr" })
        #expect(try finding(arm, "kspp.arm64.DEFAULT_MMAP_MIN_ADDR").rule.expectation.description == ">= 32768")
        #expect(try finding(x86, "kspp.x86.DEFAULT_MMAP_MIN_ADDR").rule.expectation.description == ">= 65536")
    }

    @Test("an option absent from the config is 'absent' at the file, not at its last line")
    func absentOption() throws {
        let dir = try TemporaryDirectory()
        let path = try config(dir, unset: [], drop: ["DEBUG_WX"])
        let c = try check(path, ["kspp"])
        let f = try finding(c, "kspp.DEBUG_WX")
        #expect(f.status == .fail && f.actual == nil)
        #expect(f.location == SourceLocation(file: path, line: 0))
        let text = c.text(failOn: .low, color: false)
        #expect(text.contains("kspp.DEBUG_WX: CONFIG_DEBUG_WX is absent, expected y  (\(path))\n"), "\(text)")
    }

    @Test("the report names the branch that decided a combined rule; khc's gates on version decide as its version checks do")
    func decidingBranch() throws {
        let dir = try TemporaryDirectory()
        // MICROCODE_INTEL is part of MICROCODE since 6.6: an any-of over a version gate.
        let path = try config(dir, unset: [], drop: ["MICROCODE_INTEL"])
        let f = try finding(try check(path, ["khc"]), "khc.kconfig.MICROCODE_INTEL")
        #expect(f.status == .pass && f.detail == "OK: CONFIG_MICROCODE is \"y\"", "\(f.detail ?? "")")
        #expect(f.note == "passes: CONFIG_MICROCODE is y")
        let old = try check(path, ["khc"], arch: .x86_64)
        #expect(try finding(old, "khc.kconfig.MICROCODE_INTEL").status == .pass)
    }
}
