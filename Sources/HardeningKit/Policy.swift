import KconfigKit
import KernelKitCore

/// What a rule checks: a kconfig symbol, a kernel command-line parameter, or a sysctl.
public enum RuleKind: String, Sendable, CaseIterable {
    case kconfig, cmdline, sysctl
}

public enum Severity: String, Sendable, CaseIterable, Comparable {
    case low, medium, high, critical

    var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// A kernel version, major.minor.
public struct KernelVersion: Sendable, Comparable, CustomStringConvertible {
    public var major: Int, minor: Int
    public init(_ major: Int, _ minor: Int) { self.major = major; self.minor = minor }

    /// "6.18", "6.18.5" or "6.18.5.1": the first two numbers.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".")
        guard parts.count >= 2, let a = Int(parts[0]), let b = Int(parts[1].prefix { $0.isNumber }) else { return nil }
        major = a
        minor = b
    }

    public static func < (a: KernelVersion, b: KernelVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
    public var description: String { "\(major).\(minor)" }
}

/// `">=6.7"`, `"<6.18"`, `">=6.1,<6.18"`, `"=6.12"`.
public struct VersionRange: Sendable, CustomStringConvertible {
    var bounds: [(op: String, version: KernelVersion)]
    public let description: String

    public init?(_ text: String) {
        bounds = []
        description = text
        for part in text.split(separator: ",") {
            let p = part.trimming(" ")
            let op = [">=", "<=", ">", "<", "=", "=="].first { p.hasPrefix($0) } ?? ""
            guard !op.isEmpty, let v = KernelVersion(p.dropFirst(op.count).trimming(" ")) else { return nil }
            bounds.append((op == "==" ? "=" : op, v))
        }
        if bounds.isEmpty { return nil }
    }

