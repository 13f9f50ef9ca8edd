import KernelKitCore

extension KernelKitError.Code {
    /// A policy, baseline or waiver file that is valid TOML but not a valid policy.
    public static let badPolicy = KernelKitError.Code("bad-policy")
}

/// Reads baselines from the TOML policy format (docs/harden.md), every problem reported
/// at the line of the value that causes it.
public enum PolicyLoader {
    public static func load(file: String) throws(KernelKitError) -> Baseline {
        try load(TOML.parse(file: file), file: file)
    }

    public static func load(text: String, file: String) throws(KernelKitError) -> Baseline {
        try load(TOML.parse(Array(text.utf8), file: file), file: file)
    }

    static func error(_ file: String, _ line: Int, _ message: String) -> KernelKitError {
        KernelKitError(.badPolicy, message, at: SourceLocation(file: file, line: line))
    }

    static func load(_ doc: TOMLTable, file: String) throws(KernelKitError) -> Baseline {
        for key in doc.keys where !["baseline", "defaults", "rule"].contains(key) {
            throw error(file, doc[key]!.line, "unknown top-level key '\(key)' (expected [baseline], [defaults] and [[rule]])")
        }
        guard let head = doc["baseline"]?.table else {
            throw error(file, 1, "missing [baseline] table with the baseline's name")
        }
        let name = try string(head, "name", file: file, required: true)!
        let title = try string(head, "title", file: file) ?? name
        let source = try string(head, "source", file: file)
        var defaults = Rule(id: "", kind: .kconfig, option: "", expectation: .isYes)
        if let d = doc["defaults"]?.table {
            for key in d.keys where !["severity", "tags", "arch", "versions", "kind", "references"].contains(key) {
                throw error(file, d[key]!.line, "unknown key '\(key)' in [defaults]")
            }
            try apply(d, to: &defaults, file: file, isDefaults: true)
        }
        guard let rules = doc["rule"] else { return Baseline(name: name, title: title, source: source, rules: [], file: file) }
        guard let list = rules.array else { throw error(file, rules.line, "'rule' must be [[rule]] tables") }
        var out = [Rule]()
        var seen = [String: Int]()
        for item in list {
            guard let t = item.table else { throw error(file, item.line, "'rule' must be [[rule]] tables") }
            var rule = defaults
            rule.location = SourceLocation(file: file, line: t.line)
            rule.baseline = name
            try apply(t, to: &rule, file: file, isDefaults: false)
            if let previous = seen[rule.id] {
                throw error(file, t.line, "rule id '\(rule.id)' is used twice (first at line \(previous))")
            }
            seen[rule.id] = t.line
            out.append(rule)
        }
        return Baseline(name: name, title: title, source: source, rules: out, file: file)
    }

    static let ruleKeys: Set<String> = ["id", "kind", "option", "expect", "any-of", "all-of", "only-if", "category", "source",
                                        "arch", "versions", "renamed", "packages",
                                        "not-packages", "severity", "rationale", "references", "remediation", "tags"]

