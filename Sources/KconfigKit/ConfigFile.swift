import KernelKitCore

/// A parsed `.config` file or config fragment.
///
/// It reads every line form that the kernel writes or accepts (`conf_read_simple()` in
/// `scripts/kconfig/confdata.c`): `CONFIG_X=y|m|n`, quoted strings with `\"` and `\\`
/// escapes, decimal and hex numbers, `# CONFIG_X is not set`, other comments, blank lines,
/// and CRLF line ends. It also recognises the kernel-ark arch marker that Fedora and
/// Azure Linux put on the first line (`# x86_64`, `# arm64`).
///
/// Every line is kept with its exact bytes, so ``bytes`` of an unchanged file reproduces
/// it byte for byte, and every entry keeps its file and line for diagnostics.
public struct ConfigFile: Sendable {
    /// How a line of the file was understood.
    public enum LineKind: Hashable, Sendable {
        case blank
        case comment
        /// The kernel-ark arch marker (`# x86_64`) on line 1.
        case archMarker(String)
        /// An assignment or "is not set" line; the payload indexes ``entries``.
        case entry(Int)
    }

    /// One physical line: its text without the line end, and the line end itself.
    public struct Line: Hashable, Sendable {
        public var text: String
        /// `"\n"`, `"\r\n"`, or `""` for a last line with no line end.
        public var terminator: String
        public var kind: LineKind
    }

    /// One option set by the file.
    public struct Entry: Hashable, Sendable {
        /// The symbol name without the prefix: `MODULE_SIG` for `CONFIG_MODULE_SIG`.
        public var name: String
        public var value: ConfigValue
        public var location: SourceLocation
    }

    /// The path the file was read from, as given; used in diagnostics.
    public let path: String
    /// The symbol prefix: `CONFIG_`, or the value of the `CONFIG_` environment variable,
    /// which the kernel's tools honour (`CONFIG_prefix()` in `scripts/kconfig/lkc.h`).
    public let prefix: String
    public private(set) var lines: [Line]
    /// Every assignment in file order, duplicates included.
    public private(set) var entries: [Entry]
    /// Duplicate assignments and other findings that are not errors.
    public private(set) var warnings: [Warning]
    /// The kernel-ark arch marker from line 1, if present.
    public private(set) var archMarker: String?
    /// Name to the index in ``entries`` of its effective (last) assignment.
    private var effective: [String: Int]

    /// Arch markers used by kernel-ark's `process_configs.sh` (Fedora, RHEL, Azure Linux 4).
    static let knownArchMarkers: Set<String> = [
        "x86_64", "arm64", "aarch64", "i386", "i686", "s390x", "ppc64le", "riscv64",
    ]

    /// The prefix the kernel's tools would use in this process's environment.
    public static var environmentPrefix: String {
        // getenv("CONFIG_") ?: "CONFIG_": an empty value is honoured as an empty prefix.
        if let value = getenv("CONFIG_") { return String(cString: value) }
        return "CONFIG_"
    }

    /// Reads and parses a file.
    ///
    /// - Throws: ``KernelKitError`` for an unreadable, binary, non-UTF-8 or malformed file,
    ///   located at the file and line.
    public init(contentsOf path: String, prefix: String = ConfigFile.environmentPrefix) throws(KernelKitError) {
        let bytes = try InputFile.readText(path)
        try self.init(bytes: bytes, path: path, prefix: prefix, validated: true)
    }

    /// Parses bytes already in memory.
    public init(bytes: [UInt8], path: String = "<input>", prefix: String = "CONFIG_") throws(KernelKitError) {
        try self.init(bytes: bytes, path: path, prefix: prefix, validated: false)
    }

    /// Parses text already in memory.
    public init(text: String, path: String = "<input>", prefix: String = "CONFIG_") throws(KernelKitError) {
        try self.init(bytes: Array(text.utf8), path: path, prefix: prefix, validated: true)
    }

