import Foundation
import HardeningKit
import KernelAudit
import KconfigKit
import KernelKitCore

import Testing

/// The six Azure Linux configs, with the arch the Azure Linux checker was run with.
enum AzureConfigs {
    static let all: [(name: String, path: String, arch: String)] = [
        ("azl3-6.6-x86_64", RealConfigs.azl3_66_x86, "x86_64"), ("azl3-6.6-aarch64", RealConfigs.azl3_66_arm, "arm64"),
        ("azl3-hwe-6.18-x86_64", RealConfigs.azl3hwe_618_x86, "x86_64"), ("azl3-hwe-6.18-aarch64", RealConfigs.azl3hwe_618_arm, "arm64"),
        ("azl4-6.18-x86_64", RealConfigs.azl4_618_x86, "x86_64"), ("azl4-6.18-aarch64", RealConfigs.azl4_618_arm, "arm64"),
    ]

    /// The verdicts Azure Linux's checker printed (Tests/Fixtures/azl-checker): the number
    /// of options it checked and the failing ones with expected and actual values.
    static func checker(_ name: String, _ package: String) throws -> (checked: Int, failing: Set<String>) {
        let text = try String(contentsOfFile: Paths.fixture("azl-checker/\(name)--\(package).txt"), encoding: .utf8)
        var failing = Set<String>()
        var checked = 0
        for line in text.split(separator: "\n") {
            if let r = line.range(of: "✗ CONFIG_"), let from = line.range(of: " (from ") {
                failing.insert(String(line[r.upperBound..<from.lowerBound]))
            }
            if let r = line.range(of: "Checking "), let n = Int(line[r.upperBound...].prefix { $0.isNumber }) { checked = n }
        }
        return (checked, failing)
    }

    /// Our failing findings in the checker's words: `NAME: expected 'V', got 'A'`.
    static func ours(_ check: HardeningCheck) -> Set<String> {
        Set(check.findings.filter { $0.status == .fail }.map { "\($0.option): expected '\($0.rule.expectation)', got '\($0.actual ?? "n")'" })
    }
}

@Suite("Hardening: the Azure Linux JSON policy gives the same verdicts as Azure Linux's checker")
struct AzureLinuxParityTests {
    @Test("every config, every package: the same options checked, the same failures", arguments: AzureConfigs.all.indices)
    func parity(index: Int) throws {
        let (name, path, arch) = AzureConfigs.all[index]
        let json = try ShippedBaselines.named("azure-linux")
        let converted = try PolicyLoader.load(text: AzureLinuxPolicy.toml(json), file: "converted.toml")
        let config = try ConfigFile(contentsOf: path)
        let state = SystemState(config: config, arch: Arch(rawValue: arch))
        #expect(SystemState.detectArch(config)?.rawValue == arch)
        for package in AzureLinuxPolicy.packages {
            let want = try AzureConfigs.checker(name, package)
            for baseline in [json, converted] {
                let check = try HardeningCheck(baselines: [baseline], state: state, package: package, today: "2026-11-27")
                #expect(check.findings.count == want.checked, "\(name) \(package) \(baseline.file)")
                #expect(AzureConfigs.ours(check) == want.failing, "\(name) \(package) \(baseline.file)")
            }
        }
    }
}

