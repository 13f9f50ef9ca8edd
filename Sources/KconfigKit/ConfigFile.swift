import KernelKitCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
///
/// The file is validated completely when parsed, but kept compact: each line and each
/// entry is a small record of offsets into the file's bytes, and names and values become
/// Swift strings only when asked for. A 14,500-line config parses in about 1 ms, and a
/// process that diffs two configs stays small (page faults cost more than parsing here).
public struct ConfigFile: Sendable {
    /// How a line of the file was understood.
    public enum LineKind: Hashable, Sendable {
        case blank
        case comment
        /// The kernel-ark arch marker (`# x86_64`) on line 1; ``ConfigFile/archMarker`` names it.
        case archMarker
        /// An assignment or "is not set" line; the payload indexes ``entries``.
        case entry(Int)
    }

    /// How a line ends.
    public enum LineEnd: UInt8, Hashable, Sendable {
        /// The last line of a file that does not end in a newline.
        case none
        case lf
        case crlf

        var bytes: [UInt8] {
            switch self {
            case .none: []
            case .lf: [0x0A]
            case .crlf: [0x0D, 0x0A]
            }
        }
    }

    /// One physical line: where its text lies in the file, its line end, and its kind.
    public struct Line: Hashable, Sendable {
        fileprivate var start: Int32
        fileprivate var length: Int32
        fileprivate var entryIndex: Int32
        public let terminator: LineEnd
        fileprivate var tag: UInt8 // 0 blank, 1 comment, 2 arch marker, 3 entry

        /// The byte range of the text, without the line end, in ``ConfigFile/storage``.
        public var range: Range<Int> { Int(start)..<Int(start + length) }

        public var kind: LineKind {
            switch tag {
            case 0: .blank
            case 1: .comment
            case 2: .archMarker
            default: .entry(Int(entryIndex))
            }
        }
    }

    /// One option set by the file.
    public struct Entry: Hashable, Sendable {
        /// The symbol name without the prefix: `MODULE_SIG` for `CONFIG_MODULE_SIG`.
        public var name: String
        public var value: ConfigValue
        public var location: SourceLocation
    }

    /// An entry as parsed: offsets into ``storage``, 16 bytes. The value starts right
    /// after the name's `=`, and its form (y/m/n, string, number) is read off its first
    /// byte when asked for: a diff process pays for every page of memory it touches.
    fileprivate struct Record: Sendable {
        var nameStart: Int32
        var nameLength: Int32
        /// -1 for "# CONFIG_X is not set".
        var valueLength: Int32
        var line: Int32

        var isNotSet: Bool { valueLength < 0 }
        var nameRange: Range<Int> { Int(nameStart)..<Int(nameStart + nameLength) }
        var valueStart: Int { Int(nameStart + nameLength) + 1 }
        var valueRange: Range<Int> { isNotSet ? valueStart..<valueStart : valueStart..<(valueStart + Int(valueLength)) }
    }

    /// The entries of a file in file order, duplicates included; built on access.
    public struct Entries: RandomAccessCollection, Sendable {
        fileprivate let file: ConfigFile
        public var startIndex: Int { 0 }
        public var endIndex: Int { file.records.count }
        public subscript(position: Int) -> Entry { file.entry(at: position) }
    }