    private init(bytes: [UInt8], path: String, prefix: String, validated: Bool) throws(KernelKitError) {
        if !validated { try InputFile.validateText(bytes, file: path) }
        self.path = path
        self.prefix = prefix
        self.lines = []
        self.entries = []
        self.warnings = []
        self.archMarker = nil
        self.effective = [:]
        lines.reserveCapacity(bytes.count / 32)
        entries.reserveCapacity(bytes.count / 36)
        effective.reserveCapacity(bytes.count / 36)
        let prefixBytes = Array(prefix.utf8)
        try bytes.withUnsafeBufferPointer { (buffer) throws(KernelKitError) in
            var start = 0
            var lineNumber = 0
            let count = buffer.count
            while start < count {
                lineNumber += 1
                var end = start
                while end < count && buffer[end] != 0x0A { end += 1 }
                var textEnd = end
                let terminator: String
                if end < count {
                    if textEnd > start && buffer[textEnd - 1] == 0x0D {
                        textEnd -= 1
                        terminator = "\r\n"
                    } else {
                        terminator = "\n"
                    }
                } else {
                    terminator = ""
                }
                let line = UnsafeBufferPointer(rebasing: buffer[start..<textEnd])
                try parseLine(line, number: lineNumber, terminator: terminator, prefix: prefixBytes)
                start = end + 1
            }
        }
    }