    static func apply(_ t: TOMLTable, to rule: inout Rule, file: String, isDefaults: Bool) throws(KernelKitError) {
        if !isDefaults {
            for key in t.keys where !ruleKeys.contains(key) {
                throw error(file, t[key]!.line, "unknown key '\(key)' in [[rule]] (known: \(ruleKeys.sorted().joined(separator: ", ")))")
            }
            rule.id = try string(t, "id", file: file, required: true, at: t.line)!
        }
        if let k = t["kind"] {
            guard let s = k.string, let kind = RuleKind(rawValue: s) else {
                throw error(file, k.line, "kind must be \"kconfig\", \"cmdline\" or \"sysctl\", not \(k)")
            }
            rule.kind = kind
        }
        if !isDefaults {
            let combined = ["any-of", "all-of"].filter { t[$0] != nil }
            if combined.count > 1 { throw error(file, t.line, "rule '\(rule.id)' has both any-of and all-of; nest one in the other") }
            if let key = combined.first {
                for k in ["option", "expect"] where t[k] != nil {
                    throw error(file, t[k]!.line, "rule '\(rule.id)' has \(key): its first check names the option, so '\(k)' goes inside it")
                }
                let c = try check(t, key: key, kind: rule.kind, file: file, depth: 0)
                guard let p = c.primary else { throw error(file, t[key]!.line, "\(key) needs an option check first (not only version gates)") }
                guard p.kind == rule.kind else {
                    throw error(file, t[key]!.line, "the first check of rule '\(rule.id)' is a \(p.kind.rawValue) check; give the rule kind = \"\(p.kind.rawValue)\"")
                }
                rule.check = c
                (rule.option, rule.expectation) = (p.name, p.expect)
            } else {
                var option = try string(t, "option", file: file, required: true, at: t.line)!
                if rule.kind == .kconfig && option.hasPrefix("CONFIG_") { option.removeFirst(7) }
                rule.option = option
                guard let e = t["expect"] else { throw error(file, t.line, "rule '\(rule.id)' has no 'expect' (or any-of / all-of)") }
                rule.expectation = try expectation(e, file: file)
                if case .equalsOption = rule.expectation { rule.check = .option(kind: rule.kind, name: option, expect: rule.expectation) }
            }
            if let g = t["only-if"] { rule.onlyIf = try check(g, kind: rule.kind, file: file, depth: 0) }
            rule.category = try string(t, "category", file: file)
            rule.source = try string(t, "source", file: file)
        }
        if let a = t["arch"] {
            rule.arches = try strings(a, file: file).map { (s: String) throws(KernelKitError) -> Arch in
                guard let arch = Arch(normalizing: s) else {
                    throw error(file, a.line, "unknown arch '\(s)' (x86_64, x86_32, arm64, arm, riscv)")
                }
                return arch
            }
        }
        if let v = t["versions"] {
            guard let s = v.string, let r = VersionRange(s) else {
                throw error(file, v.line, "versions must be a range such as \">=6.7\" or \">=6.1,<6.18\", not \(v)")
            }
            rule.versions = r
        }
        if let r = t["renamed"] {
            guard let items = r.array else { throw error(file, r.line, "renamed must be an array of { option, versions } tables") }
            for item in items {
                guard let it = item.table, let o = it["option"]?.string, let vs = it["versions"]?.string, let range = VersionRange(vs) else {
                    throw error(file, item.line, "each renamed entry is { option = \"OLD_NAME\", versions = \"<6.18\" }")
                }
                rule.renamed.append((o.hasPrefix("CONFIG_") ? String(o.dropFirst(7)) : o, range))
            }
        }
        if let p = t["packages"] { rule.packages = try strings(p, file: file) }
        if let p = t["not-packages"] { rule.notPackages = try strings(p, file: file) }
        if let s = t["severity"] {
            guard let str = s.string, let sev = Severity(rawValue: str) else {
                throw error(file, s.line, "severity must be low, medium, high or critical, not \(s)")
            }
            rule.severity = sev
        }
        if let r = try string(t, "rationale", file: file) { rule.rationale = r }
        if let r = t["references"] { rule.references = try strings(r, file: file) }
        if let r = t["remediation"] {
            guard let s = scalarText(r) else { throw error(file, r.line, "remediation must be a string") }
            rule.remediation = s
        }
        if let tags = t["tags"] { rule.tags = try strings(tags, file: file) }
    }

    /// How deep checks may nest: real policies nest three levels; a file nested thousands
    /// deep is an error, not a stack overflow.
    static let maxDepth = 32

    /// A rule's `any-of` / `all-of` array.
    static func check(_ t: TOMLTable, key: String, kind: RuleKind, file: String, depth: Int) throws(KernelKitError) -> Check {
        let v = t[key]!
        guard let items = v.array, !items.isEmpty else { throw error(file, v.line, "\(key) takes a non-empty array of checks") }
        var cs = [Check]()
        for i in items { cs.append(try check(i, kind: kind, file: file, depth: depth + 1)) }
        return key == "any-of" ? .anyOf(cs) : .allOf(cs)
    }

    /// One check: `{ option, expect[, kind] }`, `{ version = ">=6.6.0" }`, or a nested
    /// `{ any-of = [...] }` / `{ all-of = [...] }`.
    static func check(_ v: TOMLValue, kind: RuleKind, file: String, depth: Int) throws(KernelKitError) -> Check {
        guard depth <= maxDepth else { throw error(file, v.line, "checks nested deeper than \(maxDepth) levels") }
        guard let t = v.table else {
            throw error(file, v.line, "a check is a table: { option = \"X\", expect = \"y\" }, { version = \">=6.6\" }, { any-of = [...] } or { all-of = [...] }")
        }
        if t["any-of"] != nil || t["all-of"] != nil {
            guard t.keys.count == 1, let key = t.keys.first else { throw error(file, t.line, "a nested any-of / all-of stands alone in its table") }
            return try check(t, key: key, kind: kind, file: file, depth: depth + 1)
        }
        if let r = t["version"] {
            guard t.keys.count == 1, let s = r.string, let range = VersionRange(s) else {
                throw error(file, r.line, "a version check is { version = \">=5.4.208\" } alone")
            }
            return .version(range)
        }
        for key in t.keys where !["kind", "option", "expect"].contains(key) {
            throw error(file, t[key]!.line, "unknown key '\(key)' in a check (kind, option, expect; or version, any-of, all-of)")
        }
        var k = kind
        if let kv = t["kind"] {
            guard let s = kv.string, let parsed = RuleKind(rawValue: s) else {
                throw error(file, kv.line, "kind must be \"kconfig\", \"cmdline\" or \"sysctl\", not \(kv)")
            }
            k = parsed
        }
        var option = try string(t, "option", file: file, required: true, at: t.line)!
        if k == .kconfig && option.hasPrefix("CONFIG_") { option.removeFirst(7) }
        guard let e = t["expect"] else { throw error(file, t.line, "the check of \(option) has no 'expect'") }
        return .option(kind: k, name: option, expect: try expectation(e, file: file))
    }

