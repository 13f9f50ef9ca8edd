import Foundation
import KernelKitCore
import Testing
@testable import KconfigKit

/// The file reader that runs ahead of the Kconfig parser (SourcePrefetch.swift) may only
/// change how fast a tree loads: whatever it guesses, the parse sees the files it would
/// read itself. The oracle tests compare whole trees with conf; these check the guesses.
@Suite("Kconfig files read ahead of the parser")
struct SourcePrefetchTests {
    @Test("source lines are found in order, with environment variables expanded")
    func sourcedPaths() {
        let text = """
        source "a/Kconfig"
        \tsource  "arch/$(SRCARCH)/Kconfig"
        source "$(KCONFIG_VARIABLE)/Kconfig"
        # source "commented/Kconfig"
        sourcefoo "b/Kconfig"
        config FOO
        \tbool "source \\"not/this\\""
        \thelp
        \t  source "help/Kconfig"
        source "unterminated
        source "last/Kconfig"
        """
        let found = SourcePrefetch.sourced(in: Array(text.utf8), environment: ["SRCARCH": "x86"])
        // A help line that looks like a statement is read ahead for nothing: harmless.
        #expect(found == ["a/Kconfig", "arch/x86/Kconfig", "help/Kconfig", "last/Kconfig"])
    }

    /// A tree whose paths the reader cannot guess (a Kconfig variable) or guesses wrong
    /// (a help line), loaded from disk with the reader and from the same files through a
    /// plain reader: the same symbols, messages and config.
    @Test("a tree loads the same with and without reading ahead")
    func sameTree() throws {
        let dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: "\(dir.path)/sub", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(dir.path)/arch/x86", withIntermediateDirectories: true)
        try dir.write("Kconfig", """
            SUB := sub
            source "$(SUB)/Kconfig"
            source "arch/$(SRCARCH)/Kconfig"
            config A
            \tbool "a"
            \tdefault y
            \thelp
            \t  source "sub/Kconfig"

            """)
        try dir.write("sub/Kconfig", "config B\n\ttristate \"b\"\n\tdefault m if A\n")
        try dir.write("arch/x86/Kconfig", "config C\n\tbool\n\tdefault y\n\tselect A\n")
        let environment = ["ARCH": "x86_64", "SRCARCH": "x86", "srctree": "."]
        func outcome(_ tree: KconfigTree) -> [String] {
            tree.setAllNewSymbols(.defaults)
            return [tree.symbols.compactMap(\.name).joined(separator: ","), tree.writeConfig(),
                    tree.standardOutput, tree.standardError]
        }
        let ahead = try KconfigTree.load(srctree: dir.path, environment: environment, shell: { _ in "" })
        let plain = try KconfigTree.load(srctree: dir.path, environment: environment, shell: { _ in "" },
                                         readFile: { path throws(KernelKitError) in try InputFile.readBytes(path) })
        #expect(outcome(ahead) == outcome(plain))
        // Without a `modules` symbol, m is y (as conf has it); B came through $(SUB).
        #expect(outcome(ahead)[1].contains("CONFIG_B=y\nCONFIG_C=y\nCONFIG_A=y\n"))
    }

    /// A file that sources itself, and two that source the same third: conf rejects both
    /// (recursive and repeated inclusion), and the reader, which follows every `source`
    /// line, must neither loop nor change the error.
    @Test("inclusion loops and repeats fail as without reading ahead", arguments: [
        ["Kconfig": "config A\n\tbool\nsource \"Kconfig\"\n"],
        ["Kconfig": "source \"a\"\nsource \"b\"\n", "a": "source \"c\"\n", "b": "source \"c\"\n", "c": "config C\n\tbool\n"],
    ])
    func loops(files: [String: String]) throws {
        let dir = try TemporaryDirectory()
        for (name, text) in files { try dir.write(name, text) }
        let environment = ["ARCH": "x86_64", "SRCARCH": "x86", "srctree": "."]
        func failure(_ readFile: ((String) throws(KernelKitError) -> [UInt8])?) -> String? {
            do {
                _ = try KconfigTree.load(srctree: dir.path, environment: environment, shell: { _ in "" }, readFile: readFile)
                return nil
            } catch {
                return error.message
            }
        }
        let ahead = failure(nil)
        let plain = failure { path throws(KernelKitError) in try InputFile.readBytes(path) }
        #expect(ahead != nil)
        #expect(ahead == plain)
    }

    @Test("reading ahead takes nothing from a FIFO")
    func fifoUntouched() throws {
        let dir = try TemporaryDirectory()
        let fifo = "\(dir.path)/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: KernelKitError.self) { try InputFile.readBytes(fifo, regularOnly: true) }
        do {
            _ = try InputFile.readBytes(fifo, regularOnly: true)
        } catch {
            #expect(error.code == .unreadable)
            #expect(error.message.contains("not a regular file"))
        }
    }
}
