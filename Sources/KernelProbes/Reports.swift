import KernelKitCore

/// Two runs of a histogram probe side by side: per bucket, the change in count; per
/// histogram, the change in p50, p90 and p99.
public struct ProbeComparison: Sendable {
    public struct Pair: Sendable {
        public var label: String
        public var a: Log2Histogram?
        public var b: Log2Histogram?
    }

    public var tool: String
    public var pairs: [Pair]
    /// Counters of the same series and name in either run: (series, name, A, B).
    public var counters: [(series: String, name: String, a: Double?, b: Double?)]

    public init(_ a: ProbeReport, _ b: ProbeReport) {
        tool = a.tool
        func key(_ h: Log2Histogram) -> String { "\(h.series ?? "")|\(h.disk ?? "")|\(h.op ?? "")|\(h.sync.map { "\($0)" } ?? "")|\(h.comm ?? "")" }
        var order = [String]()
        var byKey = [String: Pair]()
        for h in a.histograms {
            let k = key(h)
            if byKey[k] == nil { order.append(k) }
            byKey[k] = Pair(label: h.label, a: h, b: nil)
        }
        for h in b.histograms {
            let k = key(h)
            if byKey[k] == nil { order.append(k); byKey[k] = Pair(label: h.label, a: nil, b: h) } else { byKey[k]!.b = h }
        }
        pairs = order.map { byKey[$0]! }
        var cs = [(series: String, name: String, a: Double?, b: Double?)]()
        for c in a.counters { cs.append((c.series, c.name, c.value, nil)) }
        for c in b.counters {
            if let i = cs.firstIndex(where: { $0.series == c.series && $0.name == c.name }) { cs[i].b = c.value } else {
                cs.append((c.series, c.name, nil, c.value))
            }
        }
        counters = cs
    }

    static func fmt(_ v: Double?) -> String {
        guard let v else { return "-" }
        let r = (v * 10).rounded() / 10
        return v >= 100 || r == r.rounded() ? String(Int(v.rounded())) : String(r)
    }

    static func change(_ a: Double?, _ b: Double?) -> String {
        guard let a, let b, a > 0 else { return "" }
        let pct = (b - a) / a * 100
        return (pct >= 0 ? "+" : "") + String(Int(pct.rounded())) + "%"
    }

