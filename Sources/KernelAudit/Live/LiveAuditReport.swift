import HardeningKit
import KernelKitCore
import KernelProbes
import ModuleSigning

extension LiveAudit {
    var verdictLine: String {
        let (rules, live) = failing
        var parts = [String]()
        if !rules.isEmpty { parts.append("\(rules.count) hardening rule(s) failing") }
        for f in live { parts.append(f.message) }
        let probesOK = probes.filter(\.canRun).count
        var line = "Linux \(kernelVersion ?? sources.release) (\(arch?.rawValue ?? "?")), running"
        line += parts.isEmpty ? " — nothing fails at or above \(failOn.rawValue)" : " — " + parts.joined(separator: "; ")
        if sources.probes { line += "; probes: \(probesOK) of \(probes.count) can run" }
        return line
    }

    public func text(color: Bool, verbose: Bool = false) -> String {
        func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
        func line(_ f: Finding) -> String {
            let mark = switch f.status {
            case .ok: paint("ok  ", "32")
            case .info: "info"
            case .warn: paint("warn", "33")
            case .fail: paint("FAIL", "31")
            case .waived: paint("waiv", "36")
            }
            var out = "  \(mark) \(f.message)"
            if let s = f.source { out += "  [\(s)]" }
            out += "\n"
            if let note = f.note { out += "       \(note)\n" }
            return out
        }
        var out = paint(passed ? "AUDIT PASS" : "AUDIT FAIL", passed ? "1;32" : "1;31") + ": " + verdictLine + "\n"
        for section in Section.allCases {
            let group = findings.filter { $0.section == section }
            if group.isEmpty && section != .config { continue }
            out += "\n" + paint(section.title, "1") + "\n"
            for f in group { out += line(f) }
            if section == .config, let check {
                let c = check.counts
                let names = check.baselines.map(\.name).joined(separator: ", ")
                let failures = check.failures(atOrAbove: failOn)
                let mark = failures.isEmpty ? paint("ok  ", "32") : paint("FAIL", "31")
                out += "  \(mark) \(names): \(c[.pass] ?? 0) pass, \(c[.fail] ?? 0) fail, \(c[.waived] ?? 0) waived, \(c[.skipped] ?? 0) skipped"
                out += " (config, /proc/cmdline, /proc/sys)\n"
                for f in failures.prefix(verbose ? .max : 12) {
                    let name = f.rule.kind == .kconfig ? "CONFIG_\(f.option)" : f.option
                    out += "       \(f.rule.id) [\(f.rule.severity.rawValue)]: \(name) is \(f.actual ?? "absent"), expected \(f.rule.expected)"
                    if let loc = f.location { out += "  \(loc)" }
                    out += "\n"
                }
                if !verbose && failures.count > 12 { out += "       … \(failures.count - 12) more (--verbose lists all)\n" }
            }
            if section == .signing {
                let shown = moduleFiles.filter { verbose || $0.verdict != .signedTrusted }
                for m in shown.prefix(verbose ? .max : 20) {
                    out += "       \(m.verdict.rawValue)\t\(m.path)" + (m.detail.map { "\t(\($0))" } ?? "") + "\n"
                }
                if !verbose && shown.count > 20 { out += "       … \(shown.count - 20) more (--verbose lists all)\n" }
                for l in loaded where verbose || !(l.taint ?? "").isEmpty {
                    out += "       loaded \(l.module.name) \(l.module.state)" + ((l.taint ?? "").isEmpty ? "" : " taint \(l.taint!)") + "\n"
                }
            }
        }
        return out
    }

    public func json() -> JSONValue {
        var counts = [(String, JSONValue)]()
        for v in ModuleVerdict.allCases { counts.append((v.rawValue, .int(moduleFiles.filter { $0.verdict == v }.count))) }
        let hardening: JSONValue = check.map { $0.json(failOn: failOn) } ?? .null
        let kernel: JSONValue = .object([("release", .string(kernelVersion ?? sources.release)), ("arch", arch.map { .string($0.rawValue) } ?? .null)])
        let sections: [JSONValue] = Section.allCases.map { s in
            let group: [JSONValue] = findings.filter { $0.section == s }.map(\.json)
            return .object([("id", .string(s.rawValue)), ("title", .string(s.title)), ("findings", .array(group))])
        }
        let modules: JSONValue = .object([
            ("directory", .string(sources.modulesDirectory)),
            ("trusted_certificates", .array(trusted.map { .object([("source", .string($0.source)), ("count", .int($0.count))]) })),
            ("summary", .object(counts)),
            ("files", .array(moduleFiles.map(\.json))),
            ("loaded", .array(loaded.map(\.json))),
            ("kernel_taint", taintJSON),
        ])
        let probeList: [JSONValue] = probes.map(Self.probeJSON)
        return .object([
            ("schema", "kernelkit.audit-live/1"),
            ("verdict", .string(passed ? "pass" : "fail")),
            ("fail_on", .string(failOn.rawValue)),
            ("kernel", kernel),
            ("sections", .array(sections)),
            ("hardening", hardening),
            ("modules", modules),
            ("probes", .array(probeList)),
        ])
    }

