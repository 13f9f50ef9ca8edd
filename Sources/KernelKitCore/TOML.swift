/// A TOML reader that keeps the line of every value, so that a policy, a waiver or a
/// manifest with a bad value gets an error at `file:line`.
///
/// It reads the TOML 1.0 that these files use: comments, `[table]`, `[[array-of-tables]]`,
/// dotted and quoted keys, basic and literal strings (multi-line too), integers, floats,
/// booleans, local dates (`2026-12-31`), arrays (over several lines, trailing comma
/// allowed) and inline tables. Offset date-times and times are refused with a message.
/// (TOMLKit, the mirrored TOML package, gives no positions for values.)
public struct TOMLValue: CustomStringConvertible {
    public enum Kind {
        case string(String)
        case integer(Int64)
        case float(Double)
        case bool(Bool)
        case date(String)
        case array([TOMLValue])
        case table(TOMLTable)
    }

    public var kind: Kind
    /// 1-based line where the value starts.
    public var line: Int

    public var string: String? { if case .string(let s) = kind { s } else { nil } }
    public var integer: Int64? { if case .integer(let i) = kind { i } else { nil } }
    public var bool: Bool? { if case .bool(let b) = kind { b } else { nil } }
    public var array: [TOMLValue]? { if case .array(let a) = kind { a } else { nil } }
    public var table: TOMLTable? { if case .table(let t) = kind { t } else { nil } }

    /// The TOML type name, for messages ("expected a string, found an integer").
    public var typeName: String {
        switch kind {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .bool: "a boolean"
        case .date: "a date"
        case .array: "an array"
        case .table: "a table"
        }
    }

    public var description: String {
        switch kind {
        case .string(let s): "\"\(s)\""
        case .integer(let i): "\(i)"
        case .float(let f): "\(f)"
        case .bool(let b): "\(b)"
        case .date(let d): d
        case .array(let a): "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .table: "{…}"
        }
    }
}

/// A TOML table: keys in file order, each with its value and line.
///
/// A class, so that the parser fills nested tables in place (a policy's hundreds of
/// `[[rule]]` tables would otherwise be copied at every key); it is not changed after
/// parsing, which is what makes sharing it across threads safe.
public final class TOMLTable {
    public private(set) var entries: [(key: String, value: TOMLValue)] = []
    /// Key to entry, made only for a table past ``indexedFrom`` keys: a policy's rule has
    /// half a dozen, which a scan finds sooner than a hash (a dictionary per rule was a
    /// third of loading the 421 rules of khc.toml).
    private var index: [String: Int]?
    private static let indexedFrom = 16
    /// Where the table starts (its header, or its first key).
    public let line: Int

    public init(line: Int) { self.line = line }

    public subscript(key: String) -> TOMLValue? {
        position(of: key).map { entries[$0].value }
    }

    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        return entries.firstIndex { $0.key == key }
    }

    public var keys: [String] { entries.map(\.key) }

    func set(_ key: String, _ value: TOMLValue) {
        if index != nil {
            index![key] = entries.count
        } else if entries.count + 1 >= Self.indexedFrom {
            var made = [String: Int](minimumCapacity: entries.count * 2)
            for (i, e) in entries.enumerated() { made[e.key] = i }
            made[key] = entries.count
            index = made
        }
        entries.append((key, value))
    }

    func replace(_ key: String, _ value: TOMLValue) {
        if let i = position(of: key) { entries[i].value = value } else { set(key, value) }
    }

    /// Appends `value` to the array at `key` (callers have checked that it is one), without
    /// copying the array.
    func append(_ value: TOMLValue, toArray key: String) {
        guard let i = position(of: key) else { return }
        // The array is swapped out of the table and consumed, so its buffer has one owner
        // while it grows: a file of N [[rule]] tables then parses in O(N). Binding the
        // payload in place (`case .array(var a) = entries[i].value.kind`), even with the
        // old value overwritten or consumed, left a second reference, and each append copied
        // the whole array (khc.toml's 421 rules: 4 ms of a 7.5 ms run).
        var taken = TOMLValue.Kind.bool(false)
        swap(&taken, &entries[i].value.kind)
        guard case .array(var a) = consume taken else { return }
        a.append(value)
        entries[i].value.kind = .array(a)
    }
}

public enum TOML {
    /// Parses a whole document.
    /// - Throws: `.malformedLine` at the offending `file:line:column`.
    public static func parse(_ bytes: [UInt8], file: String) throws(KernelKitError) -> TOMLTable {
        try InputFile.validateText(bytes, file: file)
        var p = TOMLParser(bytes: bytes, file: file)
        return try p.document()
    }

    public static func parse(file path: String) throws(KernelKitError) -> TOMLTable {
        try parse(try InputFile.readBytes(path), file: path)
    }
}

