import KernelKitCore
import KernelProbes

/// The timeline as an SVG picture, in the manner of bootchart and `systemd-analyze plot`:
/// a time axis, the phases as coloured bands, every initcall as a bar in one lane
/// (coloured by level, each with a tooltip), then the slowest initcalls and driver probes
/// one per row with their names, so the costly ones are readable at a glance.
public enum BootChart {
    static let levelColours: [(String, String)] = [
        ("console", "#9467bd"), ("early", "#8c564b"), ("pure", "#e377c2"), ("core", "#1f77b4"), ("postcore", "#17becf"),
        ("arch", "#7f7f7f"), ("subsys", "#2ca02c"), ("fs", "#bcbd22"), ("rootfs", "#98df8a"), ("device", "#ff7f0e"),
        ("late", "#d62728"), ("module", "#393b79"),
    ]

    static func escape(_ s: String) -> String {
        // Over the bytes, and most text (symbols, numbers) has nothing to escape: a walk
        // over Characters for every label was a twelfth of a report. The four are ASCII,
        // so a byte is one of them only where the text has that character (and a
        // combining mark after it, which would hide it from a Character comparison, no
        // longer leaves a raw "<" in the SVG).
        let special: (UInt8) -> Bool = { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 }
        guard s.utf8.contains(where: special) else { return s }
        var out = [UInt8]()
        out.reserveCapacity(s.utf8.count + 16)
        for b in s.utf8 {
            switch b {
            case 0x26: out += "&amp;".utf8
            case 0x3C: out += "&lt;".utf8
            case 0x3E: out += "&gt;".utf8
            case 0x22: out += "&quot;".utf8
            default: out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func pow10(_ n: Int) -> Int { n == 0 ? 1 : 10 * pow10(n - 1) }

    public static func svg(_ t: BootTimeline, slowest: Int = 30) -> String {
        let width = 1240.0, left = 270.0, right = 20.0
        let plot = width - left - right
        let total = Double(max(t.total, t.initcalls.map { $0.start + $0.duration }.max() ?? 0, 1))
        func x(_ us: Int) -> Double { left + Double(us) / total * plot }
        func w(_ us: Int) -> Double { max(1, Double(us) / total * plot) }
        func n(_ v: Double) -> String { fixedPoint(v, decimals: 1) }
        func ms(_ us: Int) -> String { fixedPoint(Double(us) / 1000, decimals: 3) + " ms" }
        let colour = Dictionary(levelColours, uniquingKeysWith: { a, _ in a })
        let top = t.initcalls.sorted { ($0.duration, $1.start) > ($1.duration, $0.start) }.prefix(slowest)
        let probes = t.probes.sorted { $0.duration > $1.duration }.prefix(10)
        let processes = t.processes.prefix(40)
        let units = t.units.filter { $0.duration != nil }.sorted { ($0.duration!, $1.activating) > ($1.duration!, $0.activating) }.prefix(30)
        let rowHeight = 16.0
        let ioLane = t.io.isEmpty ? 0.0 : 60
        let height = 150 + Double(top.count + probes.count + processes.count + units.count + 4) * rowHeight + 60 + ioLane
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">Boot timeline: \(escape(ms(t.total)))</text>\n"
        s += "<text x=\"10\" y=\"36\" fill=\"#555\">\(t.initcalls.count) initcalls, \(t.probes.count) driver probes; from \(escape(t.sources.joined(separator: ", ")))</text>\n"
        // The time axis, with ticks at round numbers of milliseconds.
        let axisY = 55.0
        s += "<line x1=\"\(n(left))\" y1=\"\(n(axisY))\" x2=\"\(n(left + plot))\" y2=\"\(n(axisY))\" stroke=\"#333\"/>\n"
        let totalMs = total / 1000
        // 1, 2, 5 × 10^k ms: the first step that gives at most 12 ticks, however long the
        // timeline (a trace taken hours after boot spans hours).
        var step = 1.0
        var k = 0
        while totalMs / step > 12 {
            k += 1
            step = [1.0, 2, 5][k % 3] * Double(pow10(k / 3))
        }
        var tick = 0.0
        while tick <= totalMs {
            let tx = x(Int(tick * 1000))
            s += "<line x1=\"\(n(tx))\" y1=\"\(n(axisY))\" x2=\"\(n(tx))\" y2=\"\(n(height - 30))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(n(tx))\" y=\"\(n(axisY - 4))\" text-anchor=\"middle\" fill=\"#333\">\(fixedPoint(tick, decimals: 0)) ms</text>\n"
            tick += step
        }
        // Phases as bands.
        let phaseColours = ["#c6dbef", "#c7e9c0", "#fdd0a2", "#dadaeb", "#fcbba1"]
        var y = 65.0
        s += "<text x=\"10\" y=\"\(n(y + 12))\">phases</text>\n"
        for (i, p) in t.phases.enumerated() {
            let py = y + Double(i % 2) * 9
            s += "<rect class=\"phase\" x=\"\(n(x(p.start)))\" y=\"\(n(py))\" width=\"\(n(w(p.duration)))\" height=\"8\" fill=\"\(phaseColours[i % phaseColours.count])\" stroke=\"#999\">"
            s += "<title>\(escape(p.name)): \(escape(ms(p.duration))) from \(escape(ms(p.start)))</title></rect>"
            s += "<text x=\"\(n(x(p.start) + 2))\" y=\"\(n(py + 7))\" font-size=\"8\">\(escape(p.name))</text>\n"
        }
        // Every initcall in one lane.
        y += 30
        s += "<text x=\"10\" y=\"\(n(y + 12))\">initcalls</text>\n"
        for c in t.initcalls {
            let fill = colour[c.level ?? ""] ?? "#aaaaaa"
            s += "<rect class=\"initcall\" x=\"\(n(x(c.start)))\" y=\"\(n(y))\" width=\"\(n(w(c.duration)))\" height=\"16\" fill=\"\(fill)\">"
            s += "<title>\(escape(c.function))\(escape(c.module.map { " [\($0)]" } ?? "")) (\(escape(c.level ?? "?"))): \(escape(ms(c.duration))) at \(escape(ms(c.start)))</title></rect>\n"
        }
        // The slowest, one per row, named.
        y += 30
        s += "<text x=\"10\" y=\"\(n(y + 11))\" font-weight=\"bold\">slowest initcalls</text>\n"
        y += rowHeight
        for c in top {
            let fill = colour[c.level ?? ""] ?? "#aaaaaa"
            let label = c.function + (c.module.map { " [\($0)]" } ?? "")
            s += "<text x=\"\(n(left - 6))\" y=\"\(n(y + 11))\" text-anchor=\"end\">\(escape(String(label.prefix(42))))</text>"
            s += "<rect class=\"slow\" x=\"\(n(x(c.start)))\" y=\"\(n(y + 2))\" width=\"\(n(w(c.duration)))\" height=\"11\" fill=\"\(fill)\"><title>\(escape(label)): \(escape(ms(c.duration)))</title></rect>"
            let after = x(c.start) + w(c.duration) + 4
            let anchor = after > left + plot - 80 ? "end" : "start"
            s += "<text x=\"\(n(anchor == "end" ? x(c.start) - 4 : after))\" y=\"\(n(y + 11))\" text-anchor=\"\(anchor)\" fill=\"#333\">\(escape(ms(c.duration)))</text>\n"
            y += rowHeight
        }
        // A titled list of named bars, one per row, each with its duration after it.
        func rows(_ title: String, _ bars: [(label: String, start: Int, duration: Int, tooltip: String)], class kind: String, fill: String) {
            guard !bars.isEmpty else { return }
            s += "<text x=\"10\" y=\"\(n(y + 11))\" font-weight=\"bold\">\(escape(title))</text>\n"
            y += rowHeight
            for b in bars {
                s += "<text x=\"\(n(left - 6))\" y=\"\(n(y + 11))\" text-anchor=\"end\">\(escape(String(b.label.prefix(42))))</text>"
                s += "<rect class=\"\(kind)\" x=\"\(n(x(b.start)))\" y=\"\(n(y + 2))\" width=\"\(n(w(b.duration)))\" height=\"11\" fill=\"\(fill)\"><title>\(escape(b.tooltip))</title></rect>"
                s += "<text x=\"\(n(x(b.start) + w(b.duration) + 4))\" y=\"\(n(y + 11))\" fill=\"#333\">\(escape(ms(b.duration)))</text>\n"
                y += rowHeight
            }
        }
        rows("slowest driver probes", probes.map { ($0.device, $0.start, $0.duration, "\($0.device): \(ms($0.duration))") },
             class: "probe", fill: "#6b6ecf")
        if !processes.isEmpty {
            s += "<text x=\"10\" y=\"\(n(y + 11))\" font-weight=\"bold\">processes (fork or exec to exit)</text>\n"
            y += rowHeight
            for p in processes {
                let end = p.end ?? Int(total)
                let label = "\(p.pid) \(p.name)"
                s += "<text x=\"\(n(left - 6))\" y=\"\(n(y + 11))\" text-anchor=\"end\">\(escape(String(label.prefix(42))))</text>"
                s += "<rect class=\"process\" x=\"\(n(x(p.start)))\" y=\"\(n(y + 2))\" width=\"\(n(w(end - p.start)))\" height=\"11\" fill=\"#74c476\">"
                s += "<title>\(escape(label)) (parent \(p.ppid.map(String.init) ?? "?")): \(escape(p.duration.map(ms) ?? "still running"))</title></rect>\n"
                y += rowHeight
            }
        }
        rows("slowest systemd units (activating to active)",
             units.map { ($0.name, $0.activating, $0.duration!, "\($0.name): \(ms($0.duration!)), active at \(ms($0.active!))") },
             class: "unit", fill: "#fd8d3c")
        // Block I/O along the bottom: a bar per 50 ms, its height the bytes submitted.
        if !t.io.isEmpty {
            y += 8
            let peak = Double(t.io.map(\.bytes).max() ?? 1)
            let laneHeight = 40.0
            s += "<text x=\"10\" y=\"\(n(y + 11))\" font-weight=\"bold\">block I/O (bytes per 50 ms; peak \(escape(fixedPoint(peak / 1_048_576, decimals: 2))) MiB)</text>\n"
            s += "<line x1=\"\(n(left))\" y1=\"\(n(y + laneHeight))\" x2=\"\(n(left + plot))\" y2=\"\(n(y + laneHeight))\" stroke=\"#999\"/>\n"
            for b in t.io {
                let h = max(1, Double(b.bytes) / peak * laneHeight)
                s += "<rect class=\"io\" x=\"\(n(x(b.start)))\" y=\"\(n(y + laneHeight - h))\" width=\"\(n(w(IOBucket.width)))\" height=\"\(n(h))\" fill=\"#9e9ac8\">"
                s += "<title>\(escape(ms(b.start))): \(b.requests) bios, \(b.bytes / 1024) KiB</title></rect>\n"
            }
            y += laneHeight + 12
        }
        // The legend: a swatch per level seen.
        var lx = 10.0
        let seen = Set(t.initcalls.compactMap(\.level))
        for (level, fill) in levelColours where seen.contains(level) {
            s += "<rect x=\"\(n(lx))\" y=\"\(n(height - 20))\" width=\"10\" height=\"10\" fill=\"\(fill)\"/><text x=\"\(n(lx + 14))\" y=\"\(n(height - 11))\">\(escape(level))</text>\n"
            lx += 80
        }
        s += "</svg>\n"
        return s
    }
}
