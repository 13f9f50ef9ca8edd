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
}