struct TOMLParser {
    let b: [UInt8]
    let file: String
    var i = 0
    var line = 1
    var lineStart = 0
    /// The nesting of the value being read (see ``maxDepth``).
    var depth = 0

    init(bytes: [UInt8], file: String) {
        b = bytes
        self.file = file
    }

    func error(_ message: String) -> KernelKitError {
        KernelKitError(.malformedLine, message, at: SourceLocation(file: file, line: line, column: i - lineStart + 1))
    }

    var peek: UInt8? { i < b.count ? b[i] : nil }

    mutating func advance() {
        if b[i] == 0x0A { line += 1; lineStart = i + 1 }
        i += 1
    }

    /// Spaces and tabs.
    mutating func skipBlanks() {
        while let c = peek, c == 0x20 || c == 0x09 { advance() }
    }

    /// Blanks, newlines and comments (inside arrays).
    mutating func skipAll() {
        while let c = peek {
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { advance() } else if c == UInt8(ascii: "#") {
                while let d = peek, d != 0x0A { advance() }
            } else { break }
        }
    }

    /// The rest of a line after a statement: blanks, an optional comment, the newline.
    mutating func endOfLine() throws(KernelKitError) {
        skipBlanks()
        if peek == UInt8(ascii: "#") { while let d = peek, d != 0x0A { advance() } }
        if peek == 0x0D { advance() }
        guard let c = peek else { return }
        guard c == 0x0A else { throw error("expected the end of the line, found '\(Character(UnicodeScalar(c)))'") }
        advance()
    }

    mutating func document() throws(KernelKitError) -> TOMLTable {
        let root = TOMLTable(line: 1)
        // The table that keys go into (for [[x]], the last element of x), found once at its
        // header rather than along its path at every key.
        var current = root
        var defined = Set<String>()
        while true {
            skipAll()
            guard let c = peek else { break }
            if c == UInt8(ascii: "[") {
                let headerLine = line
                advance()
                let isArray = peek == UInt8(ascii: "[")
                if isArray { advance() }
                skipBlanks()
                let path = try keyPath()
                skipBlanks()
                guard peek == UInt8(ascii: "]") else { throw error("expected ']' to close the table header") }
                advance()
                if isArray {
                    guard peek == UInt8(ascii: "]") else { throw error("expected ']]' to close the array-of-tables header") }
                    advance()
                }
                try endOfLine()
                if isArray {
                    try Self.appendTable(root, path, line: headerLine, file: file)
                } else {
                    let name = path.joined(separator: ".")
                    if defined.contains(name) {
                        throw KernelKitError(.malformedLine, "table [\(name)] is defined twice", at: SourceLocation(file: file, line: headerLine))
                    }
                    defined.insert(name)
                    try Self.ensureTable(root, path, line: headerLine, file: file)
                }
                current = Self.resolve(root, path) ?? root
                continue
            }
            let keyLine = line
            let path = try keyPath()
            skipBlanks()
            guard peek == UInt8(ascii: "=") else { throw error("expected '=' after the key '\(path.joined(separator: "."))'") }
            advance()
            skipBlanks()
            let v = try value()
            try endOfLine()
            try Self.insert(current, path, v, line: keyLine, file: file)
        }
        return root
    }

    // MARK: keys

    mutating func keyPath() throws(KernelKitError) -> [String] {
        var parts = [try simpleKey()]
        while true {
            skipBlanks()
            guard peek == UInt8(ascii: ".") else { break }
            advance()
            skipBlanks()
            parts.append(try simpleKey())
        }
        return parts
    }

    mutating func simpleKey() throws(KernelKitError) -> String {
        guard let c = peek else { throw error("expected a key") }
        if c == UInt8(ascii: "\"") { return try basicString() }
        if c == UInt8(ascii: "'") { return try literalString() }
        let start = i
        while let d = peek, Self.isBareKey(d) { advance() }
        guard i > start else { throw error("expected a key, found '\(Character(UnicodeScalar(c)))'") }
        return String(decoding: b[start..<i], as: UTF8.self)
    }

    static func isBareKey(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x2D
    }

    // MARK: values

    /// How deep arrays and inline tables may nest. Each level is a recursive call, and a
    /// file nested tens of thousands deep would overflow the stack; real policies nest
    /// three or four levels.
    static let maxDepth = 64