@Suite("Hardening: baselines, policies, waivers, reports", .serialized)
struct HardeningTests {
    @Test("every shipped baseline loads, and its rule ids are unique across baselines")
    func shipped() throws {
        var ids = Set<String>()
        for name in ShippedBaselines.names {
            let b = try ShippedBaselines.named(name)
            #expect(!b.rules.isEmpty)
            for r in b.rules { #expect(ids.insert(r.id).inserted, "\(r.id) twice") }
        }
        let kspp = try ShippedBaselines.named("kspp")
        for kind in RuleKind.allCases { #expect(kspp.rules.contains { $0.kind == kind }) }
        for arch in [Arch.x86_64, .arm64] { #expect(kspp.rules.contains { $0.arches == [arch] }) }
        // Every rule cites its source.
        for name in ShippedBaselines.names {
            for r in try ShippedBaselines.named(name).rules { #expect(!r.rationale.isEmpty || !r.references.isEmpty, "\(r.id)") }
        }
    }

    @Test("all baselines on the real configs: Azure Linux 6.6 and 6.18, the host's 6.18, Debian's 6.12")
    func realConfigs() throws {
        let baselines = try ShippedBaselines.names.map { try ShippedBaselines.named($0) }
        var configs = RealConfigs.bundled
        if Oracles.shouldRun { configs += RealConfigs.debian + [RealConfigs.debianArm64Cloud] }
        for path in configs {
            let config = try ConfigFile(contentsOf: path)
            let state = SystemState(config: config)
            #expect(state.arch != nil, "\(path): arch")
            #expect(state.version != nil, "\(path): version")
            let check = try HardeningCheck(baselines: baselines, state: state, package: "kernel", today: "2026-11-27")
            #expect(check.findings.contains { $0.status == .pass } && check.findings.contains { $0.status == .fail }, "\(path)")
            // With a config given, a kconfig rule is skipped only when its only-if gate says
            // it does not apply (EFI protections on a kernel without EFI).
            for f in check.findings where f.rule.kind == .kconfig && f.status == .skipped {
                #expect(f.rule.onlyIf != nil && f.note?.hasPrefix("does not apply") == true, "\(path): \(f.rule.id) skipped")
            }
            // The designed disagreement between KSPP and our baseline is reported.
            #expect(check.conflicts.contains { $0.option == "LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY" }, "\(path)")
        }
    }

    @Test("renamed options: CFI_CLANG before 6.18, CFI from 6.18")
    func renames() throws {
        let kh = try ShippedBaselines.named("kernel-hardening")
        let rule = try #require(kh.rules.first { $0.option == "CFI" })
        #expect(rule.option(for: KernelVersion(6, 6)) == "CFI_CLANG")
        #expect(rule.option(for: KernelVersion(6, 18)) == "CFI")
        let old = SystemState(config: try ConfigFile(contentsOf: RealConfigs.azl3_66_x86))
        let new = SystemState(config: try ConfigFile(contentsOf: RealConfigs.azl4_618_x86))
        let a = try HardeningCheck(baselines: [kh], state: old, today: "2026-11-27")
        let b = try HardeningCheck(baselines: [kh], state: new, today: "2026-11-27")
        #expect(a.findings.first { $0.rule.id == rule.id }?.option == "CFI_CLANG")
        #expect(b.findings.first { $0.rule.id == rule.id }?.option == "CFI")
    }

    @Test("command lines and sysctl dumps")
    func cmdlineAndSysctl() throws {
        let cmd = KernelCommandLine(text: "BOOT_IMAGE=/vmlinuz root=UUID=x ro slab_nomerge init_on_alloc=1 quiet dyndbg=\"file a.c +p\" lockdown=integrity -- init-arg", file: "cmdline")
        #expect(cmd.value(of: "slab_nomerge") == "")
        #expect(cmd.value(of: "init_on_alloc") == "1")
        #expect(cmd.value(of: "dyndbg") == "file a.c +p")
        #expect(cmd.value(of: "init-arg") == nil)
        let sys = try SysctlValues(dump: "kernel.kptr_restrict = 1\nkernel.printk = 4\t4\t1\t7\n# comment\nnet.core.bpf_jit_harden=2\n", file: "sysctl.txt")
        #expect(sys.value(of: "kernel.printk") == "4 4 1 7")
        #expect(sys.value(of: "net.core.bpf_jit_harden") == "2")
        // CRLF lines (a dump saved on Windows) read the same; the line numbers stay right.
        let crlf = try SysctlValues(dump: "kernel.kptr_restrict = 1\r\n \tkernel/printk =\t4\t 4   1\t7 \r\n", file: "crlf.txt")
        #expect(crlf.value(of: "kernel.kptr_restrict") == "1" && crlf.value(of: "kernel.printk") == "4 4 1 7")
        #expect(crlf.values["kernel.printk"]?.line == 2)
        #expect(throws: KernelKitError.self) { try SysctlValues(dump: "a = 1\r\nsysctl: permission denied on key 'x'\r\n= 3\r\n", file: "bad.txt") }
        let kspp = try ShippedBaselines.named("kspp")
        let check = try HardeningCheck(baselines: [kspp], state: SystemState(cmdline: cmd, sysctl: sys, arch: .x86_64, version: KernelVersion(6, 18)), today: "2026-11-27")
        func status(_ id: String) -> Finding.Status? { check.findings.first { $0.rule.id == id }?.status }
        #expect(status("kspp.cmdline.slab_nomerge") == .pass)
        #expect(status("kspp.cmdline.init_on_alloc") == .pass)
        #expect(status("kspp.cmdline.lockdown") == .fail)
        #expect(status("kspp.sysctl.kernel.kptr_restrict") == .pass)
        #expect(status("kspp.sysctl.kernel.dmesg_restrict") == .fail) // absent from the dump
        #expect(status("kspp.BUG") == .skipped)
        // The live system: /proc/cmdline and /proc/sys.
        let live = try kernelkit(["harden", "check", "--live", "--baseline", "kspp", "--format", "json"])
        #expect(live.status == 0 || live.status == 1, "\(live.err)")
        #expect(live.out.contains("\"kernel.kptr_restrict\""))
    }

    @Test("inputs: /proc/config.gz (gzip) and a kernel image with IKCONFIG give the same config")
    func compressedInputs() throws {
        let dir = try TemporaryDirectory()
        let plain = try Data(contentsOf: URL(fileURLWithPath: RealConfigs.azl4_618_x86))
        let gz = "\(dir.path)/config.gz"
        try plain.write(to: URL(fileURLWithPath: "\(dir.path)/config"))
        #expect(try run("/usr/bin/gzip", ["-k", "\(dir.path)/config"]).status == 0)
        // A vmlinux-like ELF file holding the IKCONFIG blob, as kernel/configs.c lays it out.
        let blob = try Data(contentsOf: URL(fileURLWithPath: gz))
        var image = Data([0x7f, 0x45, 0x4c, 0x46]) + Data(repeating: 0, count: 4096)
        image += Data("IKCFG_ST".utf8) + blob + Data("IKCFG_ED".utf8) + Data(repeating: 0, count: 100)
        let imagePath = try dir.write("vmlinux", bytes: [UInt8](image))
        let a = try SystemState.readConfig(RealConfigs.azl4_618_x86)
        let b = try SystemState.readConfig(gz)
        let c = try SystemState.readConfig(imagePath)
        #expect(a.storage == b.storage && b.storage == c.storage)
    }

    @Test("exit codes: 0 all pass, 1 a failure at or above --fail-on, 2 bad input")
    func exitCodes() throws {
        let dir = try TemporaryDirectory()
        let policy = try dir.write("p.toml", """
        [baseline]
        name = "test"

        [[rule]]
        id = "t.hyperv"
        option = "CONFIG_HYPERV"
        expect = "y|m"
        severity = "high"

        [[rule]]
        id = "t.kcore"
        option = "PROC_KCORE"
        expect = "n"
        severity = "low"
        """)
        let config = RealConfigs.azl4_618_x86
        let fail = try kernelkit(["harden", "check", "--config", config, "--baseline", policy])
        #expect(fail.status == 1, "\(fail.out)\(fail.err)")
        #expect(fail.out.hasPrefix("FAIL: 1 failing, 1 passing"))
        let high = try kernelkit(["harden", "check", "--config", config, "--baseline", policy, "--fail-on", "high"])
        #expect(high.status == 0, "\(high.out)")
        let missing = try kernelkit(["harden", "check", "--config", "/nonexistent.config", "--baseline", policy])
        #expect(missing.status == 2)
        #expect(missing.err.hasPrefix("kernelkit: /nonexistent.config: error:"))
        let binary = try dir.write("bin.config", bytes: [0x41, 0, 0x42])
        let bad = try kernelkit(["harden", "check", "--config", binary, "--baseline", policy])
        #expect(bad.status == 2)
        let nothing = try kernelkit(["harden", "check", "--baseline", policy])
        #expect(nothing.status == 2)
        #expect(nothing.err.contains("nothing to check"))
    }

    @Test("bad policy files get errors at file:line")
    func badPolicies() throws {
        let dir = try TemporaryDirectory()
        let cases: [(String, String, String)] = [
            ("[baseline]\nname = \"x\"\n\n[[rule]]\nid = \"a\"\noption = \"BUG\"\nexpect = { is_yes = true }\n", ":7:", "unknown expectation 'is_yes'"),
            ("[baseline]\nname = \"x\"\n[[rule]]\nid = \"a\"\noption = \"BUG\"\nexpect = \"y\"\nseverity = \"urgent\"\n", ":7:", "severity must be"),
            ("[baseline]\nname = \"x\"\n[[rule]]\nid = \"a\"\noption = \"BUG\"\nexpect = \"y\"\nversions = \"six\"\n", ":7:", "versions must be a range"),
            ("[baseline]\nname = \"x\"\n[[rule]]\nid = \"a\"\noption = \"BUG\"\n", ":3:", "has no 'expect'"),
            ("[baseline]\nname = \"x\"\n[[rule]]\nid = \"a\"\noption = \"BUG\"\nexpect = y\n", ":6:", "strings need quotes"),
            ("[baseline]\nname = \"x\"\n[[rule]]\nid = \"a\"\noption = \"BUG\"\nexpect = \"y\"\nfoo = 1\n", ":7:", "unknown key 'foo'"),
            ("[baseline]\nname = \"x\"\n[[rule]]\nid = \"a\"\noption = \"BUG\"\nexpect = \"y\"\n[[rule]]\nid = \"a\"\noption = \"X\"\nexpect = \"y\"\n", ":7:", "used twice"),
            ("[baseline]\nname = \"unterminated\n", ":2:", "unterminated string"),
        ]
        for (i, (text, line, message)) in cases.enumerated() {
            let file = try dir.write("bad\(i).toml", text)
            let r = try kernelkit(["harden", "check", "--config", RealConfigs.azl4_618_x86, "--baseline", file])
            #expect(r.status == 2, "\(text)")
            #expect(r.err.contains("\(file)\(line)"), "\(r.err)")
            #expect(r.err.contains(message), "\(r.err)")
            #expect(r.err.split(separator: "\n").count == 1, "\(r.err)")
        }
    }

    @Test("waivers: a waived finding, an expired waiver fails, an unknown rule is an error")
    func waivers() throws {
        let dir = try TemporaryDirectory()
        let policy = try dir.write("p.toml", "[baseline]\nname = \"t\"\n[[rule]]\nid = \"t.kcore\"\noption = \"PROC_KCORE\"\nexpect = \"n\"\n")
        let config = RealConfigs.azl4_618_x86
        let ok = try dir.write("w.toml", "[[waiver]]\nrule = \"t.kcore\"\nreason = \"crash tooling reads /proc/kcore\"\nowner = \"kernel-team\"\nexpires = 2027-01-31\n")
        let waived = try kernelkit(["harden", "check", "--config", config, "--baseline", policy, "--waivers", ok, "--format", "json"],
                                   environment: ["KERNELKIT_TODAY": "2026-11-27"])
        #expect(waived.status == 0, "\(waived.out)\(waived.err)")
        #expect(waived.out.contains("\"status\": \"waived\""))
        let expired = try kernelkit(["harden", "check", "--config", config, "--baseline", policy, "--waivers", ok],
                                    environment: ["KERNELKIT_TODAY": "2027-02-01"])
        #expect(expired.status == 1)
        #expect(expired.out.contains("expired on 2027-01-31"))
        let unknown = try dir.write("u.toml", "[[waiver]]\nrule = \"t.nope\"\nreason = \"r\"\nowner = \"o\"\nexpires = \"2027-01-31\"\n")
        let u = try kernelkit(["harden", "check", "--config", config, "--baseline", policy, "--waivers", unknown])
        #expect(u.status == 2)
        #expect(u.err.contains("\(unknown):1: error: the waiver names rule 't.nope'"), "\(u.err)")
        let baddate = try dir.write("d.toml", "[[waiver]]\nrule = \"t.kcore\"\nreason = \"r\"\nowner = \"o\"\nexpires = \"soon\"\n")
        let d = try kernelkit(["harden", "check", "--config", config, "--baseline", policy, "--waivers", baddate])
        #expect(d.status == 2)
        #expect(d.err.contains("\(baddate):5: error: expires must be a date"), "\(d.err)")
        // Dates that are not on the calendar would sort after every real one: a waiver
        // that never lapses. Refused, as a TOML date or as a string; 29 February only in leap years.
        for (text, valid) in [("2026-13-45", false), ("\"2026-02-30\"", false), ("2026-00-10", false), ("2027-02-29", false),
                              ("2028-02-29", true), ("\"2026-12-31\"", true)] {
            let w = try dir.write("c.toml", "[[waiver]]\nrule = \"t.kcore\"\nreason = \"r\"\nowner = \"o\"\nexpires = \(text)\n")
            let r = try kernelkit(["harden", "check", "--config", config, "--baseline", policy, "--waivers", w],
                                  environment: ["KERNELKIT_TODAY": "2026-11-27"])
            #expect(r.status == (valid ? 0 : 2), "\(text): \(r.status) \(r.err)")
            if !valid { #expect(r.err.contains("\(w):5: error: expires must be a date"), "\(text): \(r.err)") }
        }
    }

    @Test("SARIF validates against the SARIF 2.1.0 schema, and JUnit parses with junitparser")
    func reportFormats() throws {
        let dir = try TemporaryDirectory()
        let waivers = try dir.write("w.toml", "[[waiver]]\nrule = \"kspp.PROC_KCORE\"\nreason = \"kdump\"\nowner = \"ops\"\nexpires = 2030-01-01\n")
        let sarif = try kernelkit(["harden", "check", "--config", RealConfigs.azl4_618_x86, "--config", RealConfigs.host_618,
                                   "--format", "sarif", "--waivers", waivers])
        #expect(sarif.status == 1)
        let sarifPath = try dir.write("r.sarif", sarif.out)
        let schema = Paths.fixture("sarif/sarif-schema-2.1.0.json")
        let validate = try run("/usr/bin/env", ["python3", "-c", """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1])); log = json.load(open(sys.argv[2]))
            jsonschema.validate(log, schema)
            results = [r for run in log["runs"] for r in run["results"]]
            assert len(log["runs"]) == 2
            # A value in the file points at its line; an absent option at the file alone.
            for r in results:
                where = r["locations"][0]["physicalLocation"]
                if " is absent," in r["message"]["text"]: assert "region" not in where, r
                else: assert where["region"]["startLine"] > 0, r
            assert any(" is absent," in r["message"]["text"] for r in results)
            assert any("suppressions" in r for r in results)
            # One fingerprint per finding, the same for the same rule in the same file.
            prints = [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["partialFingerprints"]["kernelkitFinding/v1"]) for r in results]
            assert len({p[2] for p in prints}) == len(prints)
            print(len(results))
            """, schema, sarifPath])
        #expect(validate.status == 0, "\(validate.err)")
        // Lines added above every option move each finding's line, not its fingerprint
        // (a repository's config, named by its relative path, as in the CI workflow).
        let original = try String(contentsOfFile: RealConfigs.azl4_618_x86, encoding: .utf8)
        func prints() throws -> [String: (line: Int, print: String)] {
            let r = try kernelkit(["harden", "check", "--config", "azl4.config", "--format", "sarif"], in: dir.path)
            let log = try JSONSerialization.jsonObject(with: r.stdout) as! [String: Any]
            var out = [String: (line: Int, print: String)]()
            for r in ((log["runs"] as! [[String: Any]])[0]["results"] as! [[String: Any]]) {
                guard let region = (((r["locations"] as! [[String: Any]])[0]["physicalLocation"] as! [String: Any])["region"] as? [String: Any]) else { continue }
                out[r["ruleId"] as! String] = (region["startLine"] as! Int, (r["partialFingerprints"] as! [String: String])["kernelkitFinding/v1"]!)
            }
            return out
        }
        try dir.write("azl4.config", original)
        let before = try prints()
        try dir.write("azl4.config", "# a comment\n# another\n" + original)
        let after = try prints()
        #expect(!before.isEmpty && before.keys.sorted() == after.keys.sorted())
        for (rule, b) in before {
            #expect(after[rule]?.line == b.line + 2 && after[rule]?.print == b.print, "\(rule)")
        }
        let junit = try kernelkit(["harden", "check", "--config", RealConfigs.azl4_618_x86, "--format", "junit", "--waivers", waivers])
        let junitPath = try dir.write("r.xml", junit.out)
        let json = try kernelkit(["harden", "check", "--config", RealConfigs.azl4_618_x86, "--format", "json", "--waivers", waivers])
        let summary = try JSONSerialization.jsonObject(with: json.stdout) as! [String: Any]
        let counts = summary["summary"] as! [String: Int]
        let parse = try run("/usr/bin/env", ["python3", "-c", """
            import sys
            from junitparser import JUnitXml, Failure, Skipped
            xml = JUnitXml.fromfile(sys.argv[1])
            tests = failures = skipped = 0
            for suite in xml:
                for case in suite:
                    tests += 1
                    failures += any(isinstance(r, Failure) for r in case.result)
                    skipped += any(isinstance(r, Skipped) for r in case.result)
            print(tests, failures, skipped)
            """, junitPath])
        #expect(parse.status == 0, "\(parse.err)")
        let want = "\(counts["pass"]! + counts["fail"]! + counts["waived"]! + counts["skipped"]!) \(counts["fail"]!) \(counts["waived"]! + counts["skipped"]!)"
        #expect(parse.out.trimmingCharacters(in: .whitespacesAndNewlines) == want)
    }

    @Test("--fix-fragment: merged onto the config, every fixable kconfig failure passes; --tree reports what Kconfig drops",
          .enabled(if: Oracles.treesShouldRun, "needs the 7.2 tree"))
    func fixFragment() throws {
        let dir = try TemporaryDirectory()
        let config = RealConfigs.azl4_618_x86
        let fragment = "\(dir.path)/fix.config"
        let r = try kernelkit(["harden", "check", "--config", config, "--baseline", "kernel-hardening", "--baseline", "azure-hyperv-6.18",
                               "--fix-fragment", fragment, "--tree", Oracles.tree72])
        #expect(r.status == 1)
        #expect(r.err.contains("wrote \(fragment)"))
        // Dependencies drop some requested values, with the chain that holds each back.
        #expect(r.err.contains("warning: CONFIG_"), "\(r.err)")
        let merged = try kernelkit(["config", "merge", "-m", "-O", dir.path, config, fragment])
        #expect(merged.status == 0, "\(merged.err)")
        let again = try kernelkit(["harden", "check", "--config", "\(dir.path)/.config", "--baseline", "kernel-hardening",
                                   "--baseline", "azure-hyperv-6.18", "--format", "json"])
        let report = try JSONSerialization.jsonObject(with: again.stdout) as! [String: Any]
        let failing = (report["findings"] as! [[String: Any]]).filter { $0["status"] as? String == "fail" && $0["kind"] as? String == "kconfig" }
        #expect(failing.isEmpty, "\(failing.map { $0["id"]! })")
    }

    @Test("harden list and explain")
    func listAndExplain() throws {
        let l = try kernelkit(["harden", "list"])
        #expect(l.status == 0)
        #expect(l.out.contains("kspp") && l.out.contains("azure-hyperv-6.18"))
        let e = try kernelkit(["harden", "explain", "azh.LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY"])
        #expect(e.status == 0)
        #expect(e.out.contains("bpf_probe_read_kernel"))
        #expect(e.out.contains("other rules on CONFIG_LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY: kspp.LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY"))
        let missing = try kernelkit(["harden", "explain", "PROC_KCORE"])
        #expect(missing.status == 2)
        #expect(missing.err.contains("did you mean"))
    }
}