    public func contains(_ v: KernelVersion) -> Bool {
        bounds.allSatisfy { b in
            switch b.op {
            case ">=": v >= b.version
            case "<=": v <= b.version
            case ">": v > b.version
            case "<": v < b.version
            default: v == b.version
            }
        }
    }
}

/// What a value must be.
public indirect enum Expectation: Sendable, CustomStringConvertible {
    case isYes, isModule, isYesOrModule, isNotSet
    /// The value, with or without the quotes a kconfig string has in a .config.
    case equals(String)
    /// The raw text after `=` in the .config, quotes included, absent counting as n: the
    /// comparison Azure Linux's checker makes.
    case exactly(String)
    case oneOf([String])
    case atLeast(Int64)
    case atMost(Int64)
    /// An element of a comma- or space-separated list (an LSM in CONFIG_LSM).
    case contains(String)
    /// A command-line parameter given, with or without a value.
    case present
    case absent
    case anyOf([Expectation])
    case allOf([Expectation])

    public var description: String {
        switch self {
        case .isYes: "y"
        case .isModule: "m"
        case .isYesOrModule: "y or m"
        case .isNotSet: "is not set"
        case .equals(let v): v
        case .exactly(let v): v
        case .oneOf(let vs): "one of " + vs.joined(separator: ", ")
        case .atLeast(let n): ">= \(n)"
        case .atMost(let n): "<= \(n)"
        case .contains(let s): "contains \(s)"
        case .present: "present"
        case .absent: "absent"
        case .anyOf(let es): es.map(\.description).joined(separator: " or ")
        case .allOf(let es): es.map(\.description).joined(separator: " and ")
        }
    }

    /// Whether `value` meets the expectation; nil is an absent option (kconfig: n).
    public func matches(_ value: String?, kind: RuleKind) -> Bool {
        switch self {
        case .isYes: return value == "y"
        case .isModule: return value == "m"
        case .isYesOrModule: return value == "y" || value == "m"
        case .isNotSet: return value == nil || value == "n" || (kind != .kconfig && value == "0")
        case .equals(let v):
            let actual = value ?? (kind == .kconfig ? "n" : nil)
            return actual == v || actual.map(Self.unquoted) == v
        case .exactly(let v): return (value ?? "n") == v
        case .oneOf(let vs):
            let actual = value ?? (kind == .kconfig ? "n" : "")
            return vs.contains(actual) || vs.contains(Self.unquoted(actual))
        case .atLeast(let n): return value.flatMap(Self.integer).map { $0 >= n } ?? false
        case .atMost(let n): return value.flatMap(Self.integer).map { $0 <= n } ?? false
        case .contains(let s):
            guard let value else { return false }
            return Self.unquoted(value).split(whereSeparator: { $0 == "," || $0 == " " }).contains { $0 == s }
        case .present: return value != nil
        case .absent: return value == nil
        case .anyOf(let es): return es.contains { $0.matches(value, kind: kind) }
        case .allOf(let es): return es.allSatisfy { $0.matches(value, kind: kind) }
        }
    }

    static func unquoted(_ s: String) -> String { ConfigValue.unquote(s) }

    static func integer(_ s: String) -> Int64? {
        if s.hasPrefix("0x") { return Int64(s.dropFirst(2), radix: 16) }
        return Int64(s)
    }

    /// A value that meets the expectation, for fix-up fragments; nil where none follows
    /// from the expectation alone (`contains` needs the current list).
    func remediation(current: String?) -> String? {
        switch self {
        case .isYes, .isYesOrModule: return "y"
        case .isModule: return "m"
        case .isNotSet, .absent: return "n"
        case .equals(let v), .exactly(let v): return v
        case .oneOf(let vs): return vs.first
        case .atLeast(let n), .atMost(let n): return String(n)
        case .contains(let s):
            guard let current, !current.isEmpty else { return s }
            return current + "," + s
        case .present: return nil
        case .anyOf(let es): return es.lazy.compactMap { $0.remediation(current: current) }.first
        case .allOf(let es): return es.lazy.compactMap { $0.remediation(current: current) }.first
        }
    }
}

/// One check.
public struct Rule: Sendable {
    public var id: String
    public var kind: RuleKind
    /// The option: a kconfig symbol without `CONFIG_`, a parameter, a sysctl name.
    public var option: String
    /// Earlier names for older kernels, each with the versions it applies to (CFI_CLANG
    /// became CFI in 6.18).
    public var renamed: [(option: String, versions: VersionRange)] = []
    public var expectation: Expectation
    public var arches: [Arch]? = nil
    public var versions: VersionRange? = nil
    /// Azure Linux kernel packages the rule is for, or is not for.
    public var packages: [String]? = nil
    public var notPackages: [String] = []
    public var severity: Severity = .medium
    public var rationale: String = ""
    public var references: [String] = []
    public var remediation: String? = nil
    public var tags: [String] = []
    /// The baseline the rule comes from.
    public var baseline: String = ""
    /// Where the rule is written.
    public var location: SourceLocation? = nil

    public init(id: String, kind: RuleKind, option: String, expectation: Expectation) {
        self.id = id
        self.kind = kind
        self.option = option
        self.expectation = expectation
    }

    /// The option's name for a kernel version.
    public func option(for version: KernelVersion?) -> String {
        if let version, let r = renamed.first(where: { $0.versions.contains(version) }) { return r.option }
        return option
    }

    /// Whether the rule applies to this arch, version and package.
    public func applies(arch: Arch?, version: KernelVersion?, package: String?) -> Bool {
        if let arches, let arch, !arches.contains(arch) { return false }
        if let versions, let version, !versions.contains(version) { return false }
        if let packages { guard let package, packages.contains(package) else { return false } }
        if let package, notPackages.contains(package) { return false }
        return true
    }
}

/// A named set of rules: a shipped baseline or a policy file.
public struct Baseline: Sendable {
    public var name: String
    public var title: String
    public var source: String?
    public var rules: [Rule]
    public var file: String
}
