import Foundation
import KconfigKit
import Testing

/// Bad input through the CLI, as a user meets it: one line on stderr naming file:line,
/// a nonzero exit, and nothing written.
@Suite("bad input: located one-line errors, nonzero exit, nothing written")
struct BadInputTests {
    static let cases: [(String, [UInt8], String)] = [
        ("malformed", Array("CONFIG_A=y\nCONFIG_B\n".utf8), "bad:2:9: error: unexpected data"),
        ("invalid UTF-8", Array("CONFIG_A=y\n# \u{FF}".utf8).dropLast(2) + [0xFF, 0xFE, 0x0A], "bad:2:3: error: invalid UTF-8"),
        ("binary", [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x00, 0x00], "bad:1:7: error: binary file"),
    ]

    @Test("diff and merge reject malformed, non-UTF-8 and binary files", arguments: cases)
    func rejected(label: String, bytes: [UInt8], message: String) throws {
        let dir = try TemporaryDirectory()
        try dir.write("bad", bytes: bytes)
        let good = try dir.write("good", "CONFIG_A=y\n")
        for args in [["config", "diff", "good", "bad"], ["config", "diff", "bad", "good"],
                     ["config", "merge", "-m", "good", "bad"], ["config", "merge", "-m", "bad", "good"]] {
            let r = try kernelkit(args, in: dir.path)
            #expect(r.status == 2, "\(label) \(args)")
            #expect(r.out.isEmpty)
            let lines = r.err.split(separator: "\n")
            #expect(lines.count == 1, "\(r.err)")
            #expect(r.err.hasPrefix("kernelkit: \(message)"), "\(label): \(r.err)")
            #expect(!dir.exists(".config"))
        }
        _ = good
    }

    /// The Kconfig parser and evaluator recurse per parenthesis and per `&&` operand; the
    /// config commands run on a 1 GB stack, so what conf accepts we accept (they
    /// overflowed the 8 MB main stack).
    @Test("a Kconfig expression 40,000 parentheses deep, and one of 100,000 operands: resolved, not a crash")
    func deepKconfig() throws {
        for (label, expr) in [("parentheses", String(repeating: "(", count: 40_000) + "B" + String(repeating: ")", count: 40_000)),
                              ("operands", Array(repeating: "B", count: 100_000).joined(separator: " && "))] {
            let dir = try TemporaryDirectory()
            try dir.write("Makefile", "VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\nEXTRAVERSION =\n")
            try dir.write("Kconfig", "config A\n\tbool \"a\"\n\tdefault y\n\tdepends on \(expr)\nconfig B\n\tbool \"b\"\n\tdefault y\n")
            let r = try kernelkit(["config", "resolve", "--tree", dir.path, "--arch", "x86_64", "--alldefconfig"])
            #expect(r.status == 0, "\(label): \(r.status) \(r.err.suffix(300))")
            #expect(r.out.contains("\nCONFIG_A=y\n") && r.out.contains("\nCONFIG_B=y\n"), "\(label): \(r.out.suffix(200))")
        }
    }

    @Test("missing files, directories and unreadable files")
    func files() throws {
        let dir = try TemporaryDirectory()
        try dir.write("good", "CONFIG_A=y\n")
        try FileManager.default.createDirectory(atPath: "\(dir.path)/adir", withIntermediateDirectories: false)
        let expectations: [([String], String)] = [
            (["config", "diff", "good", "missing"], "kernelkit: missing: error: no such file"),
            (["config", "diff", "adir", "good"], "kernelkit: adir: error: is a directory, expected a file"),
            (["config", "merge", "-m", "good", "missing"], "kernelkit: missing: error: The merge file 'missing' does not exist.  Exit."),
            (["config", "merge", "-m", "good", "adir"], "kernelkit: adir: error: is a directory"),
            // /proc/self/mem exists, and even root gets EIO reading it at offset 0.
            (["config", "diff", "good", "/proc/self/mem"], "kernelkit: /proc/self/mem: error: read failed"),
            (["config", "merge", "-m", "-O", "nodir", "good"], "kernelkit: error: output directory nodir does not exist"),
            (["config", "merge", "good", "good"], "kernelkit: error: merging without -m resolves"),
        ]
        for (args, message) in expectations {
            let r = try kernelkit(args, in: dir.path)
            #expect(r.status == 2, "\(args)")
            #expect(r.err.hasPrefix(message), "\(args): \(r.err)")
            #expect(r.err.split(separator: "\n").count == 1, "\(args): \(r.err)")
            #expect(!dir.exists(".config"))
        }
    }

    @Test("strict mode exits 1 and leaves an existing output untouched")
    func strictKeepsOutput() throws {
        let dir = try TemporaryDirectory()
        try dir.write("base", "CONFIG_A=y\n")
        try dir.write("frag", "CONFIG_A=m\n")
        try dir.write(".config", "previous\n")
        let r = try kernelkit(["config", "merge", "-m", "-s", "base", "frag"], in: dir.path)
        #expect(r.status == 1)
        #expect(r.out.hasSuffix("The fragment redefined a value and strict mode had been passed.\n"))
        #expect(String(decoding: try dir.read(".config"), as: UTF8.self) == "previous\n")
    }

    @Test("an existing output keeps its permissions when replaced")
    func keepsMode() throws {
        let dir = try TemporaryDirectory()
        try dir.write("base", "CONFIG_A=y\n")
        let out = try dir.write(".config", "old\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: out)
        let r = try kernelkit(["config", "merge", "-m", "base"], in: dir.path)
        #expect(r.status == 0)
        let mode = try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int
        #expect(mode == 0o640)
        #expect(String(decoding: try dir.read(".config"), as: UTF8.self) == "CONFIG_A=y\n")
    }
}
