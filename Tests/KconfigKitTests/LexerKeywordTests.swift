import Testing
@testable import KconfigKit

/// The lexer matches keywords against packed constants (Lexer.keyword); each constant is
/// checked here against the keyword's spelling in scripts/kconfig/lexer.l.
@Suite("Kconfig keywords")
struct LexerKeywordTests {
    static let keywords: [(String, Token)] = [
        ("bool", .bool), ("choice", .choice), ("comment", .comment), ("config", .config), ("def_bool", .defBool),
        ("def_tristate", .defTristate), ("default", .default), ("depends", .depends), ("endchoice", .endchoice),
        ("endif", .endif), ("endmenu", .endmenu), ("help", .help), ("hex", .hex), ("if", .if), ("imply", .imply),
        ("int", .int), ("mainmenu", .mainmenu), ("menu", .menu), ("menuconfig", .menuconfig), ("modules", .modules),
        ("on", .on), ("prompt", .prompt), ("range", .range), ("select", .select), ("source", .source),
        ("string", .string), ("transitional", .transitional), ("tristate", .tristate), ("visible", .visible),
    ]

    static func lex(_ word: String) -> Token? {
        Array(word.utf8).withUnsafeBufferPointer { Lexer.keyword($0) }
    }

    @Test("every keyword is recognised")
    func keywords() {
        for (word, token) in Self.keywords { #expect(Self.lex(word) == token, "\(word)") }
    }

    @Test("words that are not keywords stay words", arguments: [
        "i", "o", "boo", "bools", "Bool", "BOOL", "configs", "defaul", "def_tristates", "def_tristat", "endchoic",
        "menuconfigs", "transitionals", "transitiona", "MODULES", "y", "n", "m", "ifs", "source_", "X86_64",
        "def_boolean_option_long",
    ])
    func notKeywords(word: String) {
        #expect(Self.lex(word) == nil)
    }

    @Test("a word packs as its bytes, little-endian, at every length up to 16")
    func packing() {
        let bytes = Array("abcdefghijklmnopq".utf8)
        for n in 0...16 {
            let word = Array(bytes[..<n])
            var lo: UInt64 = 0, hi: UInt64 = 0
            for (i, b) in word.enumerated() {
                if i < 8 { lo |= UInt64(b) << (8 * i) } else { hi |= UInt64(b) << (8 * (i - 8)) }
            }
            let packed = word.withUnsafeBufferPointer { Lexer.pack($0) }
            #expect(packed.0 == lo && packed.1 == hi, "\(n) bytes")
        }
    }

    @Test("word bytes are lexer.l's {n} class and `$`, for every byte value")
    func wordBytes() {
        for b in 0...255 {
            let c = UInt8(b)
            let expected = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == UInt8(ascii: "$")
            #expect(Lexer.isWordByte(c) == expected, "byte \(b)")
        }
    }
}
