import Foundation
import KernelKitCore
import Testing
import TestSupport

/// Tests/BadInputs/: inputs nobody should hand kernelkit, each with its command and the
/// error a user must get (cases.toml). The release binary runs each case in a directory
/// of its own, and must exit with the case's code (2 for bad input), print one line on
/// stderr naming the file (and line) and nothing on stdout, die of no signal, hang on
/// nothing, and leave the input, the outputs and the modules as they were, with no
/// stray temporary files beside them.
@Suite("bad inputs through the binary (Tests/BadInputs)")
struct BadInputCorpusTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var file: String?
        var make: String?
        var kconfig: Bool
        var run: [String]
        var exit: Int32
        var error: String
        /// For a case that is not an error (exit 0 or 1): what stdout says.
        var output: String
        /// Lines on stderr: 1, or 2 for a batch command's summary after the error.
        var lines: Int
        var line: Int
        var testDescription: String { "\(file ?? make.map { "made: \($0)" } ?? "no file") — \(run.prefix(2).joined(separator: " ")) (cases.toml:\(line))" }
    }

    static let root = "\(Paths.packageRoot)/Tests/BadInputs"

    static let cases: [Case] = {
        guard let doc = try? TOML.parse(file: "\(root)/cases.toml") else { return [] }
        return (doc["case"]?.array ?? []).compactMap { v in
            guard let t = v.table else { return nil }
            return Case(file: t["file"]?.string, make: t["make"]?.string, kconfig: t["kconfig"]?.bool ?? false,
                        run: (t["run"]?.array ?? []).compactMap(\.string), exit: Int32(t["exit"]?.integer ?? 2),
                        error: t["error"]?.string ?? "", output: t["output"]?.string ?? "", lines: Int(t["lines"]?.integer ?? 1), line: t.line)
        }
    }()

    @Test("the corpus: at least 60 cases over every command that reads input, each file used")
    func corpus() throws {
        #expect(Self.cases.count >= 60)
        let commands = Set(Self.cases.map { $0.run.prefix(2).joined(separator: " ") })
        for c in ["config diff", "config merge", "config resolve", "config why", "config savedefconfig", "harden check", "harden convert",
                  "harden list", "modsign info", "modsign verify", "modsign strip", "modsign sign", "modsign sign-file",
                  "modsign extract-certs", "modsign check-config", "boot report", "boot compare", "probe compare", "probe check"] {
            #expect(commands.contains(c) || commands.contains(where: { $0.hasPrefix(c) }), "no case runs \(c)")
        }
        #expect(commands.contains { $0.hasPrefix("audit") }, "no case runs audit")
        let listed = Set(Self.cases.compactMap(\.file))
        let onDisk = try FileManager.default.subpathsOfDirectory(atPath: Self.root).filter {
            !$0.hasSuffix(".toml") || $0.contains("/")
        }.filter { !InputFile.kind("\(Self.root)/\($0)").isDirectory && $0 != "README.md" }
        for f in onDisk { #expect(listed.contains(f), "\(f) is in no case") }
        for c in Self.cases { #expect(!c.error.isEmpty || !c.output.isEmpty, "cases.toml:\(c.line) gives no error") }
    }

    @Test("each case: the documented exit, one located line, nothing touched", arguments: cases)
    func badInput(_ c: Case) throws {
        let needsModule = c.run.contains { $0.contains("{module}") || $0.contains("{key}") || $0.contains("{cert}") } || c.make.map(Made.fromModule.contains) == true
        if needsModule, !Oracles.signingShouldRun { return }
        let dir = try TemporaryDirectory()
        let d = dir.path
        try dir.write("good.config", "CONFIG_A=y\n")
        try dir.write("out.config", "untouched\n")
        try FileManager.default.createDirectory(atPath: "\(d)/outdir", withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: "\(d)/tree", withIntermediateDirectories: false)
        try dir.write("tree/Makefile", "VERSION = 6\nPATCHLEVEL = 18\nSUBLEVEL = 0\nEXTRAVERSION =\n")
        try dir.write("tree/Kconfig", "config A\n\tbool \"a\"\n\tdefault y\n")
        if needsModule { try Made.signingInputs(in: d) }

        // The input, where the command will see it.
        var input: String
        if let file = c.file {
            input = c.kconfig ? "tree/Kconfig" : (file as NSString).lastPathComponent
            try FileManager.default.removeItem(atPath: "\(d)/tree/Kconfig")
            if !c.kconfig { try dir.write("tree/Kconfig", "config A\n\tbool \"a\"\n\tdefault y\n") }
            try FileManager.default.copyItem(atPath: "\(Self.root)/\(file)", toPath: "\(d)/\(input)")
        } else if let make = c.make {
            input = try Made.input(make, in: d)
        } else {
            input = "" // the command's own arguments are the bad input
        }
        let args = c.run.map {
            $0.replacingOccurrences(of: "{}", with: input).replacingOccurrences(of: "{good.config}", with: "good.config")
                .replacingOccurrences(of: "{tree}", with: "tree").replacingOccurrences(of: "{out}", with: "out.config")
                .replacingOccurrences(of: "{outdir}", with: "outdir").replacingOccurrences(of: "{module}", with: "module.ko")
                .replacingOccurrences(of: "{key}", with: "key.pem").replacingOccurrences(of: "{cert}", with: "cert.pem")
        }
        let before = try snapshot(d)
        // A hang is a failure too: timeout(1) ends it with 124.
        let r = try TestSupport.run("/usr/bin/timeout", ["60", Paths.kernelkit] + args, in: d)
        let expected = c.error.replacingOccurrences(of: "{}", with: input)
        let context = "\(c.testDescription): exit \(r.status), stderr: \(r.err.prefix(600))"
        #expect(r.status == c.exit, "\(context)")
        #expect(!r.err.contains("Fatal error") && !r.err.contains("Stack dump") && !r.err.contains("Crash"), "\(context)")
        if c.exit == 2 {
            #expect(r.out.isEmpty, "\(context), stdout: \(r.out.prefix(200))")
            let lines = r.err.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            #expect(lines.count == c.lines, "\(context)")
            #expect(r.err.hasPrefix("kernelkit: " + expected), "\(context); expected: kernelkit: \(expected)")
        } else {
            if !expected.isEmpty { #expect(r.err.contains(expected), "\(context); expected it to say: \(expected)") }
            if !c.output.isEmpty {
                #expect(r.out.contains(c.output.replacingOccurrences(of: "{}", with: input)), "\(context); stdout: \(r.out.prefix(300))")
            }
        }
        // Nothing written: the files are as they were (an exit-0 case may write its output).
        var after = try snapshot(d)
        if c.exit == 0 { after["out.config"] = before["out.config"] }
        #expect(after == before, "\(c.testDescription): changed or left behind: \(Set(after.keys).symmetricDifference(before.keys).sorted()) \(before.keys.filter { after[$0] != before[$0] }.sorted())")
    }

    /// Every path under `dir` with its content (regular files) or kind: what a run must
    /// leave as it found.
    private func snapshot(_ dir: String) throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for p in try FileManager.default.subpathsOfDirectory(atPath: dir) {
            let full = "\(dir)/\(p)"
            let type = try FileManager.default.attributesOfItem(atPath: full)[.type] as? FileAttributeType
            out[p] = type == .typeRegular ? try InputFile.readBytes(full) : Array("<\(type?.rawValue ?? "?")>".utf8)
        }
        return out
    }

    /// The inputs the test makes: those a file in git cannot be (a FIFO, a dangling link),
    /// too big to commit, or cut from a real signed module.
    enum Made {
        static let fromModule: Set<String> = ["pkcs7-trailing-junk", "signature-length-overflow", "signature-length-past-start",
                                              "corrupt-gzip", "truncated-zstd", "bad-signature-cert"]

        static func input(_ kind: String, in d: String) throws -> String {
            switch kind {
            case "fifo":
                #expect(mkfifo("\(d)/input.fifo", 0o644) == 0)
                return "input.fifo"
            case "directory":
                try FileManager.default.createDirectory(atPath: "\(d)/input.dir", withIntermediateDirectories: false)
                return "input.dir"
            case "dangling-link":
                try FileManager.default.createSymbolicLink(atPath: "\(d)/input.link", withDestinationPath: "gone.config")
                return "input.link"
            case "huge-line":
                try Data(("CONFIG_A=" + String(repeating: "y", count: 4 << 20) + "\n").utf8).write(to: URL(fileURLWithPath: "\(d)/huge.config"))
                return "huge.config"
            case "deep-toml":
                try Data(("[[rule]]\nid = \"x.a\"\nexpect = " + String(repeating: "[", count: 40_000)).utf8).write(to: URL(fileURLWithPath: "\(d)/deep.toml"))
                return "deep.toml"
            case "deep-json":
                try Data(String(repeating: "[", count: 100_000).utf8).write(to: URL(fileURLWithPath: "\(d)/deep.json"))
                return "deep.json"
            case "bad-signature-cert":
                // The certificate's last byte is in its signature: flipped, the DER still
                // parses and the signature no longer verifies.
                var der = try InputFile.readBytes("\(d)/cert.der")
                der[der.count - 1] ^= 0x01
                try Data(der).write(to: URL(fileURLWithPath: "\(d)/bad-signature.der"))
                return "bad-signature.der"
            default:
                return try fromSignedModule(kind, in: d)
            }
        }

        /// Cut from module.ko (a real signed Debian module): its trailer is the 12-byte
        /// struct module_signature, then "~Module signature appended~\n" (28 bytes), with
        /// the signature's length big-endian at the struct's end (include/linux/module_signature.h).
        static func fromSignedModule(_ kind: String, in d: String) throws -> String {
            var m = try InputFile.readBytes("\(d)/module.ko")
            let info = m.count - 28 - 12
            // The length's place, counted from the end: it moves when bytes go in before it.
            func setLength(_ n: UInt32) { for i in 0..<4 { m[m.count - 32 + i] = UInt8((n >> (24 - 8 * UInt32(i))) & 0xff) } }
            let length = m[(m.count - 32)..<(m.count - 28)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let name = "\(kind).ko"
            switch kind {
            case "pkcs7-trailing-junk":
                m.insert(contentsOf: [0xde, 0xad, 0xbe, 0xef], at: info)
                setLength(length + 4)
            case "signature-length-overflow": setLength(0xffff_ffff)
            case "signature-length-past-start": setLength(UInt32(info + 1))
            case "corrupt-gzip":
                try run("/bin/sh", ["-c", "gzip -9c module.ko > corrupt-gzip.ko.gz"], in: d)
                var z = try InputFile.readBytes("\(d)/corrupt-gzip.ko.gz")
                for i in stride(from: z.count / 3, to: z.count / 3 + 64, by: 1) { z[i] ^= 0x5a }
                try Data(z).write(to: URL(fileURLWithPath: "\(d)/corrupt-gzip.ko.gz"))
                return "corrupt-gzip.ko.gz"
            case "truncated-zstd":
                try run("/bin/sh", ["-c", "zstd -qc module.ko | head -c 3000 > truncated.ko.zst"], in: d)
                return "truncated.ko.zst"
            default: Issue.record("no such made input: \(kind)")
            }
            try Data(m).write(to: URL(fileURLWithPath: "\(d)/\(name)"))
            return name
        }

        /// module.ko (the smallest signed module of Debian's cloud kernel), and key.pem,
        /// cert.pem and cert.der from openssl (the kernel's recipe, certs/Makefile).
        static func signingInputs(in d: String) throws {
            let modules = "\(Oracles.cloudImage)/lib/modules"
            let found = try TestSupport.run("/bin/sh", ["-c", "find \(modules) -name 'af_key.ko' | head -n1"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
            try FileManager.default.copyItem(atPath: found, toPath: "\(d)/module.ko")
            let r = try TestSupport.run("/usr/bin/openssl", ["req", "-new", "-nodes", "-utf8", "-sha256", "-days", "36500", "-batch", "-x509",
                                                             "-subj", "/CN=bad-input test key", "-newkey", "rsa:2048",
                                                             "-keyout", "key.pem", "-out", "cert.pem"], in: d)
            #expect(r.status == 0, "\(r.err)")
            _ = try TestSupport.run("/usr/bin/openssl", ["x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der"], in: d)
        }

        @discardableResult
        private static func run(_ exe: String, _ args: [String], in d: String) throws -> ProcessResult {
            try TestSupport.run(exe, args, in: d)
        }
    }
}
