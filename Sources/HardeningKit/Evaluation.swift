import KernelKitCore

/// A check's result: whether it passes, which of a combination's checks decided it, and
/// the result in words.
///
/// The words follow kernel-hardening-checker's, so that `--format khc-json` gives the
/// `check_result` its users' pipelines already parse, and so that our parity test can
/// compare them as well as the verdicts: an any-of takes the first check that passes (in
/// order) and names it when it is not the first; an all-of looks at its conditions from
/// the last to the first and names the first that fails, else takes its first check's
/// result.
struct Outcome {
    var ok: Bool
    /// kernel-hardening-checker's check_result text.
    var text: String
    /// Index of the deciding check within the top combination (0: the primary).
    var decidedBy = 0
    /// What decided, for the report's note ("CONFIG_MODULES is not set").
    var reason: String
}

/// Values of a system state as the checks see them.
struct Lookup {
    var state: SystemState
    var rule: Rule

    /// The option's value; nil when absent or when its input is not given (as
    /// kernel-hardening-checker, which fills each check from the inputs it has).
    func value(_ kind: RuleKind, _ name: String) -> String? {
        switch kind {
        case .kconfig:
            let n = name == rule.option ? rule.option(for: state.version) : name
            return state.config?[n]?.value.configText
        case .cmdline: return state.cmdline?.value(of: name)
        case .sysctl: return state.sysctl?.value(of: name)
        }
    }

    /// `equals-option` leaves replaced by the value that option has; nil when one names an
    /// option that is absent (the rule does not apply).
    func resolved(_ c: Check) -> Check? {
        switch c {
        case .option(let k, let n, .equalsOption(let other)):
            guard let v = state.config?[other]?.value.configText, !v.isEmpty else { return nil }
            return .option(kind: k, name: n, expect: .equals(v))
        case .option, .version: return c
        case .anyOf(let cs):
            var out = [Check]()
            for x in cs { guard let r = resolved(x) else { return nil }; out.append(r) }
            return .anyOf(out)
        case .allOf(let cs):
            var out = [Check]()
            for x in cs { guard let r = resolved(x) else { return nil }; out.append(r) }
            return .allOf(out)
        }
    }

    func missingReference(_ c: Check) -> String? {
        for o in c.options {
            if case .equalsOption(let other) = o.expect, state.config?[other] == nil {
                return "CONFIG_\(other), whose value \(o.name) should have, is absent"
            }
        }
        return nil
    }

    func outcome(_ c: Check) -> Outcome {
        switch c {
        case .option(let kind, let name, let expect):
            return leaf(kind, name, expect)
        case .version(let range):
            let shown = Self.tuple(range)
            guard let v = state.version else { return Outcome(ok: false, text: "FAIL: version unknown", reason: "the kernel version is unknown") }
            let ok = range.contains(v)
            return Outcome(ok: ok, text: ok ? "OK: version >= \(shown)" : "FAIL: version < \(shown)", reason: "Linux \(v.major).\(v.minor).\(v.patch) \(ok ? "is" : "is not") \(range)")
        case .anyOf(let cs):
            var first: Outcome?
            for (i, x) in cs.enumerated() {
                var o = outcome(x)
                if first == nil { first = o }
                guard o.ok else { continue }
                if i != 0 { o.text = Self.okText(o.text, x, self); o.decidedBy = i }
                return o
            }
            return first ?? Outcome(ok: false, text: "FAIL", reason: "")
        case .allOf(let cs):
            for (i, x) in cs.enumerated().reversed() {
                var o = outcome(x)
                if i == 0 { return o }
                if !o.ok { o.text = Self.failText(o.text, x, self); o.decidedBy = i; return o }
            }
            return Outcome(ok: false, text: "FAIL", reason: "")
        }
    }