    mutating func value() throws(KernelKitError) -> TOMLValue {
        let at = line
        guard let c = peek else { throw error("expected a value") }
        if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") {
            depth += 1
            if depth > Self.maxDepth { throw error("arrays and inline tables nested deeper than \(Self.maxDepth) levels") }
        }
        defer { if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") { depth -= 1 } }
        switch c {
        case UInt8(ascii: "\""):
            return TOMLValue(kind: .string(try basicString()), line: at)
        case UInt8(ascii: "'"):
            return TOMLValue(kind: .string(try literalString()), line: at)
        case UInt8(ascii: "["):
            advance()
            var items = [TOMLValue]()
            while true {
                skipAll()
                if peek == UInt8(ascii: "]") { advance(); break }
                items.append(try value())
                skipAll()
                if peek == UInt8(ascii: ",") { advance(); continue }
                guard peek == UInt8(ascii: "]") else { throw error("expected ',' or ']' in the array") }
                advance()
                break
            }
            return TOMLValue(kind: .array(items), line: at)
        case UInt8(ascii: "{"):
            advance()
            let t = TOMLTable(line: at)
            skipBlanks()
            if peek == UInt8(ascii: "}") { advance(); return TOMLValue(kind: .table(t), line: at) }
            while true {
                skipBlanks()
                let keyLine = line
                let path = try keyPath()
                skipBlanks()
                guard peek == UInt8(ascii: "=") else { throw error("expected '=' in the inline table") }
                advance()
                skipBlanks()
                let v = try value()
                try Self.insert(t, path, v, line: keyLine, file: file)
                skipBlanks()
                if peek == UInt8(ascii: ",") { advance(); continue }
                guard peek == UInt8(ascii: "}") else { throw error("expected ',' or '}' in the inline table") }
                advance()
                break
            }
            return TOMLValue(kind: .table(t), line: at)
        default:
            let start = i
            while let d = peek, !(d == 0x20 || d == 0x09 || d == 0x0A || d == 0x0D || d == UInt8(ascii: ",")
                                  || d == UInt8(ascii: "]") || d == UInt8(ascii: "}") || d == UInt8(ascii: "#")) {
                advance()
            }
            let text = String(decoding: b[start..<i], as: UTF8.self)
            if text == "true" { return TOMLValue(kind: .bool(true), line: at) }
            if text == "false" { return TOMLValue(kind: .bool(false), line: at) }
            let digits = text.replacingUnderscores()
            if let n = Int64(digits) { return TOMLValue(kind: .integer(n), line: at) }
            if digits.hasPrefix("0x"), let n = Int64(digits.dropFirst(2), radix: 16) { return TOMLValue(kind: .integer(n), line: at) }
            if text.count == 10, text.utf8.enumerated().allSatisfy({ ($0.offset == 4 || $0.offset == 7) ? $0.element == 0x2D : ($0.element >= 0x30 && $0.element <= 0x39) }) {
                return TOMLValue(kind: .date(text), line: at)
            }
            if let f = Double(digits), digits.contains(".") || digits.contains("e") || digits.contains("E") {
                return TOMLValue(kind: .float(f), line: at)
            }
            i = start
            throw error(text.isEmpty ? "expected a value" : "invalid value '\(text)' (strings need quotes)")
        }
    }

    mutating func basicString() throws(KernelKitError) -> String {
        advance() // "
        var multi = false
        if peek == UInt8(ascii: "\""), i + 1 < b.count, b[i + 1] == UInt8(ascii: "\"") {
            advance(); advance()
            multi = true
            if peek == 0x0A { advance() } else if peek == 0x0D, i + 1 < b.count, b[i + 1] == 0x0A { advance(); advance() }
        } else if peek == UInt8(ascii: "\"") {
            advance()
            return ""
        }
        if !multi {
            // The usual string: closed on its line with no escape. Made from the bytes at
            // once rather than byte by byte.
            var j = i
            while j < b.count, b[j] != UInt8(ascii: "\""), b[j] != UInt8(ascii: "\\"), b[j] != 0x0A { j += 1 }
            if j < b.count, b[j] == UInt8(ascii: "\"") {
                let s = String(decoding: b[i..<j], as: UTF8.self)
                i = j + 1
                return s
            }
        }
        var out = [UInt8]()
        while true {
            guard let c = peek else { throw error("unterminated string") }
            if c == UInt8(ascii: "\"") {
                if !multi { advance(); break }
                if i + 2 < b.count, b[i + 1] == UInt8(ascii: "\""), b[i + 2] == UInt8(ascii: "\"") {
                    advance(); advance(); advance()
                    break
                }
                out.append(c)
                advance()
                continue
            }
            if c == 0x0A && !multi { throw error("unterminated string (a newline in a one-line string)") }
            if c == UInt8(ascii: "\\") {
                advance()
                guard let e = peek else { throw error("unterminated string") }
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "\""): out.append(e)
                case UInt8(ascii: "\\"): out.append(e)
                case UInt8(ascii: "u"), UInt8(ascii: "U"):
                    let n = e == UInt8(ascii: "u") ? 4 : 8
                    guard i + n < b.count, let v = UInt32(String(decoding: b[(i + 1)...(i + n)], as: UTF8.self), radix: 16),
                          let scalar = UnicodeScalar(v) else { throw error("invalid unicode escape") }
                    out += Array(String(Character(scalar)).utf8)
                    for _ in 0..<n { advance() }
                case 0x0A where multi:
                    // A line-ending backslash trims the newline and the whitespace after it.
                    advance()
                    while let d = peek, d == 0x20 || d == 0x09 || d == 0x0A || d == 0x0D { advance() }
                    continue
                default: throw error("invalid escape '\\\(Character(UnicodeScalar(e)))'")
                }
                advance()
                continue
            }
            out.append(c)
            advance()
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func literalString() throws(KernelKitError) -> String {
        advance() // '
        var multi = false
        if peek == UInt8(ascii: "'"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "'") {
            advance(); advance()
            multi = true
            if peek == 0x0A { advance() }
        } else if peek == UInt8(ascii: "'") {
            advance()
            return ""
        }
        let start = i
        while true {
            guard let c = peek else { throw error("unterminated string") }
            if c == UInt8(ascii: "'") {
                if !multi { let s = String(decoding: b[start..<i], as: UTF8.self); advance(); return s }
                if i + 2 < b.count, b[i + 1] == UInt8(ascii: "'"), b[i + 2] == UInt8(ascii: "'") {
                    let s = String(decoding: b[start..<i], as: UTF8.self)
                    advance(); advance(); advance()
                    return s
                }
            }
            if c == 0x0A && !multi { throw error("unterminated string (a newline in a one-line string)") }
            advance()
        }
    }

