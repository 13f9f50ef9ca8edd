import KernelKitCore
import Testing
@testable import KconfigKit

/// A tree, once released, frees everything it made: symbols and menus point at each other
/// and the preprocessor's closures at the lexer, cycles that reference counting alone
/// never frees, and a batch (`config defconfigs`, the fuzzer) loads thousands of trees.
/// The kconfig fuzz target found two leaks, each checked here through weak references.
/// Menus are records in the tree's arena, not objects: that they are freed shows in the
/// symbol of the first menu entry, which only its menu and the symbol table hold.
@Suite("Kconfig trees free what they made")
struct KconfigTreeLifetimeTests {
    static func load(_ files: [String: String]) throws -> KconfigTree {
        try KconfigTree.load(srctree: "/t", environment: ["ARCH": "x86", "SRCARCH": "x86", "srctree": "/t"],
                             shell: { _ in "" }, readFile: { path throws(KernelKitError) in
            guard let text = files[path] else { throw KernelKitError(.fileNotFound, "no such file", at: SourceLocation(file: path, line: 0)) }
            return Array(text.utf8)
        })
    }

    @Test("a released tree frees its symbols, menus and preprocessor", arguments: [
        // `config y` gives the constant symbol_yes a menu (sym_lookup() returns it): the
        // fuzzer's reproducer, Tests/Fixtures/fuzz/kconfig/leak-config-y.
        "config y\n\tbool \"y\"\nconfig A\n\tbool \"a\"\n",
        "config A\n\tbool \"a\"\n\tdepends on B || m\nsource \"/t/K2\"\n",
        "menu \"m\"\nconfig A\n\ttristate \"a\"\n\tselect B\nendmenu\nchoice\n\tprompt \"c\"\nconfig C\n\tbool \"c\"\nendchoice\n",
    ])
    func released(kconfig: String) throws {
        weak var tree: KconfigTree?
        weak var yes: Symbol?
        weak var preprocessor: Preprocessor?
        weak var entry: Symbol?
        do {
            let t = try Self.load(["/t/Kconfig": kconfig, "/t/K2": "config B\n\tbool\n"])
            tree = t
            yes = t.symbolYes
            preprocessor = t.preprocessor
            entry = t.rootMenu.children.first?.symbol
        }
        #expect(tree == nil, "the tree is kept")
        #expect(preprocessor == nil, "the preprocessor is kept")
        #expect(yes == nil, "the constant y is kept")
        #expect(entry == nil, "the first menu entry's symbol is kept")
    }
}
