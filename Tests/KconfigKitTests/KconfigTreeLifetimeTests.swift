import KernelKitCore
import Testing
@testable import KconfigKit

/// A tree, once released, frees everything it made: a batch (`config defconfigs`, the
/// fuzzer) loads thousands of trees. The kconfig fuzz target found two leaks, cycles that
/// reference counting alone never frees: symbols and menus pointing at each other (when
/// both were objects) and the preprocessor's closures at the lexer. Symbols, menus and
/// properties are now records in the tree's arenas, which go with the tree; what is still
/// an object is checked here through weak references.
@Suite("Kconfig trees free what they made")
struct KconfigTreeLifetimeTests {
    static func load(_ files: [String: String]) throws -> KconfigTree {
        try KconfigTree.load(srctree: "/t", environment: ["ARCH": "x86", "SRCARCH": "x86", "srctree": "/t"],
                             shell: { _ in "" }, readFile: { path throws(KernelKitError) in
            guard let text = files[path] else { throw KernelKitError(.fileNotFound, "no such file", at: SourceLocation(file: path, line: 0)) }
            return Array(text.utf8)
        })
    }

    @Test("a released tree frees itself and its preprocessor", arguments: [
        // `config y` gives the constant symbol_yes a menu (sym_lookup() returns it): the
        // fuzzer's reproducer, Tests/Fixtures/fuzz/kconfig/leak-config-y.
        "config y\n\tbool \"y\"\nconfig A\n\tbool \"a\"\n",
        "config A\n\tbool \"a\"\n\tdepends on B || m\nsource \"/t/K2\"\n",
        "menu \"m\"\nconfig A\n\ttristate \"a\"\n\tselect B\nendmenu\nchoice\n\tprompt \"c\"\nconfig C\n\tbool \"c\"\nendchoice\n",
    ])
    func released(kconfig: String) throws {
        weak var tree: KconfigTree?
        weak var preprocessor: Preprocessor?
        do {
            let t = try Self.load(["/t/Kconfig": kconfig, "/t/K2": "config B\n\tbool\n"])
            tree = t
            preprocessor = t.preprocessor
        }
        #expect(tree == nil, "the tree is kept")
        #expect(preprocessor == nil, "the preprocessor is kept")
    }

    /// What a record holds (a symbol's name and values are Strings, whose storage is an
    /// object) is released with its arena: every chunk's values, the last one's only as far
    /// as it was filled. 70,000 values fill chunks of 256, 512, … 65,536 and part of one more.
    @Test("an arena releases what every value it made holds, in full and partial chunks")
    func arenaReleasesValues() {
        final class Held {}
        struct Record { let held: Held }
        weak var first: Held?
        weak var middle: Held?
        weak var last: Held?
        do {
            let arena = ChunkArena<Record>()
            for i in 0 ..< 70_000 {
                let r = arena.make(Record(held: Held()))
                if i == 0 { first = r.pointee.held }
                if i == 30_000 { middle = r.pointee.held }
                if i == 69_999 { last = r.pointee.held }
            }
            #expect(first != nil && middle != nil && last != nil)
        }
        #expect(first == nil, "the first chunk's values are kept")
        #expect(middle == nil, "a full chunk's values are kept")
        #expect(last == nil, "the last, partly filled chunk's values are kept")
    }
}
