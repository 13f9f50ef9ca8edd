import KconfigKit
import KernelKitCore

/// One rule's result.
public struct Finding: Sendable {
    public enum Status: String, Sendable { case pass, fail, waived, skipped }

    public var rule: Rule
    public var status: Status
    /// The option as checked (renames applied).
    public var option: String
    public var actual: String?
    /// Where the value is (its .config, cmdline or sysctl line), or where it should go.
    public var location: SourceLocation?
    /// Why skipped, the waiver's reason, or an expired waiver.
    public var note: String?
    /// Rules from other baselines that want something incompatible for this option.
    public var conflicts: [String] = []
    /// The result in kernel-hardening-checker's words ("OK", `FAIL: "m"`,
    /// `OK: CONFIG_MODULES is "is not set"`), for `--format khc-json`.
    public var detail: String?
    /// The primary option's wanted value in kernel-hardening-checker's notation
    /// ("y", "is not set", "*selinux*", a refined number), for `--format khc-json`.
    public var expected: String?
}

/// A waiver: a failing rule accepted, for a reason, by an owner, until a date.
public struct Waiver: Sendable {
    public var rule: String
    public var reason: String
    public var owner: String
    /// YYYY-MM-DD.
    public var expires: String
    public var location: SourceLocation
}

public enum WaiverFile {
    /// Reads `[[waiver]]` tables; every field is required, the date must be YYYY-MM-DD.
    public static func load(file: String) throws(KernelKitError) -> [Waiver] {
        try load(TOML.parse(file: file), file: file)
    }

    /// The same from the file's bytes.
    public static func load(bytes: [UInt8], file: String) throws(KernelKitError) -> [Waiver] {
        try load(TOML.parse(bytes, file: file), file: file)
    }

    private static func load(_ doc: TOMLTable, file: String) throws(KernelKitError) -> [Waiver] {
        for key in doc.keys where key != "waiver" {
            throw PolicyLoader.error(file, doc[key]!.line, "unknown key '\(key)' (a waiver file holds [[waiver]] tables)")
        }
        var out = [Waiver]()
        for item in doc["waiver"]?.array ?? [] {
            guard let t = item.table else { throw PolicyLoader.error(file, item.line, "waiver must be [[waiver]] tables") }
            for key in t.keys where !["rule", "reason", "owner", "expires"].contains(key) {
                throw PolicyLoader.error(file, t[key]!.line, "unknown key '\(key)' in [[waiver]] (rule, reason, owner, expires)")
            }
            let rule = try PolicyLoader.string(t, "rule", file: file, required: true)!
            let reason = try PolicyLoader.string(t, "reason", file: file, required: true)!
            let owner = try PolicyLoader.string(t, "owner", file: file, required: true)!
            guard let e = t["expires"] else { throw PolicyLoader.error(file, t.line, "missing 'expires' (YYYY-MM-DD)") }
            let date: String
            switch e.kind {
            case .date(let d) where isDate(d): date = d
            case .string(let s) where isDate(s): date = s
            default: throw PolicyLoader.error(file, e.line, "expires must be a date, YYYY-MM-DD, not \(e)")
            }
            if reason.trimming(" \t").isEmpty { throw PolicyLoader.error(file, t.line, "a waiver needs a reason") }
            out.append(Waiver(rule: rule, reason: reason, owner: owner, expires: date, location: SourceLocation(file: file, line: t.line)))
        }
        return out
    }

    /// YYYY-MM-DD, and a day of the calendar: "2026-13-45" or "2026-02-30" would sort
    /// after every real date, so a waiver written with it would never lapse.
    static func isDate(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 10, u.enumerated().allSatisfy({ ($0.offset == 4 || $0.offset == 7) ? $0.element == 0x2D : ($0.element >= 0x30 && $0.element <= 0x39) }),
              let year = Int(String(decoding: u[0..<4], as: UTF8.self)), let month = Int(String(decoding: u[5..<7], as: UTF8.self)),
              let day = Int(String(decoding: u[8..<10], as: UTF8.self)), (1...12).contains(month) else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return (1...days).contains(day)
    }
}

/// Two rules from different baselines that no value can satisfy together.
public struct Conflict: Sendable {
    public var option: String
    public var rules: [Rule]
}

/// Runs rules against a system's state.
public struct HardeningCheck: Sendable {
    public var findings: [Finding]
    public var conflicts: [Conflict]
    public var state: SystemState
    /// Rules left out because their arch, version or package does not apply.
    public var notApplicable: Int
    public var baselines: [Baseline]