    var taintJSON: JSONValue {
        guard let t = taint else { return .null }
        let flags: [JSONValue] = t.flags.map { .object([("bit", .int($0.bit)), ("letter", .string(String($0.letter))), ("meaning", .string($0.meaning))]) }
        return .object([("value", .int(Int(t.value))), ("source", .string(path("/proc/sys/kernel/tainted"))), ("flags", .array(flags))])
    }

    static func probeJSON(_ p: ProbeAvailability) -> JSONValue {
        .object([("probe", .string(p.probe)), ("can_run", .bool(p.canRun)), ("attach", p.attach.map { .string($0) } ?? .null),
                 ("limitation", p.limitation.map { .string($0) } ?? .null), ("reasons", .array(p.reasons.map { .string($0) }))])
    }

    /// SARIF 2.1.0: the hardening rules' results, then a result per failing or waived
    /// live finding (rule id `live.ID`), in one run.
    public func sarif(toolVersion: String) -> JSONValue {
        guard let check, case .object(var log) = check.sarif(failOn: failOn, toolVersion: toolVersion),
              let runsIndex = log.firstIndex(where: { $0.0 == "runs" }), case .array(var runs) = log[runsIndex].1,
              case .object(var run) = runs[0] else { return .null }
        let live = findings.filter { $0.status == .fail || $0.status == .waived }
        guard let ri = run.firstIndex(where: { $0.0 == "results" }), case .array(var results) = run[ri].1,
              let ti = run.firstIndex(where: { $0.0 == "tool" }), case .object(var tool) = run[ti].1,
              case .object(var driver) = tool[0].1, let di = driver.firstIndex(where: { $0.0 == "rules" }),
              case .array(var rules) = driver[di].1 else { return .null }
        for f in live {
            let level = f.severity >= failOn ? "error" : (f.severity >= .medium ? "warning" : "note")
            if !rules.contains(where: { if case .object(let m) = $0, case .string("live." + f.id)? = m.first?.1 { true } else { false } }) {
                rules.append(.object([("id", .string("live." + f.id)), ("shortDescription", .object([("text", .string(f.section.title))])),
                                      ("defaultConfiguration", .object([("level", .string(level))]))]))
            }
            var r: [(String, JSONValue)] = [("ruleId", .string("live." + f.id)), ("level", .string(level)),
                                            ("message", .object([("text", .string(f.message))]))]
            if let s = f.source {
                var physical: [(String, JSONValue)] = [("artifactLocation", .object([("uri", .string(s.file.hasPrefix("/") ? "file://" + s.file : s.file))]))]
                if s.line > 0 { physical.append(("region", .object([("startLine", .int(s.line))]))) }
                r.append(("locations", .array([.object([("physicalLocation", .object(physical))])])))
            }
            if f.status == .waived { r.append(("suppressions", .array([.object([("kind", "external"), ("justification", .string(f.note ?? ""))])]))) }
            results.append(.object(r))
        }
        driver[di].1 = .array(rules)
        tool[0].1 = .object(driver)
        run[ti].1 = .object(tool)
        run[ri].1 = .array(results)
        runs[0] = .object(run)
        log[runsIndex].1 = .array(runs)
        return .object(log)
    }
}

extension LiveAudit.Finding {
    var json: JSONValue {
        let source: JSONValue = self.source.map { .object([("path", .string($0.file)), ("line", $0.line > 0 ? .int($0.line) : .null)]) } ?? .null
        return .object([("id", .string(id)), ("status", .string(status.rawValue)), ("severity", .string(severity.rawValue)),
                        ("message", .string(message)), ("source", source), ("note", note.map { .string($0) } ?? .null)])
    }
}

extension LiveAudit.ModuleFileResult {
    var json: JSONValue {
        .object([("path", .string(path)), ("verdict", .string(verdict.rawValue)), ("signer", signer.map { .string($0) } ?? .null),
                 ("key_id", keyID.map { .string(hexColon($0)) } ?? .null), ("detail", detail.map { .string($0) } ?? .null)])
    }
}

extension LiveAudit.Loaded {
    var json: JSONValue {
        let m = module
        return .object([("name", .string(m.name)), ("state", .string(m.state)), ("use_count", m.useCount.map { .int($0) } ?? .null),
                        ("holders", .array(m.holders.map { .string($0) })), ("size", m.size.map { .int($0) } ?? .null),
                        ("taint", taint.map { .string($0) } ?? .null), ("path", m.path.map { .string($0) } ?? .null)])
    }
}