    private static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
    }

    private static func hasPrefix(_ line: UnsafeBufferPointer<UInt8>, _ prefix: [UInt8], at offset: Int) -> Bool {
        if line.count - offset < prefix.count { return false }
        for i in 0..<prefix.count where line[offset + i] != prefix[i] { return false }
        return true
    }

    private mutating func parseLine(_ line: UnsafeBufferPointer<UInt8>, number: Int, terminator: String,
                                    prefix: [UInt8]) throws(KernelKitError) {
        let text = String(decoding: line, as: UTF8.self)
        let location = SourceLocation(file: path, line: number)
        func malformed(_ message: String, column: Int) -> KernelKitError {
            KernelKitError(.malformedLine, message, at: SourceLocation(file: path, line: number, column: column))
        }
        // Blank, or only white space: the kernel warns about white space ("unexpected data")
        // but nothing is lost by reading it as blank, and hand-written fragments have it.
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
            lines.append(Line(text: text, terminator: terminator, kind: .blank))
            return
        }
        if line[0] == UInt8(ascii: "#") {
            // "# CONFIG_X is not set", matched exactly as conf_read_simple() does: "# ",
            // the prefix, the name up to the first space, then exactly "is not set".
            let notSet = Array(" is not set".utf8)
            if line.count > 2 + prefix.count + notSet.count, line[1] == 0x20,
               Self.hasPrefix(line, prefix, at: 2) {
                let nameStart = 2 + prefix.count
                var nameEnd = nameStart
                while nameEnd < line.count && line[nameEnd] != 0x20 { nameEnd += 1 }
                if nameEnd > nameStart, line.count - nameEnd == notSet.count,
                   Self.hasPrefix(line, notSet, at: nameEnd),
                   (nameStart..<nameEnd).allSatisfy({ Self.isNameByte(line[$0]) }) {
                    let name = String(decoding: UnsafeBufferPointer(rebasing: line[nameStart..<nameEnd]), as: UTF8.self)
                    addEntry(Entry(name: name, value: .notSet, location: location), text: text, terminator: terminator)
                    return
                }
            }
            if number == 1, line.count > 2, line[1] == 0x20 {
                let word = String(text.dropFirst(2))
                if Self.knownArchMarkers.contains(word) {
                    archMarker = word
                    lines.append(Line(text: text, terminator: terminator, kind: .archMarker(word)))
                    return
                }
            }
            lines.append(Line(text: text, terminator: terminator, kind: .comment))
            return
        }
        guard Self.hasPrefix(line, prefix, at: 0) else {
            // conf_read_simple() words this "unexpected data".
            throw malformed("unexpected data: expected '\(self.prefix)NAME=VALUE', '# \(self.prefix)NAME is not set' or a comment", column: 1)
        }
        let nameStart = prefix.count
        var nameEnd = nameStart
        while nameEnd < line.count && Self.isNameByte(line[nameEnd]) { nameEnd += 1 }
        if nameEnd == nameStart {
            throw malformed("missing symbol name after '\(self.prefix)'", column: nameStart + 1)
        }
        guard nameEnd < line.count, line[nameEnd] == UInt8(ascii: "=") else {
            throw malformed("unexpected data: expected '=' after the symbol name", column: nameEnd + 1)
        }
        let name = String(decoding: UnsafeBufferPointer(rebasing: line[nameStart..<nameEnd]), as: UTF8.self)
        let valueStart = nameEnd + 1
        let value: ConfigValue
        let valueBytes = UnsafeBufferPointer(rebasing: line[valueStart...])
        if valueBytes.count == 1, let t = Tristate(String(UnicodeScalar(valueBytes[0]))) {
            value = .tristate(t)
        } else if valueBytes.first == UInt8(ascii: "\"") {
            // confdata.c, conf_set_sym_val(): a backslash keeps the next character
            // whatever it is, and the string ends at the first unescaped quote.
            var decoded = [UInt8]()
            var i = 1
            var closed = false
            while i < valueBytes.count {
                let b = valueBytes[i]
                if b == UInt8(ascii: "\\") {
                    i += 1
                    if i < valueBytes.count { decoded.append(valueBytes[i]) }
                } else if b == UInt8(ascii: "\"") {
                    closed = true
                    break
                } else {
                    decoded.append(b)
                }
                i += 1
            }
            if !closed {
                // The kernel's wording is "invalid string found".
                throw malformed("invalid string found: no closing quote", column: valueStart + 1)
            }
            if i + 1 < valueBytes.count {
                throw malformed("unexpected data after the closing quote", column: valueStart + i + 2)
            }
            value = .string(String(decoding: decoded, as: UTF8.self))
        } else {
            // Numbers: decimal with an optional sign, or hex with or without 0x
            // (sym_string_valid() in scripts/kconfig/symbol.c accepts both for hex).
            var ok = !valueBytes.isEmpty
            for (i, b) in valueBytes.enumerated() {
                let digit = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
                let sign = i == 0 && (b == UInt8(ascii: "-") || b == UInt8(ascii: "+"))
                let hexMark = i == 1 && (b == UInt8(ascii: "x") || b == UInt8(ascii: "X")) && valueBytes[0] == 0x30
                if !(digit || sign || hexMark) { ok = false; break }
            }
            if !ok {
                let shown = String(decoding: valueBytes, as: UTF8.self)
                throw malformed("invalid value '\(shown)' for \(self.prefix)\(name): expected y, m, n, a number or a quoted string",
                                column: valueStart + 1)
            }
            value = .number(String(decoding: valueBytes, as: UTF8.self))
        }
        addEntry(Entry(name: name, value: value, location: location), text: text, terminator: terminator)
    }

    private mutating func addEntry(_ entry: Entry, text: String, terminator: String) {
        let index = entries.count
        if let previous = effective[entry.name] {
            // The later assignment wins, as in conf_read_simple(), which warns
            // "override: reassigning to symbol X".
            let earlier = entries[previous].location
            warnings.append(Warning(
                "override: reassigning to symbol \(entry.name) (line \(entry.location.line) overrides line \(earlier.line))",
                at: entry.location))
        }
        entries.append(entry)
        effective[entry.name] = index
        lines.append(Line(text: text, terminator: terminator, kind: .entry(index)))
    }

    // MARK: - Queries

    /// The effective entry for a symbol (without prefix): the last assignment in the file.
    public subscript(name: String) -> Entry? {
        effective[name].map { entries[$0] }
    }

    /// The effective value of a symbol, or nil if the file does not mention it.
    public func value(of name: String) -> ConfigValue? { self[name]?.value }

    /// The names of all symbols the file sets, each once, in order of first appearance.
    public var names: [String] {
        var seen = Set<String>()
        return entries.compactMap { seen.insert($0.name).inserted ? $0.name : nil }
    }

    /// The effective entries, one per symbol, in order of their effective line.
    public var effectiveEntries: [Entry] {
        entries.indices.filter { effective[entries[$0].name] == $0 }.map { entries[$0] }
    }

    /// The number of distinct symbols set.
    public var count: Int { effective.count }

    /// The file's exact bytes: unchanged files reproduce byte for byte.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(lines.count * 32)
        for line in lines {
            out.append(contentsOf: line.text.utf8)
            out.append(contentsOf: line.terminator.utf8)
        }
        return out
    }

    /// The file's text: unchanged files reproduce exactly.
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
