import Foundation
import Testing

/// `--prometheus-textfile` on `harden check` and `audit`: the file promtool accepts, and
/// what a real node_exporter's textfile collector serves from it.
@Suite("Prometheus textfiles through node_exporter", .serialized,
       .enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/prometheus-node-exporter") || Oracles.required,
                "needs prometheus-node-exporter and promtool (scripts/test.sh installs them)"))
struct PrometheusTextfileTests {
    /// node_exporter with only its textfile collector, on a free port; its /metrics text.
    static func scrape(_ dir: String) throws -> String {
        let port = 19_100 + Int(getpid() % 500)
        let exporter = Process()
        exporter.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus-node-exporter")
        exporter.arguments = ["--collector.disable-defaults", "--collector.textfile", "--collector.textfile.directory=\(dir)",
                              "--web.listen-address=127.0.0.1:\(port)"]
        exporter.standardOutput = FileHandle.nullDevice
        exporter.standardError = FileHandle.nullDevice
        try exporter.run()
        defer { exporter.terminate(); exporter.waitUntilExit() }
        for _ in 0..<50 {
            let r = try run("/usr/bin/curl", ["-sf", "http://127.0.0.1:\(port)/metrics"])
            if r.status == 0 { return r.out }
            usleep(100_000)
        }
        throw KernelKitTestFailure("node_exporter did not answer on port \(port)")
    }

    struct KernelKitTestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    @Test("audit: kernelkit_audit_pass and every rule, served by node_exporter as written")
    func audit() throws {
        let dir = try TemporaryDirectory()
        let r = try kernelkit(["audit", "--prometheus-textfile", dir.path])
        #expect(r.status == 0, "\(r.err)")
        let file = "\(dir.path)/kernelkit_audit.prom"
        let check = try run("/usr/bin/promtool", ["check", "metrics"], input: try Data(contentsOf: URL(fileURLWithPath: file)))
        #expect(check.status == 0, "promtool: \(check.out)\(check.err)")
        // Nothing else in the directory: the temporary file was renamed into place.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["kernelkit_audit.prom"])
        let served = try Self.scrape(dir.path)
        // node_exporter read the file without error, and serves our samples unchanged.
        #expect(served.contains("node_textfile_scrape_error 0"), "\(served.prefix(2000))")
        let ours = PrometheusText.samples(try String(contentsOfFile: file, encoding: .utf8), "kernelkit_")
        let theirs = PrometheusText.samples(served, "kernelkit_")
        #expect(!ours.isEmpty && ours == theirs)
        #expect(theirs["kernelkit_audit_pass"] == 1)
        // The audit's own summary, counted the same way.
        let json = try JSONSerialization.jsonObject(with: try kernelkit(["audit", "--format", "json"]).stdout) as? [String: Any]
        let summary = try #require(json?["summary"] as? [String: Any])
        for status in ["pass", "fail", "waived", "skipped"] {
            let n = try #require(summary[status] as? Int)
            #expect(theirs["kernelkit_harden_rules{baseline=\"azure-hyperv-6.18\",status=\"\(status)\"}"] == Double(n), "\(status)")
        }
        let failing = theirs.filter { $0.key.hasPrefix("kernelkit_harden_rule_failing{") }
        #expect(failing.count >= 30 && failing.values.allSatisfy { $0 == 0 })
        let stamp = try #require(theirs["kernelkit_last_run_timestamp_seconds{command=\"audit\"}"])
        #expect(abs(stamp - Date().timeIntervalSince1970) < 120)
    }

    @Test("audit --live: kernelkit_modules{status} as the report counts them, the live verdict, through node_exporter",
          .enabled(if: Oracles.signingShouldRun, "needs Debian's cloud kernel: run scripts/setup-oracles.sh"))
    func auditLive() throws {
        let dir = try TemporaryDirectory()
        let out = dir.path + "/textfiles"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        // A tree of two Debian modules, one of them stripped of its signature.
        let tree = dir.path + "/tree"
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        for (name, path) in CloudKernel.debian12.modules where name == "hv_vmbus" || name == "hv_netvsc" {
            try FileManager.default.copyItem(atPath: path, toPath: "\(tree)/\(name).ko")
        }
        #expect(try kernelkit(["modsign", "strip", "\(tree)/hv_netvsc.ko"]).status == 0)
        let args = ["audit", "--live", "--modules", tree, "--kernel-image", CloudKernel.debian12.vmlinuz]
        let r = try kernelkit(args + ["--prometheus-textfile", out])
        #expect(r.status == 1, "an unsigned module in the tree fails the audit: \(r.err)")
        let file = "\(out)/kernelkit_audit_live.prom"
        let check = try run("/usr/bin/promtool", ["check", "metrics"], input: try Data(contentsOf: URL(fileURLWithPath: file)))
        #expect(check.status == 0, "promtool: \(check.out)\(check.err)")
        let served = PrometheusText.samples(try Self.scrape(out), "kernelkit_")
        #expect(served["kernelkit_audit_pass"] == 0)
        let json = try JSONSerialization.jsonObject(with: try kernelkit(args + ["--format", "json"]).stdout) as? [String: Any]
        let summary = try #require((json?["modules"] as? [String: Any])?["summary"] as? [String: Int])
        #expect(summary["signed-trusted"] == 1 && summary["unsigned"] == 1)
        for (status, n) in summary {
            #expect(served["kernelkit_modules{status=\"\(status)\"}"] == Double(n), "\(status)")
        }
        #expect(served["kernelkit_last_run_timestamp_seconds{command=\"audit_live\"}"] != nil)
    }

    @Test("harden check: a failing rule is 1, the others 0; one config only; the directory must exist")
    func harden() throws {
        let dir = try TemporaryDirectory()
        let policy = try dir.write("p.toml", "[baseline]\nname = \"t\"\n[[rule]]\nid = \"t.kcore\"\noption = \"PROC_KCORE\"\nexpect = \"n\"\nseverity = \"high\"\n[[rule]]\nid = \"t.modules\"\noption = \"MODULES\"\nexpect = \"y\"\n")
        let config = try dir.write("c.config", "CONFIG_PROC_KCORE=y\nCONFIG_MODULES=y\n")
        let out = dir.path + "/textfiles"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let r = try kernelkit(["harden", "check", "--config", config, "--baseline", policy, "--prometheus-textfile", out])
        #expect(r.status == 1, "\(r.err)")
        let served = PrometheusText.samples(try Self.scrape(out), "kernelkit_")
        #expect(served["kernelkit_harden_rule_failing{baseline=\"t\",rule=\"t.kcore\",severity=\"high\"}"] == 1, "\(served)")
        #expect(served["kernelkit_harden_rule_failing{baseline=\"t\",rule=\"t.modules\",severity=\"medium\"}"] == 0, "\(served)")
        #expect(served["kernelkit_harden_rules{baseline=\"t\",status=\"fail\"}"] == 1)
        #expect(served["kernelkit_harden_rules{baseline=\"t\",status=\"pass\"}"] == 1)
        let two = try kernelkit(["harden", "check", "--config", config, "--config", config, "--baseline", policy, "--prometheus-textfile", out])
        #expect(two.status == 2 && two.err.contains("one --config"), "\(two.err)")
        let missing = try kernelkit(["harden", "check", "--config", config, "--baseline", policy, "--prometheus-textfile", dir.path + "/nope"])
        #expect(missing.status == 2 && missing.err.contains("existing directory"), "\(missing.err)")
    }
}
