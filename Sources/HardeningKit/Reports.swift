import KernelKitCore

/// The reports of a check: text for people, JSON for scripts, SARIF 2.1.0 for code
/// scanning, JUnit XML for CI test views. Schemas are in docs/harden.md.
extension HardeningCheck {
    /// A short verdict line, as the top of every report.
    public func verdict(failOn: Severity) -> String {
        let c = counts
        let failing = failures(atOrAbove: failOn).count
        let head = failing == 0 ? "PASS" : "FAIL"
        var text = "\(head): \(c[.fail] ?? 0) failing, \(c[.pass] ?? 0) passing, \(c[.waived] ?? 0) waived, \(c[.skipped] ?? 0) skipped"
        if failing > 0 && failing != (c[.fail] ?? 0) { text += " (\(failing) at or above \(failOn.rawValue))" }
        if !conflicts.isEmpty { text += "; \(conflicts.count) conflict(s) between baselines" }
        return text
    }

    // MARK: text

    public func text(failOn: Severity, color: Bool, verbose: Bool = false) -> String {
        func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
        var out = ""
        let v = verdict(failOn: failOn)
        out += paint(v, v.hasPrefix("PASS") ? "1;32" : "1;31") + "\n"
        var context = [String]()
        if let a = state.arch { context.append("arch \(a.rawValue)") }
        if let ver = state.version { context.append("Linux \(ver)") }
        context.append("baselines: " + baselines.map(\.name).joined(separator: ", "))
        out += context.joined(separator: ", ") + "\n"
        for (status, title, code) in [(Finding.Status.fail, "Failing", "31"), (.waived, "Waived", "33"), (.skipped, "Skipped", "2"), (.pass, "Passing", "32")] {
            let group = findings.filter { $0.status == status }
            if group.isEmpty || (status == .pass && !verbose) || (status == .skipped && !verbose) { continue }
            out += "\n" + paint("\(title) (\(group.count))", "1;" + code) + "\n"
            for f in group.sorted(by: { ($0.rule.severity, $1.rule.id) > ($1.rule.severity, $0.rule.id) }) {
                let name = f.rule.kind == .kconfig ? "CONFIG_\(f.option)" : f.option
                out += "  [\(f.rule.severity.rawValue)] \(f.rule.id): \(name) is \(f.actual ?? "absent"), expected \(f.rule.expected)"
                if let loc = f.location, status == .fail { out += "  (\(loc))" }
                out += "\n"
                if let note = f.note { out += "      \(note)\n" }
                if !f.conflicts.isEmpty { out += "      conflicts with \(f.conflicts.joined(separator: ", "))\n" }
            }
        }
        if !conflicts.isEmpty {
            out += "\n" + paint("Conflicts between baselines (\(conflicts.count))", "1;35") + "\n"
            for c in conflicts {
                out += "  \(c.option): " + c.rules.map { "\($0.baseline) wants \($0.expectation) (\($0.id))" }.joined(separator: "; ") + "\n"
                for r in c.rules where !r.rationale.isEmpty { out += "      \(r.id): \(r.rationale)\n" }
            }
        }
        if !verbose { out += "\n(--verbose lists passing and skipped rules)\n" }
        return out
    }

    // MARK: JSON

