/// Kconfig's three-valued logic: n < m < y (`scripts/kconfig/expr.h`, `enum tristate`).
public enum Tristate: Int, Comparable, Sendable, CaseIterable, CustomStringConvertible {
    case no = 0, module = 1, yes = 2

    public init?(_ text: some StringProtocol) {
        switch text {
        case "n": self = .no
        case "m": self = .module
        case "y": self = .yes
        default: return nil
        }
    }

    /// The tristate for the byte `y`, `m` or `n`.
    init?(byte: UInt8) {
        switch byte {
        case UInt8(ascii: "n"): self = .no
        case UInt8(ascii: "m"): self = .module
        case UInt8(ascii: "y"): self = .yes
        default: return nil
        }
    }

    public static func < (a: Tristate, b: Tristate) -> Bool { a.rawValue < b.rawValue }

    /// The letter the kernel writes: `y`, `m` or `n`.
    public var description: String {
        switch self {
        case .no: "n"
        case .module: "m"
        case .yes: "y"
        }
    }
}

/// The value of one option in a .config or fragment, as written there.
public enum ConfigValue: Hashable, Sendable, CustomStringConvertible {
    /// `# CONFIG_X is not set`.
    case notSet
    /// `CONFIG_X=y`, `=m` or `=n`.
    case tristate(Tristate)
    /// `CONFIG_X="..."`, with the escapes `\"` and `\\` decoded.
    case string(String)
    /// Any other unquoted value: decimal (`-12`) or hex (`0x1f`, or `1f` for hex symbols).
    case number(String)

    /// The tristate this value means, treating "is not set" as `n`; nil for strings and numbers.
    public var tristate: Tristate? {
        switch self {
        case .notSet: .no
        case .tristate(let t): t
        default: nil
        }
    }

    /// True for `is not set` and `=n`, which the kernel treats alike.
    public var isUnset: Bool { tristate == .no }

    /// The value as it appears after `=` in a .config (`n` for "is not set"),
    /// which is also how `scripts/diffconfig` prints it.
    public var configText: String {
        switch self {
        case .notSet: "n"
        case .tristate(let t): t.description
        case .string(let s): Self.quote(s)
        case .number(let n): n
        }
    }

    public var description: String { configText }

    /// A string value's text without its surrounding quotes (escapes left as written);
    /// anything else unchanged.
    public static func unquote(_ s: String) -> String {
        s.count >= 2 && s.hasPrefix("\"") && s.hasSuffix("\"") ? String(s.dropFirst().dropLast()) : s
    }

    /// Quotes a string as `scripts/kconfig/confdata.c` (`escape_string_value()`) writes it
    /// into .config and autoconf.h: double quotes, with `"` and `\` escaped by a backslash.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            if ch == "\"" || ch == "\\" { out.unicodeScalars.append("\\") }
            out.unicodeScalars.append(ch)
        }
        out += "\""
        return out
    }

    /// The line this value makes for `name` under `prefix`, as the kernel writes it.
    public func line(for name: String, prefix: String = "CONFIG_") -> String {
        switch self {
        case .notSet: "# \(prefix)\(name) is not set"
        default: "\(prefix)\(name)=\(configText)"
        }
    }
}
