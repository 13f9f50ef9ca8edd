import KernelKitCore

/// Azure Linux's required-config policy JSON (toolkit/scripts/kernel_config_checker):
/// `{default: {name, kernel_configs: [{name, values: [{architecture, value}],
/// justification}]}, overrides: [{name: PACKAGE, kernel_configs: [...]}]}`.
///
/// Its checker compares the raw text after `=` in the .config with the expected value,
/// a missing symbol counting as `n`; a package's override replaces the default entry of
/// the same name. The rules made here do exactly that (`equals` on the raw value), one
/// per entry and arch, with the package filters that express the overrides.
public enum AzureLinuxPolicy {
    public static let packages = ["kernel", "kernel-hwe", "kernel-64k"]

    public static func load(file: String) throws(KernelKitError) -> Baseline {
        try load(bytes: try InputFile.readText(file), file: file)
    }

    public static func load(bytes: [UInt8], file: String) throws(KernelKitError) -> Baseline {
        let lines = stringLines(bytes)
        func fail(_ message: String, _ needle: String? = nil) -> KernelKitError {
            KernelKitError(.badPolicy, message, at: SourceLocation(file: file, line: needle.map { lines[$0] ?? 0 } ?? 0))
        }
        // Parsed with KernelKitCore's JSON reader: a syntax error gets its line and column.
        let doc: JSONValue
        do { doc = try JSONValue.parse(bytes, file: file) } catch { throw KernelKitError(.badPolicy, error.message, at: error.location) }
        guard case .object(let root) = doc else { throw fail("not a JSON object") }
        for (key, _) in root where key != "default" && key != "overrides" {
            throw fail("unknown key '\(key)' (the schema has default and overrides)", "\"\(key)\"")
        }
        guard let defaults = doc.member("default")?.member("kernel_configs")?.arrayValue else {
            throw fail("missing default.kernel_configs")
        }
        var overrides = [(package: String, configs: [JSONValue])]()
        for o in doc.member("overrides")?.arrayValue ?? [] {
            guard let name = o.member("name")?.stringValue, let configs = o.member("kernel_configs")?.arrayValue else {
                throw fail("each override needs a name and kernel_configs", "\"overrides\"")
            }
            overrides.append((name, configs))
        }
        func entries(_ configs: [JSONValue]) throws(KernelKitError) -> [(name: String, arch: Arch, value: String, why: String)] {
            var out = [(name: String, arch: Arch, value: String, why: String)]()
            for c in configs {
                guard let name = c.member("name")?.stringValue, let values = c.member("values")?.arrayValue,
                      let why = c.member("justification")?.stringValue else {
                    throw fail("each kernel_configs entry needs name, values and justification", c.member("name")?.stringValue.map { "\"\($0)\"" })
                }
                for v in values {
                    guard let a = v.member("architecture")?.stringValue, let arch = Arch(rawValue: a), arch == .x86_64 || arch == .arm64,
                          let value = v.member("value")?.stringValue else {
                        throw fail("\(name): each value needs architecture (x86_64 or arm64) and a string value", "\"\(name)\"")
                    }
                    out.append((name, arch, value, why))
                }
            }
            return out
        }
        let overridden = try overrides.map { (o) throws(KernelKitError) in (o.package, try entries(o.configs)) }
        var rules = [Rule]()
        func rule(_ e: (name: String, arch: Arch, value: String, why: String), id: String) -> Rule {
            let option = e.name.hasPrefix("CONFIG_") ? String(e.name.dropFirst(7)) : e.name
            var r = Rule(id: id, kind: .kconfig, option: option, expectation: .exactly(e.value))
            r.arches = [e.arch]
            r.severity = .high
            r.rationale = e.why
            r.references = e.why.split(separator: " ").filter { $0.hasPrefix("http") }.map(String.init)
            r.remediation = e.value
            r.tags = ["azure-linux"]
            r.baseline = "azure-linux-json"
            r.location = SourceLocation(file: file, line: lines["\"\(e.name)\""] ?? 0)
            return r
        }
        for e in try entries(defaults) {
            var r = rule(e, id: "azl.\(e.name).\(e.arch.rawValue)")
            r.notPackages = overridden.filter { $0.1.contains { $0.name == e.name && $0.arch == e.arch } }.map(\.0)
            rules.append(r)
        }
        for (package, list) in overridden {
            for e in list {
                var r = rule(e, id: "azl.\(e.name).\(e.arch.rawValue).\(package)")
                r.packages = [package]
                rules.append(r)
            }
        }
        return Baseline(name: "azure-linux-json", title: "Azure Linux required kernel configs (JSON policy)",
                        source: "microsoft/azurelinux toolkit/scripts/kernel_config_checker", rules: rules, file: file)
    }

    /// The 1-based line where each JSON string (quotes included) first appears, from one
    /// pass over the file: rules point at the line of their entry's name.
    static func stringLines(_ bytes: [UInt8]) -> [String: Int] {
        var out = [String: Int]()
        var line = 1
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x0A { line += 1 }
            if c == 0x22 {
                var j = i + 1
                while j < bytes.count, bytes[j] != 0x22 {
                    if bytes[j] == 0x5C { j += 1 }
                    j += 1
                }
                if j < bytes.count {
                    let token = String(decoding: bytes[i...j], as: UTF8.self)
                    if out[token] == nil { out[token] = line }
                }
                i = j + 1
                continue
            }
            i += 1
        }
        return out
    }

    /// The policy as a TOML baseline: the same rules, readable and diffable, that
    /// `--baseline FILE.toml` checks with the same verdicts.
    public static func toml(_ baseline: Baseline) -> String {
        var out = """
        # Converted by `kernelkit harden convert` from Azure Linux's required-config JSON.
        # Overrides became rules limited to their package (`packages`); the default rule
        # they replace excludes that package (`not-packages`). A missing symbol counts as n.

        [baseline]
        name = "azure-linux"
        title = "Azure Linux required kernel configs"
        source = "microsoft/azurelinux toolkit/scripts/kernel_config_checker"

        """
        for r in baseline.rules {
            out += "\n[[rule]]\n"
            out += "id = \(quote(r.id))\n"
            out += "option = \(quote(r.option))\n"
            if case .exactly(let v) = r.expectation { out += "expect = { exactly = \(quote(v)) }\n" }
            if let a = r.arches { out += "arch = [" + a.map { quote($0.rawValue) }.joined(separator: ", ") + "]\n" }
            if let p = r.packages { out += "packages = [" + p.map(quote).joined(separator: ", ") + "]\n" }
            if !r.notPackages.isEmpty { out += "not-packages = [" + r.notPackages.map(quote).joined(separator: ", ") + "]\n" }
            out += "severity = \(quote(r.severity.rawValue))\n"
            out += "rationale = \(quote(r.rationale))\n"
            if !r.references.isEmpty { out += "references = [" + r.references.map(quote).joined(separator: ", ") + "]\n" }
            out += "tags = [\"azure-linux\"]\n"
        }
        return out
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }
}