    /// The path the file was read from, as given; used in diagnostics.
    public let path: String
    /// The symbol prefix: `CONFIG_`, or the value of the `CONFIG_` environment variable,
    /// which the kernel's tools honour (`CONFIG_prefix()` in `scripts/kconfig/lkc.h`).
    public let prefix: String
    /// The bytes the file was parsed from; ``Line/range`` indexes them.
    public let storage: [UInt8]
    /// Every physical line, in order (rebuilt from ``storage`` on each access when the file
    /// was parsed without keeping them).
    public var lines: [Line] {
        if let storedLines { return storedLines }
        // The bytes parsed once already, so this parse cannot fail.
        return (try? ConfigFile(bytes: storage, path: path, prefix: prefix, validated: true, keepingLines: true))?
            .storedLines ?? []
    }
    private var storedLines: [Line]?
    fileprivate private(set) var records: [Record]
    /// Whether diffconfig would read some line other than a "# CONFIG_X is not set" entry
    /// as one (any line ending in " is not set"); see ``readsAsDiffconfigDoes``.
    private var notSetLookalike = false
    private var lastTerminator = LineEnd.lf
    /// Duplicate assignments and other findings that are not errors.
    public private(set) var warnings: [Warning]
    /// The kernel-ark arch marker from line 1, if present.
    public private(set) var archMarker: String?
    /// Name to the index in ``entries`` of its effective (last) assignment.
    private var effective: SymbolIndex

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
    /// - Parameter keepingLines: false leaves out the per-line records, for callers that
    ///   only need the entries (``lines``, ``bytes`` and ``text`` then re-read
    ///   ``storage`` on each access): `config diff` uses it.
    public init(contentsOf path: String, prefix: String = ConfigFile.environmentPrefix,
                keepingLines: Bool = true) throws(KernelKitError) {
        let bytes = try InputFile.readText(path)
        try self.init(bytes: bytes, path: path, prefix: prefix, validated: true, keepingLines: keepingLines)
    }

    /// Parses bytes already in memory.
    public init(bytes: [UInt8], path: String = "<input>", prefix: String = "CONFIG_") throws(KernelKitError) {
        try self.init(bytes: bytes, path: path, prefix: prefix, validated: false)
    }

    /// Parses text already in memory.
    public init(text: String, path: String = "<input>", prefix: String = "CONFIG_") throws(KernelKitError) {
        try self.init(bytes: Array(text.utf8), path: path, prefix: prefix, validated: true)
    }

    private init(bytes: [UInt8], path: String, prefix: String, validated: Bool, keepingLines: Bool = true) throws(KernelKitError) {
        if !validated { try InputFile.validateText(bytes, file: path) }
        guard bytes.count < Int(Int32.max) else {
            throw KernelKitError(.malformedLine, "file too large for a kernel config (\(bytes.count) bytes)",
                                 at: SourceLocation(file: path, line: 0))
        }
        self.path = path
        self.prefix = prefix
        self.storage = bytes
        self.storedLines = keepingLines ? [] : nil
        self.records = []
        self.warnings = []
        self.archMarker = nil
        // Count lines first so that nothing regrows while parsing.
        let lineCount = 1 + bytes.withUnsafeBufferPointer { $0.count(of: 0x0A) }
        self.effective = SymbolIndex(expected: lineCount)
        storedLines?.reserveCapacity(lineCount)
        records.reserveCapacity(lineCount)
        let prefixBytes = Array(prefix.utf8)
        try bytes.withUnsafeBufferPointer { (buffer) throws(KernelKitError) in
            var start = 0
            var lineNumber = 0
            let count = buffer.count
            while start < count {
                lineNumber += 1
                let end = buffer.firstOffset(of: 0x0A, in: start..<count) ?? count
                var textEnd = end
                let terminator: LineEnd
                if end < count {
                    if textEnd > start && buffer[textEnd - 1] == 0x0D {
                        textEnd -= 1
                        terminator = .crlf
                    } else {
                        terminator = .lf
                    }
                } else {
                    terminator = .none
                }
                try parseLine(buffer, start: start, end: textEnd, number: lineNumber, terminator: terminator,
                              prefix: prefixBytes)
                lastTerminator = terminator
                start = end + 1
            }
        }
    }

    private static let notSetSuffix = Array(" is not set".utf8)