    /// - Parameters:
    ///   - today: YYYY-MM-DD, for waiver expiry.
    /// - Throws: `.badPolicy` for a waiver that names no loaded rule.
    public init(baselines: [Baseline], state: SystemState, package: String? = nil, waivers: [Waiver] = [],
                today: String) throws(KernelKitError) {
        self.state = state
        self.baselines = baselines
        let all = baselines.flatMap(\.rules)
        let ids = Set(all.map(\.id))
        for w in waivers where !ids.contains(w.rule) {
            throw KernelKitError(.badPolicy, "the waiver names rule '\(w.rule)', which no loaded baseline has", at: w.location)
        }
        let rules = all.filter { $0.applies(arch: state.arch, version: state.version, package: package) }
        notApplicable = all.count - rules.count
        var findings = [Finding]()
        for rule in rules {
            var f = Self.evaluate(rule, state)
            if f.status == .fail, let w = waivers.first(where: { $0.rule == rule.id }) {
                if w.expires < today {
                    f.note = "waiver by \(w.owner) expired on \(w.expires) (\(w.location))"
                } else {
                    f.status = .waived
                    f.note = "waived by \(w.owner) until \(w.expires): \(w.reason)"
                }
            }
            findings.append(f)
        }
        conflicts = Self.conflicts(rules, state: state)
        for c in conflicts {
            for i in findings.indices where c.rules.contains(where: { $0.id == findings[i].rule.id }) {
                findings[i].conflicts = c.rules.map(\.id).filter { $0 != findings[i].rule.id }
            }
        }
        self.findings = findings
    }

    static func evaluate(_ rule: Rule, _ state: SystemState) -> Finding {
        let option = rule.kind == .kconfig ? rule.option(for: state.version) : rule.option
        var f = Finding(rule: rule, status: .skipped, option: option)
        switch rule.kind {
        case .kconfig:
            guard let config = state.config else { f.note = "no kernel config given"; return f }
            if let entry = config[option] {
                f.actual = entry.value.configText
                f.location = entry.location
            } else {
                // Absent: the file, with no line that would point at some other option.
                f.location = SourceLocation(file: config.path, line: 0)
            }
        case .cmdline:
            guard let cmdline = state.cmdline else { f.note = "no kernel command line given"; return f }
            f.actual = cmdline.value(of: option)
            f.location = SourceLocation(file: cmdline.file, line: 1)
        case .sysctl:
            guard let sysctl = state.sysctl else { f.note = "no sysctl values given"; return f }
            f.actual = sysctl.value(of: option)
            f.location = SourceLocation(file: sysctl.file, line: sysctl.values[option]?.line ?? 0)
            if sysctl.live { f.location = SourceLocation(file: "/proc/sys/" + option.replacingOccurrences(".", "/"), line: 0) }
        }
        let lookup = Lookup(state: state, rule: rule)
        if let gate = rule.onlyIf {
            let o = lookup.outcome(gate)
            if !o.ok { f.note = "does not apply: " + o.reason; return f }
        }
        guard let check = lookup.resolved(rule.check ?? .option(kind: rule.kind, name: rule.option, expect: rule.expectation)) else {
            f.note = "does not apply: " + (lookup.missingReference(rule.check ?? .option(kind: rule.kind, name: rule.option, expect: rule.expectation)) ?? "")
            return f
        }
        let o = lookup.outcome(check)
        f.status = o.ok ? .pass : .fail
        f.detail = o.text
        f.expected = lookup.expectedText(check)
        if rule.check != nil, o.decidedBy != 0 { f.note = (o.ok ? "passes: " : "fails: ") + o.reason }
        return f
    }

    /// Rules of different baselines on the same kconfig option that no value satisfies
    /// together: tried with n, m, y and every value any of them names.
    static func conflicts(_ rules: [Rule], state: SystemState) -> [Conflict] {
        var byOption = [String: [Rule]]()
        // A combined rule can be met through its other branches: only single-option rules
        // are compared.
        for r in rules where r.check == nil {
            let key = "\(r.kind.rawValue):\(r.kind == .kconfig ? r.option(for: state.version) : r.option)"
            byOption[key, default: []].append(r)
        }
        var out = [Conflict]()
        for (key, group) in byOption.sorted(by: { $0.key < $1.key }) where Set(group.map(\.baseline)).count > 1 {
            var candidates: [String?] = [nil, "n", "m", "y", "", "0", "1", "2"]
            func collect(_ e: Expectation) {
                switch e {
                case .equals(let v), .exactly(let v): candidates.append(v)
                case .oneOf(let vs): candidates += vs.map { Optional($0) }
                case .atLeast(let n), .atMost(let n): candidates += [String(n)]
                case .contains(let s): candidates.append(s)
                case .anyOf(let es), .allOf(let es): es.forEach(collect)
                default: break
                }
            }
            group.forEach { collect($0.expectation) }
            let kind = group[0].kind
            let satisfiable = candidates.contains { c in group.allSatisfy { $0.expectation.matches(c, kind: kind) } }
            if !satisfiable {
                out.append(Conflict(option: String(key.split(separator: ":", maxSplits: 1)[1]), rules: group))
            }
        }
        return out
    }

    public func failures(atOrAbove severity: Severity) -> [Finding] {
        findings.filter { $0.status == .fail && $0.rule.severity >= severity }
    }

    public var counts: [Finding.Status: Int] {
        var c = [Finding.Status: Int]()
        for f in findings { c[f.status, default: 0] += 1 }
        return c
    }
}
