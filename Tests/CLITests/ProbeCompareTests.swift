import Foundation
import Testing

/// `probe compare` reads JSON reports: it needs neither root nor BTF, so it runs anywhere.
@Suite("probe compare")
struct ProbeCompareTests {
    @Test("probe compare: per-bucket deltas and percentile changes")
    func compare() throws {
        let dir = try TemporaryDirectory()
        func report(_ counts: [Int]) -> String {
            let buckets = counts.enumerated().map { i, c in
                "{\"low\": \(i == 0 ? 0 : 1 << i), \"high\": \((1 << (i + 1)) - 1), \"count\": \(c)}"
            }.joined(separator: ", ")
            return "{\"schema\": \"kernelkit.probe-histograms/1\", \"tool\": \"biolatency\", \"duration_s\": 5, \"histograms\": [{\"disk\": null, \"op\": null, \"sync\": null, \"comm\": null, \"unit\": \"usecs\", \"buckets\": [\(buckets)]}]}"
        }
        let a = try dir.write("a.json", report([0, 0, 0, 0, 10, 80, 10]))
        let b = try dir.write("b.json", report([0, 0, 0, 0, 0, 10, 80, 10]))
        let r = try kernelkit(["probe", "compare", a, b])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("p50: 48 -> 96 usecs  +100%"), "\(r.out)")
        let j = try kernelkit(["probe", "compare", "--format", "json", a, b])
        #expect(j.out.contains("\"delta\": 70"))
        let bad = try dir.write("bad.json", "{\"tool\": 3}")
        #expect(try kernelkit(["probe", "compare", a, bad]).status == 2)
        // An unknown --format is a usage error listing the choices, not text by default.
        let yaml = try kernelkit(["probe", "compare", "--format", "yaml", a, b])
        #expect(yaml.status == 2 && yaml.out.isEmpty && yaml.err.contains("'yaml'"), "\(yaml.status) \(yaml.err)")
    }

    @Test("every --format is checked: an unknown value is a usage error (exit 2) on every command",
          arguments: [["audit"], ["harden", "check", "--live"], ["modsign", "verify", "--cert", "x"], ["modsign", "info"],
                      ["probe", "biolatency"], ["config", "diff", "a", "b"]])
    func unknownFormats(command: [String]) throws {
        let r = try kernelkit(command + ["--format", "yaml"])
        #expect(r.status == 2 && r.out.isEmpty, "\(command): \(r.status) \(r.out)")
        #expect(r.err.contains("yaml"), "\(command): \(r.err)")
    }
}
