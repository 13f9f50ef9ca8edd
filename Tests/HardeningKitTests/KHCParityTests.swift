import Foundation
import HardeningKit
import KernelAudit
import KernelKitCore
import TestSupport

import Testing

/// kernel-hardening-checker's own output on real configs (Tests/Fixtures/khc, made by
/// scripts/khc-fixtures.sh from a checkout of it; the manifest records its version and
/// commit), and how to feed our engine the same inputs.
enum KHCFixtures {
    struct Run: Sendable, CustomTestStringConvertible {
        var name: String, config: String, cmdline: String?, sysctl: String?, checks: Int
        var testDescription: String { name }
        /// Debian's configs come from the oracles directory, the others from the repository.
        var needsOracles: Bool { config.hasPrefix("oracles:") }
        var configPath: String {
            config.hasPrefix("oracles:") ? "\(Oracles.directory)/\(config.dropFirst(8))" : "\(Paths.packageRoot)/\(config.dropFirst(5))"
        }
    }

    static var manifest: [String: Any] {
        let data = try! Data(contentsOf: URL(fileURLWithPath: Paths.fixture("khc/manifest.json")))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static let runs: [Run] = (manifest["runs"] as! [[String: Any]]).map { r in
        func input(_ k: String) -> String? { (r[k] as! String).isEmpty ? nil : Paths.fixture("khc/" + (r[k] as! String)) }
        return Run(name: r["name"] as! String, config: r["config"] as! String, cmdline: input("cmdline"), sysctl: input("sysctl"),
                   checks: r["checks"] as! Int)
    }

    static func expected(_ run: Run) throws -> [[String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Paths.fixture("khc/\(run.name).json")))
        return try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
    }

    static func line(_ o: [String: Any]) -> String {
        ["option_name", "type", "reason", "decision", "desired_val", "check_result", "check_result_bool"]
            .map { "\($0)=\(o[$0].map { "\($0)" } ?? "-")" }.joined(separator: " ")
    }
}

@Suite("Hardening: the khc baseline gives kernel-hardening-checker's verdicts, check for check")
struct KHCParityTests {
    /// Checks where we mean to differ from kernel-hardening-checker, by option_name and
    /// type, with the reason. None so far: every verdict and every result text agrees.
    static let deliberateDifferences: [String: String] = [:]

    @Test("each real config, command line and sysctl dump: the same checks with the same results",
          arguments: KHCFixtures.runs)
    func parity(_ run: KHCFixtures.Run) throws {
        if run.needsOracles && !Oracles.shouldRun { return }
        let khc = try PolicyLoader.load(file: Paths.kconfigs("baselines/khc.toml"))
        let states = try SystemState.read(configs: [run.configPath], cmdline: run.cmdline, sysctl: run.sysctl, live: false)
        let check = try HardeningCheck(baselines: [khc], state: states[0], today: "2026-12-03")
        let ours = try JSONSerialization.jsonObject(with: Data(check.khcJSON().serialized().utf8)) as! [[String: Any]]
        let theirs = try KHCFixtures.expected(run)
        #expect(theirs.count == run.checks)
        #expect(ours.count == theirs.count, "\(run.name): we ran \(ours.count) checks, kernel-hardening-checker \(theirs.count)")
        // Every option it checks we check, and nothing more.
        let key = { (o: [String: Any]) in "\(o["type"]!) \(o["option_name"]!) \(o["desired_val"]!) \(o["decision"]!)" }
        #expect(Set(ours.map(key)) == Set(theirs.map(key)), "\(run.name)")
        var differing = [String]()
        // khc.toml is one file for all arches whose rules come out in each arch's own
        // order (scripts/khc-baseline.py gives an arch that orders a shared check
        // elsewhere its own variant there), so the lists are compared in order.
        #expect(ours.map(key) == theirs.map(key), "\(run.name): another order")
        for (a, b) in zip(ours, theirs) where KHCFixtures.line(a) != KHCFixtures.line(b) {
            if Self.deliberateDifferences["\(b["type"]!) \(b["option_name"]!)"] != nil { continue }
            differing.append("ours:   \(KHCFixtures.line(a))\ntheirs: \(KHCFixtures.line(b))")
        }
        #expect(differing.isEmpty, "\(run.name): \(differing.count) differences\n\(differing.prefix(10).joined(separator: "\n"))")
        // The fixtures exercise both verdicts and the combinations' other branches.
        #expect(theirs.contains { $0["check_result_bool"] as! Bool == false })
        #expect(theirs.contains { ($0["check_result"] as! String).hasPrefix("OK: CONFIG_") || ($0["check_result"] as! String).hasPrefix("OK: version") })
    }