    public func text(aName: String, bName: String) -> String {
        var out = "\(tool): A = \(aName), B = \(bName)\n"
        for p in pairs {
            let unit = p.a?.unit ?? p.b?.unit ?? ""
            out += "\n" + (p.label.isEmpty ? "all I/O" : p.label) + "\n"
            for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
                let va = p.a?.percentile(q), vb = p.b?.percentile(q)
                out += "  \(name): \(Self.fmt(va)) -> \(Self.fmt(vb)) \(unit)  \(Self.change(va, vb))\n"
            }
            out += "  total: \(p.a?.total ?? 0) -> \(p.b?.total ?? 0)\n"
            let n = max(p.a?.counts.count ?? 0, p.b?.counts.count ?? 0)
            let last = (0..<n).last { i in (p.a?.counts[safe: i] ?? 0) + (p.b?.counts[safe: i] ?? 0) > 0 } ?? -1
            if last < 0 { continue }
            out += "  " + "\(unit)".rightAligned(24) + "        A        B    delta\n"
            for i in 0...last {
                let (lo, hi) = Log2Histogram.bounds(i)
                let ca = p.a?.counts[safe: i] ?? 0, cb = p.b?.counts[safe: i] ?? 0
                let d = Int64(cb) - Int64(ca)
                out += "  " + "\(lo) -> \(hi)".rightAligned(24) + String(ca).rightAligned(9) + String(cb).rightAligned(9)
                    + ((d > 0 ? "+" : "") + String(d)).rightAligned(9) + "\n"
            }
        }
        if !counters.isEmpty {
            out += "\n" + "counter".leftAligned(44) + "A".rightAligned(14) + "B".rightAligned(14) + "change".rightAligned(9) + "\n"
            for c in counters {
                out += (c.series + " " + c.name).leftAligned(44) + Self.fmt(c.a).rightAligned(14) + Self.fmt(c.b).rightAligned(14)
                    + Self.change(c.a, c.b).rightAligned(9) + "\n"
            }
        }
        return out
    }

    public var json: JSONValue {
        .object([("schema", "kernelkit.probe-compare/1"), ("tool", .string(tool)), ("histograms", .array(pairs.map(Self.pairJSON))),
                 ("counters", .array(counters.map { c in
                     .object([("series", .string(c.series)), ("name", .string(c.name)), ("a", c.a.map { .double($0) } ?? .null),
                              ("b", c.b.map { .double($0) } ?? .null),
                              ("change_percent", c.a.flatMap { a in c.b.map { b in a > 0 ? .double(((b - a) / a * 1000).rounded() / 10) : .null } } ?? .null)])
                 }))])
    }

    static func pairJSON(_ p: Pair) -> JSONValue {
        let n = max(p.a?.counts.count ?? 0, p.b?.counts.count ?? 0)
        var buckets = [JSONValue]()
        for i in 0..<n {
            let (lo, hi) = Log2Histogram.bounds(i)
            let ca = Int(p.a?.counts[safe: i] ?? 0), cb = Int(p.b?.counts[safe: i] ?? 0)
            let fields: [(String, JSONValue)] = [("low", .int(Int(lo))), ("high", .int(Int(hi))), ("a", .int(ca)), ("b", .int(cb)),
                                                 ("delta", .int(cb - ca))]
            buckets.append(.object(fields))
        }
        func pct(_ q: Double) -> JSONValue {
            let a = p.a?.percentile(q), b = p.b?.percentile(q)
            var change = JSONValue.null
            if let a, let b { change = .double(b - a) }
            let av: JSONValue = a.map { .double($0) } ?? .null
            let bv: JSONValue = b.map { .double($0) } ?? .null
            return .object([("a", av), ("b", bv), ("change", change)])
        }
        func text(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
        var fields: [(String, JSONValue)] = []
        fields.append(("series", text(p.a?.series ?? p.b?.series)))
        fields.append(("disk", text(p.a?.disk ?? p.b?.disk)))
        fields.append(("op", text(p.a?.op ?? p.b?.op)))
        fields.append(("comm", text(p.a?.comm ?? p.b?.comm)))
        fields.append(("unit", .string(p.a?.unit ?? p.b?.unit ?? "")))
        fields.append(("buckets", .array(buckets)))
        fields.append(("p50", pct(0.5)))
        fields.append(("p90", pct(0.9)))
        fields.append(("p99", pct(0.99)))
        return .object(fields)
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}


/// SVG bar charts of a report's histograms: one panel per histogram, log2 buckets on the
/// x axis, counts as bars, with p50, p90 and p99 marked. Self-contained, no scripts.
public enum HistogramChart {
    public static func svg(_ report: ProbeReport) -> String {
        let panelW = 640.0, panelH = 220.0, margin = 50.0
        let hs = report.histograms.isEmpty ? [Log2Histogram(unit: "usecs", counts: [])] : report.histograms
        let height = Double(hs.count) * (panelH + 40) + 40
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(panelW + 2 * margin))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(margin)\" y=\"24\" font-size=\"15\" font-weight=\"bold\">\(escape(report.tool)): \(hs.count) histogram(s), \(Int(report.durationSeconds.rounded())) s</text>\n"
        for (n, h) in hs.enumerated() {
            let top = 40 + Double(n) * (panelH + 40)
            let last = max(h.counts.lastIndex { $0 > 0 } ?? 0, 3)
            let slots = last + 1
            let barW = panelW / Double(slots)
            let maxC = Double(h.counts.max() ?? 1)
            out += "<text x=\"\(margin)\" y=\"\(top + 14)\" font-weight=\"bold\">\(escape(h.label.isEmpty ? "all I/O" : h.label)) — \(h.total) events, \(escape(h.unit))</text>\n"
            let base = top + panelH
            out += "<line x1=\"\(margin)\" y1=\"\(base)\" x2=\"\(margin + panelW)\" y2=\"\(base)\" stroke=\"#333\"/>\n"
            for i in 0..<slots {
                let c = Double(h.counts[safe: i] ?? 0)
                let bh = maxC > 0 ? (panelH - 30) * c / maxC : 0
                let x = margin + Double(i) * barW
                out += "<rect x=\"\(f(x + 1))\" y=\"\(f(base - bh))\" width=\"\(f(barW - 2))\" height=\"\(f(bh))\" fill=\"#4878d0\"><title>\(Log2Histogram.bounds(i).low)–\(Log2Histogram.bounds(i).high) \(escape(h.unit)): \(Int(c))</title></rect>\n"
                if c > 0 { out += "<text x=\"\(f(x + barW / 2))\" y=\"\(f(base - bh - 3))\" text-anchor=\"middle\" font-size=\"9\">\(Int(c))</text>\n" }
                out += "<text x=\"\(f(x + barW / 2))\" y=\"\(f(base + 14))\" text-anchor=\"middle\" font-size=\"9\">\(label(Log2Histogram.bounds(i).low))</text>\n"
            }
            for (name, q, color) in [("p50", 0.5, "#2a9d3a"), ("p90", 0.9, "#e08a00"), ("p99", 0.99, "#d03030")] {
                guard let v = h.percentile(q) else { continue }
                // Position inside the log2 axis: bucket index plus the fraction within it.
                let i = v < 2 ? 0 : Int(log2(v).rounded(.down))
                let (lo, hi) = Log2Histogram.bounds(i)
                let x = margin + (Double(i) + (v - Double(lo)) / Double(hi + 1 - lo)) * barW
                out += "<line x1=\"\(f(x))\" y1=\"\(top + 22)\" x2=\"\(f(x))\" y2=\"\(base)\" stroke=\"\(color)\" stroke-dasharray=\"4 3\"/>\n"
                out += "<text x=\"\(f(x + 3))\" y=\"\(top + 30 + (q == 0.5 ? 0 : q == 0.9 ? 11 : 22))\" fill=\"\(color)\">\(name) \(label(UInt64(v.rounded())))</text>\n"
            }
        }
        return out + "</svg>\n"
    }

    static func f(_ v: Double) -> String { String((v * 10).rounded() / 10) }

    static func label(_ v: UInt64) -> String {
        v >= 1_000_000 ? "\(v / 1_000_000)M" : v >= 1000 ? "\(v / 1000)k" : "\(v)"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences("&", "&amp;").replacingOccurrences("<", "&lt;").replacingOccurrences(">", "&gt;")
    }
}

extension String {
    func replacingOccurrences(_ a: String, _ b: String) -> String {
        split(separator: a, omittingEmptySubsequences: false).joined(separator: b)
    }
}

private func log2(_ v: Double) -> Double {
    var x = v, r = 0.0
    while x >= 2 { x /= 2; r += 1 }
    return r + (x - 1) // close enough inside a bucket; only the floor is used
}