    // MARK: building the tree

    static func ensureTable(_ root: TOMLTable, _ path: [String], line: Int, file: String) throws(KernelKitError) {
        guard let first = path.first else { return }
        let child: TOMLTable
        if let existing = root[first] {
            switch existing.kind {
            case .table(let t): child = t
            case .array(let a) where a.last?.table != nil:
                // A header below an array of tables goes into its last element.
                child = a[a.count - 1].table!
            default:
                throw KernelKitError(.malformedLine, "'\(first)' is already \(existing.typeName) (line \(existing.line)), not a table",
                                     at: SourceLocation(file: file, line: line))
            }
        } else {
            child = TOMLTable(line: line)
            root.set(first, TOMLValue(kind: .table(child), line: line))
        }
        try ensureTable(child, Array(path.dropFirst()), line: line, file: file)
    }

    static func appendTable(_ root: TOMLTable, _ path: [String], line: Int, file: String) throws(KernelKitError) {
        if path.count == 1 {
            let element = TOMLValue(kind: .table(TOMLTable(line: line)), line: line)
            if root[path[0]] != nil {
                // No copy of the existing value lives across the append (it would share the
                // array's buffer and force a copy of it).
                if let existing = root[path[0]], existing.array == nil {
                    throw KernelKitError(.malformedLine, "'\(path[0])' is already \(existing.typeName) (line \(existing.line)), not an array of tables",
                                         at: SourceLocation(file: file, line: line))
                }
                root.append(element, toArray: path[0])
            } else {
                root.set(path[0], TOMLValue(kind: .array([element]), line: line))
            }
            return
        }
        try ensureTable(root, [path[0]], line: line, file: file)
        try appendTable(container(root, path[0])!, Array(path.dropFirst()), line: line, file: file)
    }

    /// The table at `path`, following arrays of tables to their last element.
    static func resolve(_ root: TOMLTable, _ path: [String]) -> TOMLTable? {
        var t = root
        for key in path {
            guard let next = container(t, key) else { return nil }
            t = next
        }
        return t
    }

    /// The table at `key`: a table, or the last element of an array of tables.
    static func container(_ root: TOMLTable, _ key: String) -> TOMLTable? {
        switch root[key]?.kind {
        case .table(let t): return t
        case .array(let a): return a.last?.table
        default: return nil
        }
    }

    /// Puts `key = value` into `table`; a dotted key makes or enters its tables on the way
    /// (an array of tables at its last element).
    static func insert(_ table: TOMLTable, _ keyPath: [String], _ value: TOMLValue,
                       line: Int, file: String) throws(KernelKitError) {
        if keyPath.count == 1 {
            if let existing = table[keyPath[0]] {
                throw KernelKitError(.malformedLine, "the key '\(keyPath[0])' is defined twice (first at line \(existing.line))",
                                     at: SourceLocation(file: file, line: line))
            }
            table.set(keyPath[0], value)
            return
        }
        try ensureTable(table, [keyPath[0]], line: line, file: file)
        guard let inner = container(table, keyPath[0]) else { return }
        try insert(inner, Array(keyPath.dropFirst()), value, line: line, file: file)
    }
}

extension String {
    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