    @Test("the fixtures name the tool's version and commit, and cover every arch it knows with all three kinds")
    func fixtureProvenance() throws {
        #expect(KHCFixtures.manifest["tool"] as? String == "kernel-hardening-checker")
        #expect((KHCFixtures.manifest["version"] as? String)?.isEmpty == false)
        #expect((KHCFixtures.manifest["commit"] as? String)?.count == 40)
        #expect(KHCFixtures.runs.count >= 13)
        var kinds = Set<String>()
        for run in KHCFixtures.runs { for o in try KHCFixtures.expected(run) { kinds.insert(o["type"] as! String) } }
        #expect(kinds == ["kconfig", "cmdline", "sysctl"])
        // What it makes per arch: x86_64 363 checks (259 kconfig), arm64 319, arm 295, and
        // on the 6.1 i386 and 7.2 riscv64 configs, X86_32 342 and RISCV 294.
        #expect(Set(KHCFixtures.runs.map(\.checks)).isSuperset(of: [363, 319, 295, 342, 294]))
    }

    @Test("kernelkit harden check --format khc-json: the shape and verdicts of kernel-hardening-checker's -m json")
    func binaryFormat() throws {
        let run = KHCFixtures.runs.first { $0.name == "azl4-6.18-x86_64" }!
        let r = try kernelkit(["harden", "check", "--config", run.configPath, "--cmdline", run.cmdline!, "--sysctl", run.sysctl!,
                               "--baseline", "khc", "--format", "khc-json"])
        #expect(r.status == 1, "\(r.err)")
        let ours = try JSONSerialization.jsonObject(with: r.stdout) as! [[String: Any]]
        let theirs = try KHCFixtures.expected(run)
        #expect(ours.map { Set($0.keys) } == theirs.map { Set($0.keys) })
        #expect(ours.map(KHCFixtures.line) == theirs.map(KHCFixtures.line))
        #expect(ours.allSatisfy { $0["check_result_bool"] is Bool })
        // And its bytes: khc prints `json.dumps(output)`, so the same list is the same text
        // exactly when Python writes ours back unchanged.
        let dir = try TemporaryDirectory()
        let py = try TestSupport.run("/usr/bin/python3", ["-c", "import json, sys; print(json.dumps(json.load(open(sys.argv[1]))))",
                                              try dir.write("ours.json", r.out)])
        #expect(py.status == 0 && py.out == r.out, "not json.dumps's bytes")
    }

    @Test("several configs in one run, checked on every core: each report is the tool's for its config, in the order given")
    func severalConfigs() throws {
        // The fixtures' runs that share a command line and sysctl dump go in one invocation
        // (x86_64, arm64, arm and riscv side by side when the oracles are there).
        let usable = KHCFixtures.runs.filter { !$0.needsOracles || Oracles.shouldRun }
        let groups = Dictionary(grouping: usable) { "\($0.cmdline ?? "")|\($0.sysctl ?? "")" }.values.filter { $0.count >= 2 }
        #expect(!groups.isEmpty)
        for group in groups {
            var args = ["harden", "check", "--baseline", "khc", "--format", "khc-json"]
            for run in group { args += ["--config", run.configPath] }
            if let c = group[0].cmdline { args += ["--cmdline", c] }
            if let s = group[0].sysctl { args += ["--sysctl", s] }
            let r = try kernelkit(args)
            #expect(r.status == 1, "\(r.err)")
            let reports = try JSONSerialization.jsonObject(with: r.stdout) as! [[[String: Any]]]
            #expect(reports.count == group.count)
            for (run, ours) in zip(group, reports) {
                #expect(ours.map(KHCFixtures.line) == (try KHCFixtures.expected(run)).map(KHCFixtures.line), "\(run.name)")
            }
        }
        // The first unreadable config (in the order given) is the error, whichever thread met it first.
        let r = try kernelkit(["harden", "check", "--baseline", "khc", "--config", KHCFixtures.runs[0].configPath,
                               "--config", "/nonexistent/first.config", "--config", "/nonexistent/second.config"])
        #expect(r.status == 2)
        #expect(r.err.contains("/nonexistent/first.config") && !r.err.contains("second"), "\(r.err)")
    }
}