    /// One option's check, in kernel-hardening-checker's words.
    func leaf(_ kind: RuleKind, _ name: String, _ expect: Expectation) -> Outcome {
        let raw = value(kind, name)
        let ok = expect.matches(raw, kind: kind)
        // kernel-hardening-checker's state: a kconfig `# CONFIG_X is not set` reads as
        // "is not set", everything else as written.
        let state = kind == .kconfig && raw == "n" ? "is not set" : raw
        let shown = Self.displayName(kind, name)
        let text: String
        switch expect {
        case .contains:
            if let state { text = ok ? "OK: in \(state)" : "FAIL: not in \(state)" } else { text = "FAIL: is not found" }
        case .present:
            text = ok ? "OK: is present" : "FAIL: is not present"
        case .notOff:
            if let state {
                if ok { text = "OK: is not off (\(state))" } else { text = state == "off" ? "FAIL: is off" : "FAIL: is off (\(state))" }
            } else { text = "FAIL: is off, not found" }
        default:
            if state == nil { text = ok ? "OK: is not found" : "FAIL: is not found" } else { text = ok ? "OK" : "FAIL: \"\(state!)\"" }
        }
        let reason = ok ? "\(shown) is \(Self.khcExpected(expect) == "is not set" ? "not set" : Self.khcExpected(expect))"
                        : "\(shown) is \(state.map { $0 == "is not set" ? "not set" : $0 } ?? "absent"), not \(Self.khcExpected(expect))"
        return Outcome(ok: ok, text: text, reason: reason)
    }

    /// The words for a passing alternative, as kernel-hardening-checker composes them.
    static func okText(_ text: String, _ c: Check, _ l: Lookup) -> String {
        if case .version = c { return text }
        guard let p = c.primary else { return text }
        let name = displayName(p.kind, p.name), expected = khcExpected(p.expect)
        if text == "OK" { return "OK: \(name) is \"\(expected)\"" }
        if text.hasPrefix("OK: in ") { return "OK: \"\(expected.trimmingStars)\" is in \(name)" }
        if text == "OK: is not found" { return "OK: \(name) is not found" }
        if text == "OK: is present" { return "OK: \(name) is present" }
        if text.hasPrefix("OK: is not off") { return "OK: \(name) is not off" }
        return text
    }

    /// The words for a failing condition of an all-of.
    static func failText(_ text: String, _ c: Check, _ l: Lookup) -> String {
        if case .version = c { return text }
        guard let p = c.primary else { return text }
        let name = displayName(p.kind, p.name), expected = khcExpected(p.expect)
        if text.hasPrefix("FAIL: \"") || text == "FAIL: is not found" { return "FAIL: \(name) is not \"\(expected)\"" }
        if text.hasPrefix("FAIL: not in ") { return "FAIL: \"\(expected.trimmingStars)\" is not in \(name)" }
        if text == "FAIL: is not present" { return "FAIL: \(name) is not present" }
        if text == "FAIL: is off, not found" { return "FAIL: \(name) is off, not found" }
        if text.hasPrefix("FAIL: is off") { return "FAIL: \(name) is off" }
        return text
    }

    /// The check's primary value in kernel-hardening-checker's notation.
    func expectedText(_ c: Check) -> String {
        guard let p = c.primary else { return "" }
        return Self.khcExpected(p.expect)
    }

    static func khcExpected(_ e: Expectation) -> String {
        switch e {
        case .isYes: "y"
        case .isModule: "m"
        case .isNotSet, .absent: "is not set"
        case .present: "is present"
        case .notOff: "is not off"
        case .contains(let v): "*\(v)*"
        case .equals(let v), .exactly(let v): v
        default: e.description
        }
    }

    static func displayName(_ kind: RuleKind, _ name: String) -> String { kind == .kconfig ? "CONFIG_\(name)" : name }

    /// `(5, 4, 208)`: how kernel-hardening-checker prints a version it compares with.
    static func tuple(_ r: VersionRange) -> String {
        guard let b = r.bounds.first else { return r.description }
        return "(\(b.version.major), \(b.version.minor), \(b.version.patch))"
    }
}

extension String {
    var trimmingStars: String { String(drop { $0 == "*" }.reversed().drop { $0 == "*" }.reversed()) }
}