    public func json(failOn: Severity) -> JSONValue {
        let c = counts
        return .object([
            ("schema", "kernelkit.harden-report/1"),
            ("verdict", .string(failures(atOrAbove: failOn).isEmpty ? "pass" : "fail")),
            ("fail_on", .string(failOn.rawValue)),
            ("arch", state.arch.map { .string($0.rawValue) } ?? .null),
            ("kernel_version", state.version.map { .string($0.description) } ?? .null),
            ("baselines", .array(baselines.map { .object([("name", .string($0.name)), ("title", .string($0.title)), ("rules", .int($0.rules.count))]) })),
            ("summary", .object([("pass", .int(c[.pass] ?? 0)), ("fail", .int(c[.fail] ?? 0)), ("waived", .int(c[.waived] ?? 0)),
                                 ("skipped", .int(c[.skipped] ?? 0)), ("not_applicable", .int(notApplicable))])),
            ("findings", .array(findings.map { f in
                .object([
                    ("id", .string(f.rule.id)), ("baseline", .string(f.rule.baseline)), ("kind", .string(f.rule.kind.rawValue)),
                    ("option", .string(f.rule.kind == .kconfig ? "CONFIG_\(f.option)" : f.option)),
                    ("status", .string(f.status.rawValue)), ("severity", .string(f.rule.severity.rawValue)),
                    ("expected", .string(f.rule.expected)), ("actual", f.actual.map { .string($0) } ?? .null),
                    ("location", f.location.map { .object([("file", .string($0.file)), ("line", .int($0.line))]) } ?? .null),
                    ("note", f.note.map { .string($0) } ?? .null),
                    ("conflicts_with", .array(f.conflicts.map { .string($0) })),
                ])
            })),
            ("conflicts", .array(conflicts.map { c in
                .object([("option", .string(c.option)),
                         ("rules", .array(c.rules.map { .object([("id", .string($0.id)), ("baseline", .string($0.baseline)),
                                                                  ("expected", .string($0.expectation.description))]) }))])
            })),
        ])
    }

    // MARK: kernel-hardening-checker's JSON

    /// The shape of kernel-hardening-checker's `-m json`: one object per check that ran
    /// (rules that do not apply or lack their input are left out, as it leaves them out),
    /// with its field names. A rule from a baseline without categories reports its
    /// baseline as `reason` and `decision`. A waived rule stays `check_result_bool: false`,
    /// since that tool has no waivers; its `check_result` says so.
    public func khcJSON() -> JSONValue {
        .array(findings.filter { $0.status != .skipped }.map { f in
            let name = f.rule.kind == .kconfig ? "CONFIG_\(f.option)" : f.option
            var result = f.detail ?? (f.status == .pass ? "OK" : "FAIL")
            if f.status == .waived, let note = f.note { result += " (\(note))" }
            return .object([
                ("option_name", .string(name)), ("type", .string(f.rule.kind.rawValue)),
                ("reason", .string(f.rule.category ?? f.rule.baseline)), ("decision", .string(f.rule.source ?? f.rule.baseline)),
                ("desired_val", .string(f.expected ?? f.rule.expectation.description)),
                ("check_result", .string(result)), ("check_result_bool", .bool(f.status == .pass)),
            ])
        })
    }

    // MARK: SARIF 2.1.0

