import Foundation
import KernelKitCore
import KernelProbes
import Testing

/// The user-space side of the probes, on hand-made data: needs neither root nor BTF.
@Suite("histograms and reports, without a kernel")
struct HistogramTests {
    @Test("log2 buckets, percentiles interpolated inside a bucket, the mode")
    func percentiles() {
        // 10 samples in [16, 32), 80 in [32, 64), 10 in [64, 128).
        let h = Log2Histogram(unit: "usecs", counts: [0, 0, 0, 0, 10, 80, 10])
        #expect(Log2Histogram.bounds(0) == (0, 1) && Log2Histogram.bounds(5) == (32, 63))
        #expect(h.total == 100 && h.modeBucket == 5)
        // p50: 40 of the 80 in [32, 64) are needed after the first 10: 32 + 40/80 * 32 = 48.
        #expect(h.percentile(0.5) == 48)
        // p95: 5 of the 10 in [64, 128): 64 + 0.5 * 64 = 96.
        #expect(h.percentile(0.95) == 96)
        #expect(Log2Histogram(unit: "usecs", counts: [0, 0]).percentile(0.5) == nil)
    }

    @Test("the text form: a row per bucket up to the last full one, 40 stars for the fullest")
    func text() {
        let h = Log2Histogram(disk: "loop0", unit: "usecs", counts: [0, 2, 4])
        let lines = h.text().split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[1] == "disk = loop0")
        #expect(lines[2] == "              usecs          : count    distribution")
        #expect(lines[3] == "                   0 -> 1           : 0        |" + String(repeating: " ", count: 40) + "|")
        #expect(lines[4] == "                   2 -> 3           : 2        |" + String(repeating: "*", count: 20) + String(repeating: " ", count: 20) + "|")
        #expect(lines[5] == "                   4 -> 7           : 4        |" + String(repeating: "*", count: 40) + "|")
    }

    @Test("a report reads back from its own JSON schema, and a foreign document is a located error")
    func jsonRoundTrip() throws {
        let h = Log2Histogram(disk: "vda", op: "read", sync: true, unit: "usecs", counts: [1, 0, 3])
        let back = try Log2Histogram(json: h.json)
        #expect(back == h)
        do {
            _ = try Log2Histogram(json: .object([("unit", 3)]))
            Issue.record("accepted a histogram without buckets")
        } catch { #expect(!error.message.isEmpty) }
    }
}
