import Foundation
import KconfigKit
import KernelKitCore
import Testing

/// Bad Kconfig input and bad .config values, through KernelKit and through the real
/// conf of the 7.2 tree: the same exit status, the same messages, the same result.
@Suite("Kconfig bad input: the same errors and warnings as conf", .serialized,
       .enabled(if: Oracles.treesShouldRun, "needs the 7.2 tree"))
struct KconfigBadInputTests {
    nonisolated(unsafe) static var confBinary: String?

    /// conf, built by make from the 7.2 tree in a scratch output directory.
    static func conf() throws -> String {
        if let c = confBinary { return c }
        let out = NSTemporaryDirectory() + "kernelkit-conf-bin-\(UUID().uuidString)"
        let r = try run("/usr/bin/make", ["-s", "-C", Oracles.tree72, "O=\(out)", "ARCH=x86_64", "allnoconfig"])
        #expect(r.status == 0, "\(r.err)")
        confBinary = "\(out)/scripts/kconfig/conf"
        return confBinary!
    }

    static let cases: [(String, String, String?)] = [
        ("unclosed parenthesis", "config A\n\tbool \"a\"\n\tdepends on (B\n\nconfig B\n\tbool \"b\"\n", nil),
        ("unknown option", "config A\n\tbool \"a\"\n\tfrobnicate\nconfig B\n\tint \"b\"\n", nil),
        ("mismatched end", "menu \"m\"\nconfig A\n\tbool \"a\"\nendif\n", nil),
        ("missing endmenu", "menu \"m\"\nconfig A\n\tbool \"a\"\nif A\nconfig B\n\tbool \"b\"\n", nil),
        ("stray endif", "config A\n\tbool \"a\"\nendif\nconfig B\n\tbool \"b\"\n", nil),
        ("missing source", "config A\n\tbool \"a\"\nsource \"nope\"\n", nil),
        ("dependency loop", "config A\n\tbool \"a\"\n\tdepends on B\nconfig B\n\tbool \"b\"\n\tselect A\n", nil),
        ("bad if expression", "if A &&\nconfig B\n\tbool \"b\"\nendif\nconfig A\n\tbool \"a\"\n", nil),
        ("invalid values in .config", "config NR\n\tint \"n\"\n\tdefault 4\n\trange 1 8\nconfig T\n\ttristate \"t\"\nconfig S\n\tstring \"s\"\n",
         "CONFIG_NR=abc\nCONFIG_T=q\nCONFIG_UNKNOWN=y\nCONFIG_S=\"unterminated\nCONFIG_NR=99\nnot a config line\n"),
        ("multi-line string, missing newline at end", "config A\n\tbool \"a\n\tdefault y", nil),
        // parser.y's blank help test is strspn(" \f\n\r\t\v"): spaces, a CRLF file's lone
        // carriage returns and form feeds are all blank; a second help is an error too.
        ("blank help text", "config A\n\tbool \"a\"\n\thelp\n\t  \n\t\t\n\nconfig B\n\tbool \"b\"\n", nil),
        ("help of carriage returns and form feeds", "config A\n\tbool \"a\"\n\thelp\n\t  \r\n\t\u{0C}\r\n\nconfig B\n\tbool \"b\"\n", nil),
        ("two help texts", "config A\n\tbool \"a\"\n\thelp\n\t  one\n\thelp\n\t  two\n", nil),
        // Below KernelKit's bound on one expansion (4 MiB, which conf does not have), a
        // variable doubling with each += gives conf's result: 16 lines make 192 KiB.
        ("a variable that doubles with each +=", KconfigExpansionBoundTests.doubling(16), nil),
    ]

    @Test("conf's behaviour on bad input", arguments: cases)
    func badInput(label: String, kconfig: String, dotConfig: String?) throws {
        let dir = try TemporaryDirectory()
        try dir.write("Kconfig", kconfig)
        if let dotConfig { try dir.write(".config", dotConfig) }
        var env = ProcessInfo.processInfo.environment
        env["srctree"] = dir.path
        env["KCONFIG_WARN_UNKNOWN_SYMBOLS"] = "1"
        let theirs = try run(try Self.conf(), ["--olddefconfig", "Kconfig"],
                             environment: ["srctree": dir.path, "KCONFIG_WARN_UNKNOWN_SYMBOLS": "1"], in: dir.path)
        let ours = ConfProgram.run(.olddefconfig, srctree: dir.path, environment: env,
                                   dotConfig: dotConfig.map { Array($0.utf8) })
        #expect(ours.status == theirs.status, "\(label): exit \(ours.status) vs conf's \(theirs.status)")
        #expect(ours.stderr == theirs.err, "\(label):\nours:\n\(ours.stderr)\nconf's:\n\(theirs.err)")
        if theirs.status == 0 {
            #expect(ours.config == String(decoding: try dir.read(".config"), as: UTF8.self), "\(label)")
        }
    }
}

/// conf expands macros without bound, so a variable that reaches itself through another
/// doubles with every `+=`: the kconfig fuzz target's slow unit (7 KB, 2 GB and 18 s in a
/// debug build) had thirty such lines. KernelKit stops at 4 MiB with conf's kind of
/// error; below that it gives conf's result (the case above).
@Suite("Kconfig: one macro expansion is bounded")
struct KconfigExpansionBoundTests {
    /// `X := ab`, `Y = $(X)`, then `lines` times `X += $(Y)`: X is 3·2^lines − 1 bytes.
    static func doubling(_ lines: Int) -> String {
        "X := ab\nY = $(X)\n" + String(repeating: "X += $(Y)\n", count: lines)
            + "config A\n\tstring \"a\"\n\tdefault \"$(X)\"\n"
    }

    @Test("40 doublings (3 TiB in conf) are a located error at the line that passes 4 MiB")
    func bounded() throws {
        do {
            _ = try KconfigTreeLifetimeTests.load(["/t/Kconfig": Self.doubling(40)])
            Issue.record("a 3 TiB expansion loaded")
        } catch let error as KernelKitError {
            // 3·2^21 − 1 bytes is the first length over 4 MiB: the 21st `X +=`, line 23.
            #expect(error.message.hasPrefix("expansion longer than 4 MiB"), "\(error.message)")
            #expect(error.location?.line == 23, "\(String(describing: error.location))")
        }
    }

    @Test("a recursive variable that doubles when expanded is bounded too")
    func boundedWhenExpanded() throws {
        // No `+=`: each variable is two of the one before, and only the prompt expands them.
        // V0 is 1 KiB, so that V13 passes 4 MiB after a few thousand expansions.
        var text = "V0 = \(String(repeating: "ab", count: 512))\n"
        for i in 1...40 { text += "V\(i) = $(V\(i - 1))$(V\(i - 1))\n" }
        text += "config A\n\tstring \"$(V40)\"\n"
        #expect(throws: KernelKitError.self) { _ = try KconfigTreeLifetimeTests.load(["/t/Kconfig": text]) }
    }
}