    public func sarif(failOn: Severity, toolVersion: String) -> JSONValue {
        var ruleIndex = [String: Int]()
        var rules = [JSONValue]()
        for f in findings where ruleIndex[f.rule.id] == nil {
            ruleIndex[f.rule.id] = rules.count
            var props: [(String, JSONValue)] = [("tags", .array(f.rule.tags.map { .string($0) })), ("baseline", .string(f.rule.baseline))]
            if f.rule.kind == .kconfig { props.append(("option", .string("CONFIG_\(f.option)"))) }
            var r: [(String, JSONValue)] = [
                ("id", .string(f.rule.id)),
                ("shortDescription", .object([("text", .string("\(f.rule.kind == .kconfig ? "CONFIG_" : "")\(f.rule.option) should be \(f.rule.expected)"))])),
                ("fullDescription", .object([("text", .string(f.rule.rationale.isEmpty ? "See the baseline \(f.rule.baseline)." : f.rule.rationale))])),
                ("defaultConfiguration", .object([("level", .string(Self.level(f.rule.severity, failOn)))])),
                ("properties", .object(props)),
            ]
            if let ref = f.rule.references.first { r.append(("helpUri", .string(ref))) }
            rules.append(.object(r))
        }
        let results: [JSONValue] = findings.filter { $0.status == .fail || $0.status == .waived }.map { f in
            let name = f.rule.kind == .kconfig ? "CONFIG_\(f.option)" : f.option
            var r: [(String, JSONValue)] = [
                ("ruleId", .string(f.rule.id)),
                ("ruleIndex", .int(ruleIndex[f.rule.id]!)),
                ("level", .string(Self.level(f.rule.severity, failOn))),
                ("message", .object([("text", .string("\(name) is \(f.actual ?? "absent"), expected \(f.rule.expected)"))])),
            ]
            if let loc = f.location {
                var region: [(String, JSONValue)] = []
                if loc.line > 0 { region.append(("startLine", .int(loc.line))) }
                var physical: [(String, JSONValue)] = [("artifactLocation", .object([("uri", .string(Self.uri(loc.file)))]))]
                if !region.isEmpty { physical.append(("region", .object(region))) }
                r.append(("locations", .array([.object([("physicalLocation", .object(physical))])])))
            }
            // Code scanning tracks an alert across commits by its fingerprint; GitHub's own
            // primaryLocationLineHash hashes the flagged line's neighbourhood, which moves
            // whenever options are added around it. Ours names what the finding is about
            // (rule, option, file), so the alert stays one alert until it is fixed.
            let what = "\(f.rule.id)\u{0}\(name)\u{0}\(f.location.map { Self.uri($0.file) } ?? "")"
            let hash = Array(what.utf8).withUnsafeBufferPointer { FNV1a.hash64($0) }
            r.append(("partialFingerprints", .object([("kernelkitFinding/v1", .string(String(hash, radix: 16)))])))
            if f.status == .waived {
                r.append(("suppressions", .array([.object([("kind", "external"),
                                                           ("justification", .string(f.note ?? ""))])])))
            }
            return .object(r)
        }
        return .object([
            ("$schema", "https://json.schemastore.org/sarif-2.1.0.json"),
            ("version", "2.1.0"),
            ("runs", .array([.object([
                ("tool", .object([("driver", .object([
                    ("name", "kernelkit"), ("version", .string(toolVersion)),
                    ("informationUri", "https://github.com/kernelkit/kernelkit/blob/main/docs/harden.md"),
                    ("rules", .array(rules)),
                ]))])),
                ("results", .array(results)),
            ])])),
        ])
    }

    static func level(_ s: Severity, _ failOn: Severity) -> String {
        s >= failOn ? "error" : (s >= .medium ? "warning" : "note")
    }

    /// A relative path as is, an absolute one as a file: URI (percent-encoding spaces).
    static func uri(_ path: String) -> String {
        let encoded = path.replacingOccurrences(" ", "\u{0}").split(separator: "\u{0}", omittingEmptySubsequences: false).joined(separator: "%20")
        return path.hasPrefix("/") ? "file://" + encoded : encoded
    }

    // MARK: JUnit

