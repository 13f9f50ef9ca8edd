import KernelKitCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KernelKitCore

/// Tokens of the Kconfig language (`%token` in `scripts/kconfig/parser.y`). The text of a
/// word, string, help text or assigned value is ``Lexer/text``, as flex's `yylval` holds
/// it beside the token: a token is one byte, so the parser's lookahead and comparisons
/// copy nothing (with the text as a payload, each copy of a token was a reference count
/// on its string, a tenth of the parse).
enum Token: UInt8 {
    case word, wordQuote, helpText, assignVal
    case eol, eof
    case bool, choice, comment, config, defBool, defTristate, `default`, depends, endchoice, endif, endmenu
    case help, hex, `if`, imply, int, mainmenu, menu, menuconfig, modules, on, prompt, range, select
    case source, string, transitional, tristate, visible
    case or, and, equal, unequal, less, lessEqual, greater, greaterEqual, not, openParen, closeParen
    case colonEqual, plusEqual
}

/// The Kconfig lexer, a hand-written port of `scripts/kconfig/lexer.l`: the same token
/// rules, the same states (strings, help text, assignment values), the same macro
/// expansion points, line counting and warnings.
final class Lexer {
    struct Buffer {
        var bytes: [UInt8]
        /// The same bytes, owned by ``ScanBytes``, for the scan to read through a plain
        /// pointer (``scanned``).
        let owned: ScanBytes
        var pos: Int
        var lineno: Int
        var filename: String
        /// The line of the `source` statement that opened the next buffer.
        var sourceLineno: Int

        init(bytes: [UInt8], filename: String) {
            self.bytes = bytes
            owned = ScanBytes(bytes)
            pos = 0
            lineno = 1
            self.filename = filename
            sourceLineno = 0
        }

