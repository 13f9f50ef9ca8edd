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

/// A kernel version: major.minor, and the patch level where it is known (a config's
/// header says `6.18.21`; kernel-hardening-checker's gates name patch levels such as
/// 5.4.208).
public struct KernelVersion: Sendable, Comparable, CustomStringConvertible {
    public var major: Int, minor: Int, patch: Int
    public init(_ major: Int, _ minor: Int, _ patch: Int = 0) { self.major = major; self.minor = minor; self.patch = patch }

    /// "6.18", "6.18.5", "6.18.5.1" or "6.12.57+deb12-amd64": the first three numbers.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", maxSplits: 3)
        guard parts.count >= 2, let a = Int(parts[0]), let b = Int(parts[1].prefix { $0.isNumber }) else { return nil }
        major = a
        minor = b
        patch = parts.count > 2 && parts[1].allSatisfy(\.isNumber) ? Int(parts[2].prefix { $0.isNumber }) ?? 0 : 0
    }

    public static func < (a: KernelVersion, b: KernelVersion) -> Bool { (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch) }
    public static func == (a: KernelVersion, b: KernelVersion) -> Bool { (a.major, a.minor, a.patch) == (b.major, b.minor, b.patch) }
    /// major.minor: the release, as the baselines' ranges name it.
    public var description: String { "\(major).\(minor)" }
    public var release: KernelVersion { KernelVersion(major, minor) }
}

/// `">=6.7"`, `"<6.18"`, `">=6.1,<6.18"`, `"=6.12"`, `">=5.4.208"`. A bound written with
/// two numbers compares releases (6.12.57 is `<=6.12`); one with three compares patch
/// levels too.
public struct VersionRange: Sendable, CustomStringConvertible {
    var bounds: [(op: String, version: KernelVersion, patchLevel: Bool)]
    public let description: String

    public init?(_ text: String) {
        bounds = []
        description = text
        for part in text.split(separator: ",") {
            let p = part.trimming(" ")
            let op = [">=", "<=", ">", "<", "=", "=="].first { p.hasPrefix($0) } ?? ""
            let number = p.dropFirst(op.count).trimming(" ")
            guard !op.isEmpty, let v = KernelVersion(number) else { return nil }
            bounds.append((op == "==" ? "=" : op, v, number.split(separator: ".").count > 2))
        }
        if bounds.isEmpty { return nil }
    }

    public func contains(_ version: KernelVersion) -> Bool {
        bounds.allSatisfy { b in
            let v = b.patchLevel ? version : version.release
            switch b.op {
            case ">=": return v >= b.version
            case "<=": return v <= b.version
            case ">": return v > b.version
            case "<": return v < b.version
            default: return v == b.version
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
    /// A command-line parameter given and not turning its feature off: not `off`, `0`,
    /// nor a list holding `off` (`mitigations=off`, `spectre_v2=off`).
    case notOff
    /// The value another kconfig option has in the same config (ARCH_MMAP_RND_BITS at its
    /// ARCH_MMAP_RND_BITS_MAX); resolved before matching, the rule not applying when that
    /// option is absent.
    case equalsOption(String)
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
        case .notOff: "not off"
        case .equalsOption(let o): "the value of CONFIG_\(o)"
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
        case .notOff:
            guard let value else { return false }
            let v = Self.unquoted(value)
            return !(v == "off" || v == "0" || (kind == .kconfig && v == "n") || v.split(separator: ",").contains("off"))
        case .equalsOption: return false // resolved by the checker first
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
        case .present, .notOff, .equalsOption: return nil
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
    /// Checks combined (any-of, all-of, version gates) when the rule is more than one
    /// option's value; its first option check is `kind`/`option`/`expectation`.
    public var check: Check? = nil
    /// A check the rule applies under: when it fails the rule does not apply (EFI's
    /// options on a kernel without EFI).
    public var onlyIf: Check? = nil
    /// kernel-hardening-checker's category (self_protection, security_policy,
    /// cut_attack_surface, harden_userspace, network_security) and the source it cites
    /// (kspp, defconfig, grsec, clipos, cis, …), where a rule has them.
    public var category: String? = nil
    public var source: String? = nil
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

    /// What the rule wants, in words: the expectation, or the whole combination.
    public var expected: String {
        guard let check else { return expectation.description }
        return check.describe(primary: (kind, option))
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

/// A rule's check: one option's value, a kernel-version gate, or checks combined.
public indirect enum Check: Sendable {
    case option(kind: RuleKind, name: String, expect: Expectation)
    /// Passes on kernels in the range.
    case version(VersionRange)
    /// Passes when one passes, tried in order (the first that passes decides).
    case anyOf([Check])
    /// Passes when all pass; the first is what the rule is about, the others conditions.
    case allOf([Check])

    /// The first option check, which names the option a combination is about.
    public var primary: (kind: RuleKind, name: String, expect: Expectation)? {
        switch self {
        case .option(let k, let n, let e): (k, n, e)
        case .version: nil
        case .anyOf(let cs), .allOf(let cs): cs.lazy.compactMap(\.primary).first
        }
    }

    /// Every option check in it.
    public var options: [(kind: RuleKind, name: String, expect: Expectation)] {
        switch self {
        case .option(let k, let n, let e): [(k, n, e)]
        case .version: []
        case .anyOf(let cs), .allOf(let cs): cs.flatMap(\.options)
        }
    }

    func describe(primary: (RuleKind, String)?) -> String {
        switch self {
        case .option(let k, let n, let e):
            if let primary, primary.0 == k, primary.1 == n { return e.description }
            return "\(k == .kconfig ? "CONFIG_" : "")\(n) \(e.isPhrase ? "" : "= ")\(e)"
        case .version(let r): return "Linux \(r)"
        case .anyOf(let cs): return cs.map { $0.describe(primary: primary) }.joined(separator: ", or ")
        case .allOf(let cs): return "(" + cs.map { $0.describe(primary: primary) }.joined(separator: " and ") + ")"
        }
    }
}

extension Expectation {
    /// Reads as a phrase after the option's name ("is not set", "present").
    var isPhrase: Bool {
        switch self {
        case .isNotSet, .present, .absent, .notOff, .contains: true
        default: false
        }
    }
}
