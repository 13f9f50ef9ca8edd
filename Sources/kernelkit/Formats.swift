import ArgumentParser

// The --format choices, as enums: ArgumentParser rejects any other value with the list
// of valid ones, and a `switch` over them cannot forget a case.

/// `--format text|json`: probes, probe compare, modsign verify.
enum TextOrJSON: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// `--format text|json|sarif`: audit.
enum AuditFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, sarif
}

/// `--format modinfo|json`: modsign info.
enum ModinfoFormat: String, ExpressibleByArgument, CaseIterable {
    case modinfo, json
}

enum DiffFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, diffconfig
}

enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, sarif, junit
    /// kernel-hardening-checker's `-m json` shape, for pipelines that parse it.
    case khcJSON = "khc-json"
}