        /// Valid while this buffer is: `owned` holds the memory.
        var scanned: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(owned.buffer) }
    }

    /// A copy of a file's bytes in memory of its own, for the scan.
    ///
    /// Why: the scan ran inside `bytes.withUnsafeBufferPointer`, which retained and
    /// released the array's storage for every token (14 M instructions of a warm
    /// olddefconfig of the x86 tree: 341,000 of each). A pointer into memory this object
    /// owns is a plain value; a pointer kept from `withUnsafeBufferPointer` would not be
    /// valid outside its closure. The copy costs one allocation per file.
    final class ScanBytes {
        let buffer: UnsafeMutableBufferPointer<UInt8>
        init(_ bytes: [UInt8]) {
            buffer = .allocate(capacity: bytes.count)
            _ = buffer.initialize(fromContentsOf: bytes)
        }
        deinit { buffer.deallocate() }
    }

    enum State { case initial, assignVal, help }

    var stack: [Buffer] = []
    /// Every file read so far, with where it was first sourced (`file_lookup()` in util.c).
    private var included: [String: (String, Int)] = [:]
    var current: Buffer
    var state = State.initial
    private var prevToken = Token.eol
    private var prevPrevToken = Token.eol
    /// The text of the last word, string or assigned value returned.
    var text: String {
        if let word = pendingWord {
            storedText = String(decoding: word.bytes, as: UTF8.self)
            pendingWord = nil
        }
        return storedText
    }
    private var storedText = ""
    /// The last word's bytes, while its String has not been asked for. Most words name
    /// symbols, which the parser looks up by their bytes (``withText(_:)``): making a
    /// String of each cost an allocation for every name longer than 15 bytes (about
    /// 50,000 on the x86 tree) and hashing the name through the String.
    private var pendingWord: PendingWord?
    private struct PendingWord {
        /// Keeps `bytes` valid if the file is left before the text is read.
        let owner: ScanBytes
        let bytes: UnsafeBufferPointer<UInt8>
    }

    private func setText(_ value: String) {
        storedText = value
        pendingWord = nil
    }

    /// `body` with the bytes of ``text``, made into a String only if it was one already.
    func withText<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if let word = pendingWord { return withExtendedLifetime(word.owner) { body(word.bytes) } }
        return storedText.utf8.withContiguousStorageIfAvailable(body) ?? {
            var copy = storedText
            return copy.withUTF8(body)
        }()
    }
    /// The last help text returned (``Token/helpText``).
    private(set) var help: HelpText?
    /// The line of the current statement (`cur_lineno`).
    private(set) var statementLine = 1
    let preprocessor: Preprocessor
    let warn: (String) -> Void
    let srctree: String?

    /// The keyword a word spells, if any (lexer.l's keyword rules).
    ///
    /// A word is packed into two integers, its first 8 bytes and the rest (little-endian,
    /// the longest keyword has 12), and matched against constants: no String is made and
    /// no table is touched for the words that are symbol names, most of them longer than
    /// any keyword. A table of keyword byte arrays cost a retain and release per candidate
    /// (3% of the parse). Words hold no NUL bytes, so the packed value is the word.
    /// `LexerKeywordTests` checks every constant against its keyword's spelling.
    static func keyword(_ word: UnsafeBufferPointer<UInt8>) -> Token? {
        // Every keyword starts with a lower-case letter; most symbol names do not.
        guard word.count >= 2, word.count <= 12, word[0] >= UInt8(ascii: "a") else { return nil }
        let (lo, hi) = pack(word)
        return switch (lo, hi) {
        case (0x6c6f6f62, 0x0): .bool // bool
        case (0x6563696f6863, 0x0): .choice // choice
        case (0x746e656d6d6f63, 0x0): .comment // comment
        case (0x6769666e6f63, 0x0): .config // config
        case (0x6c6f6f625f666564, 0x0): .defBool // def_bool
        case (0x736972745f666564, 0x65746174): .defTristate // def_tristate
        case (0x746c7561666564, 0x0): .default // default
        case (0x73646e65706564, 0x0): .depends // depends
        case (0x63696f6863646e65, 0x65): .endchoice // endchoice
        case (0x6669646e65, 0x0): .endif // endif
        case (0x756e656d646e65, 0x0): .endmenu // endmenu
        case (0x706c6568, 0x0): .help // help
        case (0x786568, 0x0): .hex // hex
        case (0x6669, 0x0): .if // if
        case (0x796c706d69, 0x0): .imply // imply
        case (0x746e69, 0x0): .int // int
        case (0x756e656d6e69616d, 0x0): .mainmenu // mainmenu
        case (0x756e656d, 0x0): .menu // menu
        case (0x666e6f63756e656d, 0x6769): .menuconfig // menuconfig
        case (0x73656c75646f6d, 0x0): .modules // modules
        case (0x6e6f, 0x0): .on // on
        case (0x74706d6f7270, 0x0): .prompt // prompt
        case (0x65676e6172, 0x0): .range // range
        case (0x7463656c6573, 0x0): .select // select
        case (0x656372756f73, 0x0): .source // source
        case (0x676e69727473, 0x0): .string // string
        case (0x697469736e617274, 0x6c616e6f): .transitional // transitional
        case (0x6574617473697274, 0x0): .tristate // tristate
        case (0x656c6269736976, 0x0): .visible // visible
        default: nil
        }
    }

    /// The first 8 bytes and the next 8 of a word, little-endian, zero-padded.
    ///
    /// Each half is read with at most two loads that stay inside the word: for 4 to 8
    /// bytes, the first four and the last four, which overlap on equal bytes, so OR-ing
    /// them puts every byte in its place (likewise two 2-byte loads for 2 or 3 bytes). A
    /// loop over the bytes was 2% of a warm olddefconfig's instructions.
    static func pack(_ word: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64) {
        guard let base = word.baseAddress else { return (0, 0) }
        let raw = UnsafeRawPointer(base)
        let n = min(word.count, 16)
        func part(_ offset: Int, _ count: Int) -> UInt64 {
            switch count {
            case 8: return UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            case 4...7:
                let first = UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                let last = UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + count - 4, as: UInt32.self)))
                return first | last << (8 * (count - 4))
            case 2...3:
                let first = UInt64(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                let last = UInt64(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset + count - 2, as: UInt16.self)))
                return first | last << (8 * (count - 2))
            case 1: return UInt64(base[offset])
            default: return 0
            }
        }
        return n > 8 ? (part(0, 8), part(8, n - 8)) : (part(0, n), 0)
    }

    /// The offset of the next newline at or after `from` in the current buffer, or its end.
    private func newline(from: Int) -> Int {
        current.bytes.withUnsafeBufferPointer { b in b.firstOffset(of: 0x0A, in: min(from, b.count)..<b.count) ?? b.count }
    }

    /// The `{n}` class of lexer.l, plus `$` for the word rule that expands.
    static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
            || b == 0x2D || b == 0x24
    }

    init(file: String, bytes: [UInt8], srctree: String?, preprocessor: Preprocessor, warn: @escaping (String) -> Void) {
        current = Buffer(bytes: bytes, filename: file)
        included[file] = ("", 0)
        self.srctree = srctree
        self.preprocessor = preprocessor
        self.warn = warn
    }

    var filename: String { current.filename }
    var lineno: Int { current.lineno }

    /// `zconf_nextfile()`.
    func pushFile(_ name: String, bytes: [UInt8]) throws(KernelKitError) {
        var saved = current
        saved.sourceLineno = statementLine
        stack.append(saved)
        if stack.contains(where: { $0.filename == name }) {
            var message = "Recursive inclusion detected.\nInclusion path:\n  current file : \(name)\n"
            for buf in ([saved] + stack.dropLast().reversed()) {
                message += "  included from: \(buf.filename):\(buf.sourceLineno)\n"
            }
            throw KernelKitError(.kconfig, message)
        }
        if let (parent, line) = included[name] {
            throw KernelKitError(.kconfig, "\(saved.filename):\(statementLine): error: repeated inclusion of \(name)\n"
                                     + "\(parent):\(line): note: location of first inclusion of \(name)\n")
        }
        included[name] = (saved.filename, statementLine)
        current = Buffer(bytes: bytes, filename: name)
    }

    /// The second-stage lexer (`yylex()`): drops blank statements, tracks the statement
    /// line, and switches to the assignment-value state after `WORD =`.
    func next() throws -> Token {
        var token: Token
        repeat {
            token = try raw()
            if prevToken == .eol || prevToken == .helpText {
                if token == .eol { continue }
                statementLine = current.lineno
            }
            break
        } while true
        if prevPrevToken == .eol, prevToken == .word,
           token == .equal || token == .colonEqual || token == .plusEqual {
            state = .assignVal
        }
        prevPrevToken = prevToken
        prevToken = token
        return token
    }

    func startHelp() { state = .help }

    private func peekByte() -> UInt8? {
        current.pos < current.bytes.count ? current.bytes[current.pos] : nil
    }

    private func endOfFile() -> Token {
        state = .initial
        if prevToken != .eol && prevToken != .helpText {
            warn("\(current.filename):\(current.lineno):warning: no new line at end of file\n")
        }
        if let parent = stack.popLast() {
            current = parent
            return .eol
        }
        return .eof
    }

    private func raw() throws -> Token {
        switch state {
        case .assignVal: return assignValue()
        case .help: return helpText()
        case .initial: break
        }
        // `b` is read only while `current` is this buffer: the one call that changes
        // buffers, endOfFile(), returns at once.
        let b = current.scanned
        do {
            while true {
                guard current.pos < b.count else { return endOfFile() }
                let c = b[current.pos]
                switch c {
                case UInt8(ascii: "#"):
                    current.pos = b.firstOffset(of: 0x0A, in: current.pos ..< b.count) ?? b.count
                case 0x20, 0x09:
                    current.pos += 1
                case UInt8(ascii: "\\") where current.pos + 1 < b.count && b[current.pos + 1] == 0x0A:
                    current.pos += 2
                    current.lineno += 1
                case 0x0A:
                    current.pos += 1
                    current.lineno += 1
                    return .eol
                case UInt8(ascii: "\""), UInt8(ascii: "'"):
                    current.pos += 1
                    return try quoted(open: c)
                case _ where Self.isWordByte(c):
                    let start = current.pos
                    var end = start
                    var hasDollar = false
                    while end < b.count && Self.isWordByte(b[end]) {
                        if b[end] == UInt8(ascii: "$") { hasDollar = true }
                        end += 1
                    }
                    if hasDollar {
                        let (value, stop) = try preprocessor.expandToken(current.bytes, from: current.pos)
                        current.pos = stop
                        if !value.isEmpty {
                            setText(value)
                            return .word
                        }
                        continue
                    }
                    current.pos = end
                    let word = UnsafeBufferPointer(rebasing: b[start..<end])
                    if let keyword = Self.keyword(word) { return keyword }
                    pendingWord = PendingWord(owner: current.owned, bytes: word)
                    return .word
                default:
                    let c1: UInt8? = current.pos + 1 < b.count ? b[current.pos + 1] : nil
                    let two: Token? = switch (c, c1) {
                    case (UInt8(ascii: "|"), UInt8(ascii: "|")): .or
                    case (UInt8(ascii: "&"), UInt8(ascii: "&")): .and
                    case (UInt8(ascii: "!"), UInt8(ascii: "=")): .unequal
                    case (UInt8(ascii: "<"), UInt8(ascii: "=")): .lessEqual
                    case (UInt8(ascii: ">"), UInt8(ascii: "=")): .greaterEqual
                    case (UInt8(ascii: ":"), UInt8(ascii: "=")): .colonEqual
                    case (UInt8(ascii: "+"), UInt8(ascii: "=")): .plusEqual
                    default: nil
                    }
                    if let two {
                        current.pos += 2
                        return two
                    }
                    current.pos += 1
                    switch c {
                    case UInt8(ascii: "="): return .equal
                    case UInt8(ascii: "<"): return .less
                    case UInt8(ascii: ">"): return .greater
                    case UInt8(ascii: "!"): return .not
                    case UInt8(ascii: "("): return .openParen
                    case UInt8(ascii: ")"): return .closeParen
                    default:
                        warn("\(current.filename):\(current.lineno):warning: ignoring unsupported character '\(Character(UnicodeScalar(c)))'\n")
                    }
                }
            }
        }
    }

    /// The STRING state: quotes, backslash escapes, and `$(...)` expanded in place.
    private func quoted(open: UInt8) throws -> Token {
        // The usual string (a prompt, a path): no escape, no `$`, closed on its line. Its
        // text is made from the buffer at once instead of byte by byte.
        let b = current.scanned
        var close = current.pos
        scan: while close < b.count {
            switch b[close] {
            case open: break scan
            case UInt8(ascii: "$"), UInt8(ascii: "\\"), 0x0A: close = b.count
            default: close += 1
            }
        }
        if close < b.count {
            setText(String(decoding: UnsafeBufferPointer(rebasing: b[current.pos ..< close]), as: UTF8.self))
            current.pos = close + 1
            return .wordQuote
        }
        var chars = [UInt8]()
        while true {
            guard let c = peekByte() else {
                state = .initial
                return string(chars)
            }
            switch c {
            case UInt8(ascii: "$"):
                let (value, stop) = try preprocessor.expandDollar(current.bytes, at: current.pos + 1)
                chars += Array(value.utf8)
                current.pos = stop
            case UInt8(ascii: "\\"):
                current.pos += 1
                if let n = peekByte(), n != 0x0A {
                    chars.append(n)
                    current.pos += 1
                }
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                current.pos += 1
                if c == open { return string(chars) }
                chars.append(c)
            case 0x0A:
                warn("\(current.filename):\(statementLine):warning: multi-line strings not supported\n")
                return string(chars)
            default:
                chars.append(c)
                current.pos += 1
            }
        }
    }

    private func string(_ chars: [UInt8]) -> Token {
        setText(String(decoding: chars, as: UTF8.self))
        return .wordQuote
    }

    /// The ASSIGN_VAL state: the rest of the line after leading blanks.
    private func assignValue() -> Token {
        while let c = peekByte(), c == 0x20 || c == 0x09 { current.pos += 1 }
        guard let c = peekByte() else { return endOfFile() }
        if c == 0x0A {
            current.pos += 1
            current.lineno += 1
            state = .initial
            return .eol
        }
        let start = current.pos
        current.pos = newline(from: start)
        setText(String(decoding: current.bytes[start..<current.pos], as: UTF8.self))
        return .assignVal
    }

    /// The HELP state: indented lines, with indentation relative to the first line. The
    /// text is only delimited here (``help``); its string is made when someone reads it.
    private func helpText() -> Token {
        let start = current.pos
        let scan = current.bytes.withUnsafeBufferPointer { Self.scanHelp($0, from: start, build: false) }
        current.pos = scan.end
        current.lineno += scan.lines
        state = .initial
        help = HelpText(bytes: current.bytes, start: start, isBlank: scan.blank)
        return .helpText
    }

    /// lexer.l's HELP state from `start`, the line after `help`: where the text ends, how
    /// many newlines it spans, whether it is blank, and with `build`, its bytes: each line
    /// less the first line's indentation (a tab to the next multiple of 8), trailing blanks
    /// removed. Blank is parser.y's test, `strspn(text, " \f\n\r\t\v")` reaching the end:
    /// the text's other bytes are newlines and indentation, so its lines decide.
    static func scanHelp(_ b: UnsafeBufferPointer<UInt8>, from start: Int, build: Bool)
        -> (end: Int, lines: Int, blank: Bool, bytes: [UInt8]) {
        var chars = [UInt8]()
        var pos = start
        var lines = 0
        var blank = true
        var firstTS = 0
        var lastTS = 0
        while pos < b.count {
            // [ \t]+ at the start of a line
            var ts = 0
            var p = pos
            while p < b.count, b[p] == 0x20 || b[p] == 0x09 {
                ts = b[p] == 0x09 ? (ts & ~7) + 8 : ts + 1
                p += 1
            }
            let atEnd = p >= b.count
            if !atEnd && b[p] == 0x0A {
                // [ \t]*\n, ending the help when the next line starts with a non-blank.
                pos = p + 1
                lines += 1
                if pos < b.count, case let n = b[pos], n != 0x20 && n != 0x09 && n != 0x0A { break }
                if build { chars.append(0x0A) }
                continue
            }
            if p > pos {
                lastTS = ts
                pos = p
                if firstTS != 0 {
                    if ts < firstTS { break }
                    if build { chars.append(contentsOf: repeatElement(0x20, count: ts - firstTS)) }
                }
            }
            if atEnd { break }
            // [^ \t\n].*  : the text, trailing blanks removed
            let lineStart = pos
            pos = b.firstOffset(of: 0x0A, in: lineStart ..< b.count) ?? b.count
            var end = pos
            while end > lineStart, b[end - 1] == 0x20 || b[end - 1] == 0x09 { end -= 1 }
            if blank {
                blank = b[lineStart ..< end].allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0C || $0 == 0x0B }
            }
            if build { chars.append(contentsOf: UnsafeBufferPointer(rebasing: b[lineStart ..< end])) }
            if firstTS == 0 { firstTS = lastTS }
        }
        return (pos, lines, blank, chars)
    }
}

/// A help text where the lexer found it, made into a string on first use: a tree has some
/// 15,000, which a resolve never reads (helpnewconfig, `config why` and conf's `?` do).
/// Building each one as it was lexed was a twelfth of parsing the x86 tree. It holds the
/// file's bytes (the array the lexer read, not a copy).
struct HelpText {
    let bytes: [UInt8]
    let start: Int
    /// parser.y's blank test, known from the lexer's scan without making the text.
    let isBlank: Bool

    var text: String {
        bytes.withUnsafeBufferPointer { String(decoding: Lexer.scanHelp($0, from: start, build: true).bytes, as: UTF8.self) }
    }
}