    public func junit() -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        let c = counts
        out += "<testsuites name=\"kernelkit harden\" tests=\"\(findings.count)\" failures=\"\(c[.fail] ?? 0)\" skipped=\"\((c[.skipped] ?? 0) + (c[.waived] ?? 0))\">\n"
        for b in baselines {
            let group = findings.filter { $0.rule.baseline == b.name }
            if group.isEmpty { continue }
            let fails = group.filter { $0.status == .fail }.count
            let skips = group.filter { $0.status == .skipped || $0.status == .waived }.count
            out += "  <testsuite name=\"\(xml(b.name))\" tests=\"\(group.count)\" failures=\"\(fails)\" errors=\"0\" skipped=\"\(skips)\">\n"
            for f in group {
                let name = f.rule.kind == .kconfig ? "CONFIG_\(f.option)" : f.option
                out += "    <testcase classname=\"\(xml(b.name)).\(f.rule.kind.rawValue)\" name=\"\(xml(f.rule.id)): \(xml(name))\" time=\"0\""
                switch f.status {
                case .pass: out += "/>\n"
                case .fail:
                    let message = "\(name) is \(f.actual ?? "absent"), expected \(f.rule.expected)"
                    out += ">\n      <failure message=\"\(xml(message))\" type=\"\(f.rule.severity.rawValue)\">\(xml(message + (f.location.map { " at \($0)" } ?? "") + (f.rule.rationale.isEmpty ? "" : "\n" + f.rule.rationale)))</failure>\n    </testcase>\n"
                case .waived, .skipped:
                    out += ">\n      <skipped message=\"\(xml(f.note ?? f.status.rawValue))\"/>\n    </testcase>\n"
                }
            }
            out += "  </testsuite>\n"
        }
        return out + "</testsuites>\n"
    }

    func xml(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // XML 1.0 allows tab, newline, carriage return and printable characters.
                if c.value < 0x20 && c != "\t" && c != "\n" && c != "\r" { continue }
                out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

extension HardeningCheck {
    /// One SARIF 2.1.0 log holding every run of `logs` (one per config checked), in order.
    public static func sarifLog(merging logs: [JSONValue]) -> JSONValue {
        var runs = [JSONValue]()
        for log in logs {
            if case .object(let m) = log, case .array(let rs)? = m.first(where: { $0.0 == "runs" })?.1 { runs += rs }
        }
        return .object([("$schema", "https://json.schemastore.org/sarif-2.1.0.json"), ("version", "2.1.0"), ("runs", .array(runs))])
    }
}

extension Baseline {
    /// `harden list`'s line for a shipped baseline: its rule counts by kind and its title.
    public func summaryLine(name: String) -> String {
        let kinds = Dictionary(grouping: rules, by: \.kind).mapValues(\.count)
        return "\(name.leftAligned(17) + " ")\(rules.count) rules (kconfig \(kinds[.kconfig] ?? 0), cmdline \(kinds[.cmdline] ?? 0), sysctl \(kinds[.sysctl] ?? 0))  \(title)\n"
    }

    /// `harden list --baseline`: the title, then a line per rule with its scope.
    public var ruleList: String {
        var out = "\(title) (\(rules.count) rules)\n"
        for r in rules {
            var scope = [String]()
            if let a = r.arches { scope.append(a.map(\.rawValue).joined(separator: ",")) }
            if let v = r.versions { scope.append(v.description) }
            if let p = r.packages { scope.append("packages " + p.joined(separator: ",")) }
            out += "\(r.id)  [\(r.severity.rawValue)] \(r.kind.rawValue) \(r.displayName) = \(r.expected)" + (scope.isEmpty ? "" : "  (\(scope.joined(separator: "; ")))") + "\n"
        }
        return out
    }
}

extension Rule {
    /// The option as users write it: `CONFIG_X` for kconfig rules.
    public var displayName: String { kind == .kconfig ? "CONFIG_\(option)" : option }

    /// `harden explain`: what the rule checks, where it applies, why, its sources, and the
    /// other rules in `rules` on the same option.
    public func explanation(among rules: [Rule]) -> String {
        var out = "\(id)  (\(baseline), \(severity.rawValue))\n"
        out += "  \(kind.rawValue) \(displayName) should be: \(expected)\n"
        for old in renamed { out += "  called \(kind == .kconfig ? "CONFIG_" : "")\(old.option) in \(old.versions)\n" }
        if let a = arches { out += "  arch: \(a.map(\.rawValue).joined(separator: ", "))\n" }
        if let v = versions { out += "  kernel versions: \(v)\n" }
        if let p = packages { out += "  packages: \(p.joined(separator: ", "))\n" }
        if !notPackages.isEmpty { out += "  not for packages: \(notPackages.joined(separator: ", "))\n" }
        if !rationale.isEmpty { out += "  why: \(rationale)\n" }
        for ref in references { out += "  see: \(ref)\n" }
        if !tags.isEmpty { out += "  tags: \(tags.joined(separator: ", "))\n" }
        if let loc = location { out += "  defined at \(loc)\n" }
        let others = rules.filter { $0.id != id && $0.kind == kind && $0.option == option }
        if !others.isEmpty { out += "  other rules on \(displayName): " + others.map { "\($0.id) (\($0.expectation))" }.joined(separator: ", ") + "\n" }
        return out
    }
}
