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
        var pos: Int
        var lineno: Int
        var filename: String
        /// The line of the `source` statement that opened the next buffer.
        var sourceLineno: Int
    }

    enum State { case initial, assignVal, help }

    var stack: [Buffer] = []
    /// Every file read so far, with where it was first sourced (`file_lookup()` in util.c).
    private var included: [String: (String, Int)] = [:]
    var current: Buffer
    var state = State.initial
    private var prevToken = Token.eol
    private var prevPrevToken = Token.eol
    /// The text of the last word, string, help text or assigned value returned.
    private(set) var text = ""
    /// The line of the current statement (`cur_lineno`).
    private(set) var statementLine = 1
    let preprocessor: Preprocessor
    let warn: (String) -> Void
    let srctree: String?

    /// The keywords by length, as bytes: a word is matched against the few keywords of its
    /// length before any String is made (most words are symbol names, longer than any
    /// keyword), instead of hashing every word into a dictionary.
    private static let keywordsByLength: [[([UInt8], Token)]] = {
        let keywords: KeyValuePairs<String, Token> = [
            "bool": .bool, "choice": .choice, "comment": .comment, "config": .config, "def_bool": .defBool,
            "def_tristate": .defTristate, "default": .default, "depends": .depends, "endchoice": .endchoice,
            "endif": .endif, "endmenu": .endmenu, "help": .help, "hex": .hex, "if": .if, "imply": .imply,
            "int": .int, "mainmenu": .mainmenu, "menu": .menu, "menuconfig": .menuconfig, "modules": .modules,
            "on": .on, "prompt": .prompt, "range": .range, "select": .select, "source": .source,
            "string": .string, "transitional": .transitional, "tristate": .tristate, "visible": .visible,
        ]
        var table = [[([UInt8], Token)]](repeating: [], count: keywords.map(\.key.utf8.count).max()! + 1)
        for (word, token) in keywords { table[word.utf8.count].append((Array(word.utf8), token)) }
        return table
    }()

    private static func keyword(_ word: UnsafeBufferPointer<UInt8>) -> Token? {
        guard word.count < keywordsByLength.count else { return nil }
        for (bytes, token) in keywordsByLength[word.count] where bytes.withUnsafeBufferPointer({
            memcmp($0.baseAddress!, word.baseAddress!, word.count) == 0
        }) {
            return token
        }
        return nil
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
        current = Buffer(bytes: bytes, pos: 0, lineno: 1, filename: file, sourceLineno: 0)
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
        current = Buffer(bytes: bytes, pos: 0, lineno: 1, filename: name, sourceLineno: 0)
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

    private func peekByte(_ offset: Int = 0) -> UInt8? {
        let i = current.pos + offset
        return i < current.bytes.count ? current.bytes[i] : nil
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
        while true {
            guard let c = peekByte() else { return endOfFile() }
            switch c {
            case UInt8(ascii: "#"):
                current.pos = newline(from: current.pos)
            case 0x20, 0x09:
                current.pos += 1
            case UInt8(ascii: "\\") where peekByte(1) == 0x0A:
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
                let (end, hasDollar) = current.bytes.withUnsafeBufferPointer { b in
                    var end = start
                    var hasDollar = false
                    while end < b.count && Self.isWordByte(b[end]) {
                        if b[end] == UInt8(ascii: "$") { hasDollar = true }
                        end += 1
                    }
                    return (end, hasDollar)
                }
                if hasDollar {
                    let (value, stop) = try preprocessor.expandToken(current.bytes, from: current.pos)
                    current.pos = stop
                    if !value.isEmpty {
                        text = value
                        return .word
                    }
                    continue
                }
                current.pos = end
                return current.bytes.withUnsafeBufferPointer { b in
                    let word = UnsafeBufferPointer(rebasing: b[start..<end])
                    if let keyword = Self.keyword(word) { return keyword }
                    text = String(decoding: word, as: UTF8.self)
                    return .word
                }
            default:
                let c1 = peekByte(1)
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

    /// The STRING state: quotes, backslash escapes, and `$(...)` expanded in place.
    private func quoted(open: UInt8) throws -> Token {
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
        text = String(decoding: chars, as: UTF8.self)
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
        text = String(decoding: current.bytes[start..<current.pos], as: UTF8.self)
        return .assignVal
    }

    /// The HELP state: indented lines, with indentation relative to the first line.
    private func helpText() -> Token {
        var chars = [UInt8]()
        var firstTS = 0
        var lastTS = 0
        func finish() -> Token {
            state = .initial
            text = String(decoding: chars, as: UTF8.self)
            return .helpText
        }
        while true {
            guard peekByte() != nil else { return finish() }
            // [ \t]+ at the start of a line
            var ts = 0
            var p = current.pos
            while p < current.bytes.count, current.bytes[p] == 0x20 || current.bytes[p] == 0x09 {
                ts = current.bytes[p] == 0x09 ? (ts & ~7) + 8 : ts + 1
                p += 1
            }
            let atEnd = p >= current.bytes.count
            let nextIsNewline = !atEnd && current.bytes[p] == 0x0A
            if nextIsNewline {
                // [ \t]*\n, ending the help when the next line starts with a non-blank.
                current.pos = p + 1
                current.lineno += 1
                if let n = peekByte(), n != 0x20 && n != 0x09 && n != 0x0A { return finish() }
                chars.append(0x0A)
                continue
            }
            if p > current.pos {
                lastTS = ts
                current.pos = p
                if firstTS != 0 {
                    if ts < firstTS { return finish() }
                    var extra = ts - firstTS
                    while extra > 8 {
                        chars.append(contentsOf: repeatElement(0x20, count: 8))
                        extra -= 8
                    }
                    chars.append(contentsOf: repeatElement(0x20, count: extra))
                }
            }
            if atEnd { return finish() }
            // [^ \t\n].*  : the text, trailing blanks removed
            let start = current.pos
            current.pos = newline(from: start)
            var end = current.pos
            while end > start, current.bytes[end - 1] == 0x20 || current.bytes[end - 1] == 0x09 { end -= 1 }
            chars += current.bytes[start..<end]
            if firstTS == 0 { firstTS = lastTS }
        }
    }
}