    static func expectation(_ v: TOMLValue, file: String) throws(KernelKitError) -> Expectation {
        if let s = v.string {
            switch s {
            case "y": return .isYes
            case "m": return .isModule
            case "y|m", "m|y", "y or m": return .isYesOrModule
            case "n", "not set", "is not set": return .isNotSet
            default: return .equals(s)
            }
        }
        guard let t = v.table, t.keys.count == 1, let key = t.keys.first, let arg = t[key] else {
            throw error(file, v.line, "expect must be \"y\", \"m\", \"y|m\", \"n\", a string, or a table with one of: equals, exactly, one-of, at-least, at-most, contains, present, absent, not-off, equals-option, any-of, all-of")
        }
        switch key {
        case "equals":
            guard let s = scalarText(arg) else { throw error(file, arg.line, "equals takes a string or an integer") }
            return .equals(s)
        case "exactly":
            guard let s = arg.string else { throw error(file, arg.line, "exactly takes a string (the raw .config text)") }
            return .exactly(s)
        case "one-of":
            guard let items = arg.array else { throw error(file, arg.line, "one-of takes an array") }
            return .oneOf(try items.map { (i: TOMLValue) throws(KernelKitError) -> String in
                guard let s = scalarText(i) else { throw error(file, i.line, "one-of values are strings or integers") }
                return s
            })
        case "at-least", "at-most":
            guard let n = arg.integer else { throw error(file, arg.line, "\(key) takes an integer") }
            return key == "at-least" ? .atLeast(n) : .atMost(n)
        case "contains":
            guard let s = arg.string else { throw error(file, arg.line, "contains takes a string") }
            return .contains(s)
        case "present", "absent", "not-off":
            guard arg.bool == true else { throw error(file, arg.line, "\(key) takes true") }
            return key == "present" ? .present : key == "absent" ? .absent : .notOff
        case "equals-option":
            guard var s = arg.string, !s.isEmpty else { throw error(file, arg.line, "equals-option takes a kconfig option's name") }
            if s.hasPrefix("CONFIG_") { s.removeFirst(7) }
            return .equalsOption(s)
        case "any-of", "all-of":
            guard let items = arg.array, !items.isEmpty else { throw error(file, arg.line, "\(key) takes a non-empty array of expectations") }
            var es = [Expectation]()
            for i in items { es.append(try expectation(i, file: file)) }
            return key == "any-of" ? .anyOf(es) : .allOf(es)
        default:
            throw error(file, t.line, "unknown expectation '\(key)' (equals, exactly, one-of, at-least, at-most, contains, present, absent, not-off, equals-option, any-of, all-of)")
        }
    }

    /// A string, or an integer as its decimal text.
    static func scalarText(_ v: TOMLValue) -> String? {
        switch v.kind {
        case .string(let s): return s
        case .integer(let i): return String(i)
        default: return nil
        }
    }

    static func string(_ t: TOMLTable, _ key: String, file: String, required: Bool = false, at line: Int? = nil) throws(KernelKitError) -> String? {
        guard let v = t[key] else {
            if required { throw error(file, line ?? t.line, "missing '\(key)'") }
            return nil
        }
        guard let s = v.string else { throw error(file, v.line, "'\(key)' must be a string, found \(v.typeName)") }
        return s
    }

    static func strings(_ v: TOMLValue, file: String) throws(KernelKitError) -> [String] {
        if let s = v.string { return [s] }
        guard let items = v.array else { throw error(file, v.line, "expected a string or an array of strings, found \(v.typeName)") }
        var out = [String]()
        for i in items {
            guard let s = i.string else { throw error(file, i.line, "expected a string, found \(i.typeName)") }
            out.append(s)
        }
        return out
    }
}
