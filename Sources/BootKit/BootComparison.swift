import KernelKitCore

/// Two boots side by side (`boot compare`): the phases and the initcalls and driver
/// probes that changed, largest change first.
public struct BootComparison: Sendable {
    public struct Change: Sendable, Equatable {
        /// `phase`, `initcall`, `probe`, `process`, `module` or `unit`.
        public var kind: String
        public var name: String
        /// nil when it did not run in that boot.
        public var a: Int?
        public var b: Int?
        public var delta: Int { (b ?? 0) - (a ?? 0) }
    }

    public var totalA: Int, totalB: Int
    public var changes: [Change]

    public init(_ a: BootTimeline, _ b: BootTimeline) {
        totalA = a.total
        totalB = b.total
        var changes = [Change]()
        func pair(_ kind: String, _ x: [(String, Int)], _ y: [(String, Int)]) {
            // A name that runs more than once (an initcall of two modules) is numbered.
            func keyed(_ list: [(String, Int)]) -> [(String, Int)] {
                var seen = [String: Int]()
                return list.map { name, v in
                    seen[name, default: 0] += 1
                    return (seen[name]! > 1 ? "\(name)#\(seen[name]!)" : name, v)
                }
            }
            let kx = keyed(x), ky = keyed(y)
            let bx = Dictionary(kx, uniquingKeysWith: { a, _ in a }), by = Dictionary(ky, uniquingKeysWith: { a, _ in a })
            var names = kx.map(\.0)
            for (n, _) in ky where bx[n] == nil { names.append(n) }
            for n in names { changes.append(Change(kind: kind, name: n, a: bx[n], b: by[n])) }
        }
        pair("phase", a.phases.map { ($0.name, $0.duration) }, b.phases.map { ($0.name, $0.duration) })
        func label(_ c: BootTimeline.Initcall) -> String { c.function + (c.module.map { " [\($0)]" } ?? "") }
        pair("initcall", a.initcalls.map { (label($0), $0.duration) }, b.initcalls.map { (label($0), $0.duration) })
        pair("probe", a.probes.map { ($0.device, $0.duration) }, b.probes.map { ($0.device, $0.duration) })
        pair("process", a.processes.compactMap { p in p.duration.map { (p.name, $0) } },
             b.processes.compactMap { p in p.duration.map { (p.name, $0) } })
        pair("module", a.modules.map { ($0.name, $0.initDuration) }, b.modules.map { ($0.name, $0.initDuration) })
        pair("unit", a.units.compactMap { u in u.duration.map { (u.name, $0) } }, b.units.compactMap { u in u.duration.map { (u.name, $0) } })
        self.changes = changes.filter { $0.delta != 0 || $0.a == nil || $0.b == nil }
            .sorted { (abs($0.delta), $1.name) > (abs($1.delta), $0.name) }
    }

    public func text(aName: String, bName: String, top: Int = 20) -> String {
        func ms(_ us: Int?) -> String { us.map { fixedPoint(Double($0) / 1000, decimals: 3) } ?? "-" }
        func signed(_ us: Int) -> String { (us > 0 ? "+" : "") + fixedPoint(Double(us) / 1000, decimals: 3) }
        func row(_ c: Change) -> String {
            ms(c.a).rightAligned(12) + ms(c.b).rightAligned(12) + signed(c.delta).rightAligned(12)
                + "  " + c.name + (c.a == nil ? "  (only in B)" : c.b == nil ? "  (only in A)" : "") + "\n"
        }
        let header = "A (ms)".rightAligned(12) + "B (ms)".rightAligned(12) + "CHANGE".rightAligned(12)
        var out = "Boot: \(ms(totalA)) ms (\(aName)) -> \(ms(totalB)) ms (\(bName)), \(signed(totalB - totalA)) ms\n\n"
        out += header + "  PHASE\n"
        for c in changes where c.kind == "phase" { out += row(c) }
        for (kind, title) in [("initcall", "INITCALL"), ("probe", "DRIVER PROBE"), ("process", "PROCESS"), ("module", "MODULE"), ("unit", "UNIT")] {
            let list = changes.filter { $0.kind == kind }
            if list.isEmpty { continue }
            out += "\n" + header + "  \(title)\n"
            for c in list.prefix(top) { out += row(c) }
            if list.count > top { out += "… \(list.count - top) more (--format json lists all)\n" }
        }
        return out
    }

    /// `kernelkit.boot-compare/1`.
    public var json: JSONValue {
        .object([("schema", "kernelkit.boot-compare/1"), ("total_a_us", .int(totalA)), ("total_b_us", .int(totalB)),
                 ("changes", .array(changes.map { c in
                     .object([("kind", .string(c.kind)), ("name", .string(c.name)),
                              ("a_us", c.a.map { .int($0) } ?? .null), ("b_us", c.b.map { .int($0) } ?? .null),
                              ("delta_us", .int(c.delta))])
                 }))])
    }
}