    private static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
    }

    /// True when every byte in `range` is a name byte ([A-Za-z0-9_]); no early exit, so
    /// the loop vectorises.
    @inline(__always)
    private static func allNameBytes(_ buffer: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        var bad: UInt8 = 0
        for i in range {
            let b = buffer[i]
            let digit: UInt8 = b &- 0x30 < 10 ? 1 : 0
            let letter: UInt8 = (b | 0x20) &- 0x61 < 26 ? 1 : 0
            let underscore: UInt8 = b == 0x5F ? 1 : 0
            bad |= (digit | letter | underscore) ^ 1
        }
        return bad == 0
    }

    private static func matches(_ buffer: UnsafeBufferPointer<UInt8>, _ literal: [UInt8], at offset: Int, end: Int) -> Bool {
        if end - offset < literal.count { return false }
        for i in 0..<literal.count where buffer[offset + i] != literal[i] { return false }
        return true
    }

    private mutating func parseLine(_ buffer: UnsafeBufferPointer<UInt8>, start: Int, end: Int, number: Int,
                                    terminator: LineEnd, prefix: [UInt8]) throws(KernelKitError) {
        func malformed(_ message: String, at offset: Int) -> KernelKitError {
            KernelKitError(.malformedLine, message, at: SourceLocation(file: path, line: number, column: offset - start + 1))
        }
        func addLine(_ tag: UInt8, entry: Int = 0) {
            if tag != 3 || records[entry].valueLength >= 0, end - start >= Self.notSetSuffix.count,
               Self.matches(buffer, Self.notSetSuffix, at: end - Self.notSetSuffix.count, end: end) {
                notSetLookalike = true
            }
            storedLines?.append(Line(start: Int32(start), length: Int32(end - start), entryIndex: Int32(entry),
                                     terminator: terminator, tag: tag))
        }
        // Blank, or only white space: the kernel warns about white space ("unexpected data")
        // but nothing is lost by reading it as blank, and hand-written fragments have it.
        var blank = true
        for i in start..<end where buffer[i] != 0x20 && buffer[i] != 0x09 && buffer[i] != 0x0D {
            blank = false
            break
        }
        if blank { return addLine(0) }
        if buffer[start] == UInt8(ascii: "#") {
            // "# CONFIG_X is not set", matched exactly as conf_read_simple() does: "# ",
            // the prefix, the name up to the first space, then exactly "is not set".
            let notSet = Self.notSetSuffix
            if end - start > 2 + prefix.count + notSet.count, buffer[start + 1] == 0x20,
               Self.matches(buffer, prefix, at: start + 2, end: end) {
                let nameStart = start + 2 + prefix.count
                let nameEnd = buffer.firstOffset(of: 0x20, in: nameStart..<end) ?? end
                if nameEnd > nameStart, end - nameEnd == notSet.count,
                   Self.matches(buffer, notSet, at: nameEnd, end: end),
                   Self.allNameBytes(buffer, nameStart..<nameEnd) {
                    let index = addRecord(buffer, Record(nameStart: Int32(nameStart), nameLength: Int32(nameEnd - nameStart),
                                                         valueLength: -1, line: Int32(number)))
                    return addLine(3, entry: index)
                }
            }
            if number == 1, end - start > 2, buffer[start + 1] == 0x20 {
                let word = String(decoding: UnsafeBufferPointer(rebasing: buffer[(start + 2)..<end]), as: UTF8.self)
                if Self.knownArchMarkers.contains(word) {
                    archMarker = word
                    return addLine(2)
                }
            }
            return addLine(1)
        }
        guard Self.matches(buffer, prefix, at: start, end: end) else {
            // conf_read_simple() words this "unexpected data".
            throw malformed("unexpected data: expected '\(self.prefix)NAME=VALUE', '# \(self.prefix)NAME is not set' or a comment",
                            at: start)
        }
        let nameStart = start + prefix.count
        // The common case, a well-formed name: find the '=' with memchr and check the bytes
        // before it in one branch-free pass, rather than a byte-by-byte loop that has to
        // decide at every byte whether the name goes on.
        var nameEnd = buffer.firstOffset(of: UInt8(ascii: "="), in: nameStart..<end) ?? end
        if nameEnd == nameStart || nameEnd == end || !Self.allNameBytes(buffer, nameStart..<nameEnd) {
            nameEnd = nameStart
            while nameEnd < end && Self.isNameByte(buffer[nameEnd]) { nameEnd += 1 }
            if nameEnd == nameStart {
                throw malformed("missing symbol name after '\(self.prefix)'", at: nameStart)
            }
            throw malformed("unexpected data: expected '=' after the symbol name", at: nameEnd)
        }
        let valueStart = nameEnd + 1
        if end - valueStart == 1, Tristate(byte: buffer[valueStart]) != nil {
            // y, m or n
        } else if valueStart < end && buffer[valueStart] == UInt8(ascii: "\"") {
            // confdata.c, conf_set_sym_val(): a backslash keeps the next character
            // whatever it is, and the string ends at the first unescaped quote.
            var i = valueStart + 1
            var closed = false
            while i < end {
                let b = buffer[i]
                if b == UInt8(ascii: "\\") {
                    i += 2
                    continue
                }
                if b == UInt8(ascii: "\"") {
                    closed = true
                    break
                }
                i += 1
            }
            if !closed {
                // The kernel's wording is "invalid string found".
                throw malformed("invalid string found: no closing quote", at: valueStart)
            }
            if i + 1 < end {
                throw malformed("unexpected data after the closing quote", at: i + 1)
            }
        } else {
            // Numbers: decimal with an optional sign, or hex with or without 0x
            // (sym_string_valid() in scripts/kconfig/symbol.c accepts both for hex).
            var ok = end > valueStart
            for i in valueStart..<end {
                let b = buffer[i]
                let digit = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
                let sign = i == valueStart && (b == UInt8(ascii: "-") || b == UInt8(ascii: "+"))
                let hexMark = i == valueStart + 1 && (b == UInt8(ascii: "x") || b == UInt8(ascii: "X"))
                    && buffer[valueStart] == 0x30
                if !(digit || sign || hexMark) { ok = false; break }
            }
            if !ok {
                let shown = String(decoding: UnsafeBufferPointer(rebasing: buffer[valueStart..<end]), as: UTF8.self)
                let name = String(decoding: UnsafeBufferPointer(rebasing: buffer[nameStart..<nameEnd]), as: UTF8.self)
                throw malformed("invalid value '\(shown)' for \(self.prefix)\(name): expected y, m, n, a number or a quoted string",
                                at: valueStart)
            }
        }
        let index = addRecord(buffer, Record(nameStart: Int32(nameStart), nameLength: Int32(nameEnd - nameStart),
                                             valueLength: Int32(end - valueStart), line: Int32(number)))
        addLine(3, entry: index)
    }

    /// Appends a record and points its name at it; warns when that replaces an earlier one.
    private mutating func addRecord(_ buffer: UnsafeBufferPointer<UInt8>, _ record: Record) -> Int {
        let index = records.count
        records.append(record)
        let name = record.nameRange
        let base = buffer.baseAddress!
        let previous = records.withUnsafeBufferPointer { all in
            effective.update(hash: SymbolIndex.hash(UnsafeBufferPointer(rebasing: buffer[name])), entry: index, matches: { c in
                let r = all[c]
                return Int(r.nameLength) == name.count && memcmp(base + Int(r.nameStart), base + name.lowerBound, name.count) == 0
            }, rehash: { SymbolIndex.hash(UnsafeBufferPointer(rebasing: buffer[all[$0].nameRange])) })
        }
        if let previous {
            // The later assignment wins, as in conf_read_simple(), which warns
            // "override: reassigning to symbol X".
            let nameText = String(decoding: UnsafeBufferPointer(rebasing: buffer[name]), as: UTF8.self)
            warnings.append(Warning(
                "override: reassigning to symbol \(nameText) (line \(record.line) overrides line \(records[previous].line))",
                at: SourceLocation(file: path, line: Int(record.line))))
        }
        return index
    }

    // MARK: - Entries

    fileprivate func entry(at index: Int) -> Entry {
        let r = records[index]
        let name = String(decoding: storage[r.nameRange], as: UTF8.self)
        let value: ConfigValue
        let first = r.isNotSet ? nil : storage[r.valueStart]
        // The forms parseLine accepted: y/m/n alone, a quoted string, else a number.
        if r.isNotSet {
            value = .notSet
        } else if r.valueLength == 1, let t = Tristate(byte: first!) {
            value = .tristate(t)
        } else if first != UInt8(ascii: "\"") {
            value = .number(String(decoding: storage[r.valueRange], as: UTF8.self))
        } else {
            var decoded = [UInt8]()
            let raw = storage[r.valueRange].dropFirst()
            var i = raw.startIndex
            while i < raw.endIndex {
                let b = raw[i]
                if b == UInt8(ascii: "\"") { break }
                if b == UInt8(ascii: "\\") {
                    i += 1
                    if i < raw.endIndex { decoded.append(raw[i]) }
                } else {
                    decoded.append(b)
                }
                i += 1
            }
            value = .string(String(decoding: decoded, as: UTF8.self))
        }
        return Entry(name: name, value: value, location: SourceLocation(file: path, line: Int(r.line)))
    }

    /// Every assignment in file order, duplicates included.
    public var entries: Entries { Entries(file: self) }

    /// The index in ``entries`` of the effective entry for a name given as bytes.
    func effectiveIndex(of name: UnsafeBufferPointer<UInt8>) -> Int? {
        storage.withUnsafeBufferPointer { buffer in
            records.withUnsafeBufferPointer { all in
                effective.find(hash: SymbolIndex.hash(name)) { c in
                    let r = all[c]
                    return Int(r.nameLength) == name.count
                        && memcmp(buffer.baseAddress! + Int(r.nameStart), name.baseAddress!, name.count) == 0
                }
            }
        }
    }

    /// Visits each effective entry of this file (in no particular order) with its index
    /// here, the index of the same name's effective entry in `other` (nil when absent),
    /// and whether the two raw values are equal as diffconfig compares them (`is not
    /// set` reads as `n`). All on the files' bytes: no strings are built, which keeps a
    /// whole-config diff to a few hundred microseconds.
    func compareEffective(with other: ConfigFile, _ visit: (_ here: Int, _ there: Int?, _ sameValue: Bool) -> Void) {
        let indices: [Int] = effective.count == records.count ? [] : effective.entryIndices
        storage.withUnsafeBufferPointer { mine in
        records.withUnsafeBufferPointer { myRecords in
        other.storage.withUnsafeBufferPointer { theirs in
        other.records.withUnsafeBufferPointer { theirRecords in
            guard let mb = mine.baseAddress, !myRecords.isEmpty else { return }
            let tb = theirs.baseAddress
            func value(_ r: Record, _ base: UnsafePointer<UInt8>) -> (UnsafePointer<UInt8>?, Int) {
                r.isNotSet ? (nil, 1) : (base + r.valueStart, Int(r.valueLength))
            }
            func same(_ a: (UnsafePointer<UInt8>?, Int), _ b: (UnsafePointer<UInt8>?, Int)) -> Bool {
                guard a.1 == b.1 else { return false }
                switch (a.0, b.0) {
                case (nil, nil): return true
                case (let p?, nil), (nil, let p?): return p.pointee == UInt8(ascii: "n")
                case (let p?, let q?): return memcmp(p, q, a.1) == 0
                }
            }
            func one(_ i: Int) {
                let r = myRecords[i]
                let name = mb + Int(r.nameStart), length = Int(r.nameLength)
                guard let tb, !theirRecords.isEmpty else { return visit(i, nil, false) }
                let j = other.effective.find(hash: SymbolIndex.hash(UnsafeBufferPointer(start: name, count: length))) { c in
                    let t = theirRecords[c]
                    return Int(t.nameLength) == length && memcmp(tb + Int(t.nameStart), name, length) == 0
                }
                guard let j else { return visit(i, nil, false) }
                visit(i, j, same(value(r, mb), value(theirRecords[j], tb)))
            }
            if indices.isEmpty {
                for i in 0..<myRecords.count { one(i) }
            } else {
                for i in indices { one(i) }
            }
        }
        }
        }
        }
    }

    /// Sorts items by the name of the entry each one refers to, in byte order (which is
    /// Python's `str` order for UTF-8). Names in one file's effective entries are unique,
    /// so stability does not matter, and a heapsort in place needs no buffer: the
    /// standard library's stable sort allocates its run stack as `[Range<Int>]`, whose
    /// generic metadata a fresh process must first instantiate by scanning every protocol
    /// conformance in the binary (about 80 µs, a fiftieth of a whole `config diff`).
    func sortByName<T>(_ items: inout [T], entry: (T) -> Int) {
        storage.withUnsafeBufferPointer { buffer in
        records.withUnsafeBufferPointer { all in
        items.withUnsafeMutableBufferPointer { a in
            guard let base = buffer.baseAddress, a.count > 1 else { return }
            func less(_ x: T, _ y: T) -> Bool {
                let p = all[entry(x)], q = all[entry(y)]
                let c = memcmp(base + Int(p.nameStart), base + Int(q.nameStart), Int(min(p.nameLength, q.nameLength)))
                return c != 0 ? c < 0 : p.nameLength < q.nameLength
            }
            func siftDown(_ start: Int, _ end: Int) {
                var root = start
                while true {
                    var child = 2 * root + 1
                    if child >= end { return }
                    if child + 1 < end && less(a[child], a[child + 1]) { child += 1 }
                    if !less(a[root], a[child]) { return }
                    a.swapAt(root, child)
                    root = child
                }
            }
            for start in stride(from: a.count / 2 - 1, through: 0, by: -1) { siftDown(start, a.count) }
            for end in stride(from: a.count - 1, to: 0, by: -1) {
                a.swapAt(0, end)
                siftDown(0, end)
            }
        }
        }
        }
    }

    /// True when diffconfig reads this file exactly as the model does: the `CONFIG_`
    /// prefix, no carriage returns, a final newline, and no line ending in " is not set"
    /// other than the "# CONFIG_X is not set" entries (diffconfig takes any such line as
    /// one).
    var readsAsDiffconfigDoes: Bool {
        guard prefix == "CONFIG_", !notSetLookalike else { return false }
        guard !storage.isEmpty else { return true }
        guard lastTerminator == .lf else { return false }
        return storage.withUnsafeBufferPointer { $0.firstOffset(of: 0x0D, in: 0..<$0.count) == nil }
    }

    /// The effective entries' indices in ``entries``, in file order.
    var effectiveIndices: [Int] {
        if effective.count == records.count { return Array(records.indices) }
        return effective.entryIndices.sorted()
    }

    /// The bytes of an entry's name.
    func nameBytes(of index: Int) -> ArraySlice<UInt8> { storage[records[index].nameRange] }

    /// The value text exactly as written after `=`; `n` for "is not set".
    func rawValue(of index: Int) -> ArraySlice<UInt8> {
        records[index].isNotSet ? ArraySlice(Self.nByte) : storage[records[index].valueRange]
    }
    private static let nByte: [UInt8] = [UInt8(ascii: "n")]

    // MARK: - Queries

    /// The effective entry for a symbol (without prefix): the last assignment in the file.
    public subscript(name: String) -> Entry? {
        var key = name
        if key.isEmpty { return nil }
        return key.withUTF8 { effectiveIndex(of: $0) }.map { entry(at: $0) }
    }

    /// The effective value of a symbol, or nil if the file does not mention it.
    public func value(of name: String) -> ConfigValue? { self[name]?.value }

    /// The names of all symbols the file sets, each once, in order of their effective line.
    public var names: [String] {
        effectiveIndices.map { String(decoding: nameBytes(of: $0), as: UTF8.self) }
    }

    /// The effective entries, one per symbol, in order of their effective line.
    public var effectiveEntries: [Entry] { effectiveIndices.map { entry(at: $0) } }

    /// The number of distinct symbols set.
    public var count: Int { effective.count }

    /// The file's exact bytes: unchanged files reproduce byte for byte.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(storage.count)
        for line in lines {
            out.append(contentsOf: storage[line.range])
            out.append(contentsOf: line.terminator.bytes)
        }
        return out
    }

    /// The text of one line, without its line end.
    public func text(of line: Line) -> String {
        String(decoding: storage[line.range], as: UTF8.self)
    }

    /// The file's text: unchanged files reproduce exactly.
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}
