/// A JSON document with object keys kept in the order they were written.
///
/// KernelKit's JSON outputs are documented schemas that scripts diff and grep, so key
/// order is part of the format and must not depend on hashing.
public indirect enum JSONValue: Hashable, Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case let (.bool(x), .bool(y)): x == y
        case let (.int(x), .int(y)): x == y
        case let (.double(x), .double(y)): x == y
        case let (.string(x), .string(y)): x == y
        case let (.array(x), .array(y)): x == y
        case let (.object(x), .object(y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(serialized())
    }

    /// Serialises the document; `pretty` indents by two spaces, one key per line.
    public func serialized(pretty: Bool = true) -> String {
        // Written as bytes and made a string once: appending hundreds of small pieces to a
        // String went through its append path each time (a sixth of `harden check`).
        var out = [UInt8]()
        out.reserveCapacity(4096)
        write(to: &out, indent: pretty ? 0 : nil)
        if pretty { out.append(0x0A) }
        return String(decoding: out, as: UTF8.self)
    }

    /// `.array(items).serialized(pretty:)`, byte for byte, with the items written on every
    /// core: the reports of 100 configs are 17 MB of JSON, a third of such a run when
    /// written in turn.
    public static func serialized(array items: [JSONValue], pretty: Bool = true) -> String {
        guard items.count > 1 else { return JSONValue.array(items).serialized(pretty: pretty) }
        let parts = Parallel.map(count: items.count, width: Parallel.cores) { i in
            var out = [UInt8]()
            items[i].write(to: &out, indent: pretty ? 1 : nil)
            return out
        }
        var out = [UInt8]()
        out.reserveCapacity(parts.reduce(16) { $0 + $1.count + 4 })
        out.append(UInt8(ascii: "["))
        // The array branch of write(to:indent:), with the items already written.
        for (i, part) in parts.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            Self.newline(&out, pretty ? 1 : nil)
            out += part
        }
        Self.newline(&out, pretty ? 0 : nil)
        out.append(UInt8(ascii: "]"))
        if pretty { out.append(0x0A) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The document as Python's `json.dumps(value)` writes it, byte for byte: one line,
    /// `", "` between items and `": "` after keys, and every character outside printable
    /// ASCII escaped (`ensure_ascii`: `\uXXXX` in lowercase hex, surrogate pairs above
    /// U+FFFF, `\b` and `\f` among the short forms; Lib/json/encoder.py). Without a line end.
    /// kernel-hardening-checker prints its `-m json` so (`print(json.dumps(output))`).
    public func pythonSerialized() -> String {
        var out = [UInt8]()
        out.reserveCapacity(4096)
        writePython(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private func writePython(to out: inout [UInt8]) {
        switch self {
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                // ", " as two bytes: appending a literal's utf8 view costs 170 instructions.
                if i > 0 { out.append(0x2C); out.append(0x20) }
                item.writePython(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out.append(0x2C); out.append(0x20) }
                Self.writeString(key, to: &out, asciiOnly: true)
                out.append(0x3A); out.append(0x20)
                value.writePython(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .string(let s): Self.writeString(s, to: &out, asciiOnly: true)
        // float.__repr__ and Swift's description are both the shortest round-tripping
        // digits (1.0, 0.25, 1e+16); json.dumps spells the non-finite ones so.
        case .double(let d) where !d.isFinite: out += (d.isNaN ? "NaN" : d < 0 ? "-Infinity" : "Infinity").utf8
        case .double(let d): out += String(d).utf8
        default: write(to: &out, indent: nil)
        }
    }

    private func write(to out: inout [UInt8], indent: Int?) {
        switch self {
        case .null: out += "null".utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .int(let i): out += String(i).utf8
        case .double(let d):
            if d.isFinite { out += (d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)).utf8 } else { out += "null".utf8 }
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let items):
            if items.isEmpty { out += "[]".utf8; return }
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.newline(&out, indent.map { $0 + 1 })
                item.write(to: &out, indent: indent.map { $0 + 1 })
            }
            Self.newline(&out, indent)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            if members.isEmpty { out += "{}".utf8; return }
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.newline(&out, indent.map { $0 + 1 })
                Self.writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                if indent != nil { out.append(0x20) }
                value.write(to: &out, indent: indent.map { $0 + 1 })
            }
            Self.newline(&out, indent)
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(_ out: inout [UInt8], _ indent: Int?) {
        guard let indent else { return }
        out.append(0x0A)
        out.append(contentsOf: repeatElement(0x20, count: 2 * indent))
    }

    /// A string, quoted and escaped. `asciiOnly` is Python's `ensure_ascii`: every character
    /// outside printable ASCII becomes `\uXXXX` (a surrogate pair above U+FFFF).
    private static func writeString(_ s: String, to out: inout [UInt8], asciiOnly: Bool = false) {
        func unicodeEscape(_ v: UInt32) {
            out.append(0x5C)
            out.append(UInt8(ascii: "u"))
            for shift in stride(from: 12, through: 0, by: -4) {
                let d = UInt8((v >> UInt32(shift)) & 0xF)
                out.append(d < 10 ? 0x30 + d : 0x57 + d) // 0-9, a-f
            }
        }
        out.append(0x22)
        // Runs of bytes that need no escape are copied whole: most strings have none. A
        // String's bytes are valid UTF-8, so a lead byte's length is all the decoding a
        // non-ASCII character needs.
        var s = s
        s.withUTF8 { bytes in
            var i = 0, runStart = 0
            while i < bytes.count {
                let b = bytes[i]
                if b >= 0x20 && b != 0x22 && b != 0x5C && (b < 0x7F || !asciiOnly) { i += 1; continue }
                if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
                switch b {
                case 0x22, 0x5C: out.append(0x5C); out.append(b)
                case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
                case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
                case 0x08: out.append(0x5C); out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(0x5C); out.append(UInt8(ascii: "f"))
                case ..<0x80: unicodeEscape(UInt32(b))
                default:
                    let n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2
                    var v = UInt32(b) & (0x7F >> UInt32(n))
                    for k in 1..<n { v = v << 6 | UInt32(bytes[i + k] & 0x3F) }
                    if v >= 0x10000 {
                        unicodeEscape(0xD800 | ((v - 0x10000) >> 10))
                        unicodeEscape(0xDC00 | ((v - 0x10000) & 0x3FF))
                    } else {
                        unicodeEscape(v)
                    }
                    i += n - 1
                }
                i += 1
                runStart = i
            }
            if runStart < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
        }
        out.append(0x22)
    }
}

extension JSONValue {
    /// An object's member by key (the first, as objects keep their order).
    public func member(_ key: String) -> JSONValue? {
        if case .object(let m) = self { return m.first { $0.0 == key }?.1 }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }

    /// Parses JSON text (RFC 8259); errors name the line and column.
    public static func parse(_ bytes: [UInt8], file: String) throws(KernelKitError) -> JSONValue {
        var p = JSONReader(b: bytes, file: file)
        p.skip()
        let v = try p.value()
        p.skip()
        if p.i < bytes.count { throw p.error("unexpected data after the JSON value") }
        return v
    }
}

private struct JSONReader {
    let b: [UInt8]
    let file: String
    var i = 0
    /// Arrays and objects open around the value being read. Each level is a recursive
    /// call: a document nested tens of thousands deep is an error, not a stack overflow.
    /// Our reports nest five levels; 512 leaves room for anything real.
    var depth = 0
    static let maxDepth = 512

    func error(_ message: String) -> KernelKitError {
        var line = 1, col = 1
        for k in 0..<min(i, b.count) { if b[k] == 0x0A { line += 1; col = 1 } else { col += 1 } }
        return KernelKitError(.malformedLine, message, at: SourceLocation(file: file, line: line, column: col))
    }

    mutating func skip() { while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 } }

    mutating func literal(_ word: String, _ v: JSONValue) throws(KernelKitError) -> JSONValue {
        let w = Array(word.utf8)
        guard i + w.count <= b.count, b[i..<(i + w.count)].elementsEqual(w) else { throw error("invalid JSON value") }
        i += w.count
        return v
    }

    mutating func value() throws(KernelKitError) -> JSONValue {
        guard i < b.count else { throw error("unexpected end of JSON") }
        let nests = b[i] == UInt8(ascii: "{") || b[i] == UInt8(ascii: "[")
        if nests {
            depth += 1
            if depth > Self.maxDepth { throw error("arrays and objects nested deeper than \(Self.maxDepth) levels") }
        }
        defer { if nests { depth -= 1 } }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1
            var members = [(String, JSONValue)]()
            skip()
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            while true {
                skip()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let k = try string()
                skip()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw error("expected ':'") }
                i += 1
                skip()
                members.append((k, try value()))
                skip()
                if i < b.count, b[i] == UInt8(ascii: ",") { i += 1; continue }
                guard i < b.count, b[i] == UInt8(ascii: "}") else { throw error("expected ',' or '}'") }
                i += 1
                return .object(members)
            }
        case UInt8(ascii: "["):
            i += 1
            var items = [JSONValue]()
            skip()
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skip()
                items.append(try value())
                skip()
                if i < b.count, b[i] == UInt8(ascii: ",") { i += 1; continue }
                guard i < b.count, b[i] == UInt8(ascii: "]") else { throw error("expected ',' or ']'") }
                i += 1
                return .array(items)
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        default:
            let start = i
            while i < b.count, "+-0123456789.eE".utf8.contains(b[i]) { i += 1 }
            let text = String(decoding: b[start..<i], as: UTF8.self)
            if let n = Int(text) { return .int(n) }
            if let d = Double(text) { return .double(d) }
            i = start
            throw error("invalid JSON value")
        }
    }

    mutating func string() throws(KernelKitError) -> String {
        i += 1
        var out = [UInt8]()
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; return String(decoding: out, as: UTF8.self) }
            if c == UInt8(ascii: "\\") {
                i += 1
                guard i < b.count else { break }
                switch b[i] {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(b[i])
                case UInt8(ascii: "u"):
                    func hex4(_ at: Int) -> UInt32? {
                        guard at + 4 <= b.count, b[at..<(at + 4)].allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }) else { return nil }
                        return UInt32(String(decoding: b[at..<(at + 4)], as: UTF8.self), radix: 16)
                    }
                    guard var v = hex4(i + 1) else { throw error("invalid \\u escape") }
                    i += 4
                    // RFC 8259 section 7: a character outside the BMP is a surrogate pair,
                    // \uD83D\uDE00. A lone surrogate is no character: U+FFFD, as most readers.
                    if (0xD800..<0xDC00).contains(v), i + 2 < b.count, b[i + 1] == UInt8(ascii: "\\"), b[i + 2] == UInt8(ascii: "u"),
                       let low = hex4(i + 3), (0xDC00..<0xE000).contains(low) {
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                    out += Array(String(UnicodeScalar(v).map(Character.init) ?? "\u{FFFD}").utf8)
                default:
                    // Only the escapes above exist (RFC 8259 section 7); "\x41" is an error.
                    throw error("invalid escape '\\\(String(decoding: [b[i]], as: UTF8.self))' in a string")
                }
                i += 1
                continue
            }
            out.append(c)
            i += 1
        }
        throw error("unterminated string")
    }
}
