import Foundation
import KernelKitCore
import ModuleSigning
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Module signing: bad input gets a clear error and nothing is modified", .serialized,
       .enabled(if: Oracles.signingShouldRun, "needs Debian's cloud kernel: run scripts/setup-oracles.sh"))
struct ModuleSigningBadInputTests {
    /// A signed module, a key and a certificate in a fresh directory.
    struct Setup {
        let dir: TemporaryDirectory
        let key: (pem: String, x509: String)
        let signed: [UInt8]
        init() throws {
            dir = try TemporaryDirectory()
            key = try Material.opensslKey(in: dir)
            signed = try Material.read("\(Material.modulesRoot)/\(Material.sample[2])")
        }
    }

    /// Runs `arguments` on a file holding `bytes`: expects exit 2, `message` in stderr,
    /// and the file unchanged.
    func expectRejected(_ bytes: [UInt8], _ arguments: (String) -> [String], message: String,
                        environment: [String: String] = [:], in s: Setup,
                        sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let file = try s.dir.write("bad-\(UUID().uuidString).ko", bytes: bytes)
        let r = try kernelkit(arguments(file), environment: environment)
        #expect(r.status == 2, "\(r.out)\(r.err)", sourceLocation: sourceLocation)
        #expect(r.err.hasPrefix("kernelkit: \(file): error: ") || r.err.hasPrefix("kernelkit: "), "\(r.err)",
                sourceLocation: sourceLocation)
        // The error is one line (a bulk command adds its summary line after it).
        let first = r.err.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.contains(message), "\(r.err)", sourceLocation: sourceLocation)
        #expect(try Material.read(file) == bytes, "the file was modified", sourceLocation: sourceLocation)
    }

    @Test("damaged trailers: truncated, sig_len past the start, wrong magic, wrong id_type")
    func trailers() throws {
        let s = try Setup()
        let strip: (String) -> [String] = { ["modsign", "strip", $0] }
        let info: (String) -> [String] = { ["modsign", "info", $0] }
        // An ELF header's first bytes and the magic: too short for struct module_signature.
        try expectRejected([0x7f, 0x45, 0x4c, 0x46] + Array("~Module signature appended~\n".utf8), strip, message: "too short", in: s)
        // sig_len pointing before the start of the file.
        var past = s.signed
        let n = past.count - 28
        past[n - 4] = 0x7f
        try expectRejected(past, strip, message: "points before the start", in: s)
        try expectRejected(past, info, message: "points before the start", in: s)
        // A damaged magic.
        var magic = s.signed
        magic[magic.count - 5] = UInt8(ascii: "X")
        try expectRejected(magic, strip, message: "magic", in: s)
        // id_type other than PKCS#7.
        var id = s.signed
        id[n - 10] = 1
        try expectRejected(id, strip, message: "not a PKCS#7 message", in: s)
        // verify reports it as a verdict instead, exiting 1.
        let f = try s.dir.write("past.ko", bytes: past)
        let v = try kernelkit(["modsign", "verify", "--cert", s.key.x509, f])
        #expect(v.status == 1)
        #expect(v.out.hasPrefix("malformed-trailer\t"))
    }

    @Test("modsign info on a file that is not a module: an error, not an empty answer")
    func infoOnNonModule() throws {
        let s = try Setup()
        try expectRejected(Array("just some text, not a module\n".utf8), { ["modsign", "info", $0] }, message: "not an ELF", in: s)
        try expectRejected(Array("just some text\n".utf8), { ["modsign", "info", "--format", "json", $0] }, message: "not an ELF", in: s)
    }

    @Test("garbage PKCS#7 in a well-formed trailer")
    func garbagePKCS7() throws {
        let s = try Setup()
        let unsigned = try Material.unsigned(Material.sample[2])
        let garbage = [UInt8](repeating: 0x5a, count: 300)
        let bytes = unsigned + garbage + [0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x2c] + Array("~Module signature appended~\n".utf8)
        try expectRejected(bytes, { ["modsign", "info", $0] }, message: "PKCS#7", in: s)
        let f = try s.dir.write("garbage.ko", bytes: bytes)
        let v = try kernelkit(["modsign", "verify", "--cert", s.key.x509, f])
        #expect(v.status == 1)
        #expect(v.out.hasPrefix("malformed-trailer\t"))
    }

    @Test("a file that is not ELF is not signed")
    func notELF() throws {
        let s = try Setup()
        try expectRejected(Array("just some text, not a module\n".utf8),
                           { ["modsign", "sign", "--key", s.key.pem, "--cert", s.key.x509, $0] }, message: "not an ELF", in: s)
        try expectRejected(Array("just some text, not a module\n".utf8),
                           { ["modsign", "sign-file", "sha256", s.key.pem, s.key.x509, $0] }, message: "not an ELF", in: s)
    }

    @Test("a certificate that does not match the key, and an encrypted key without a PIN")
    func keys() throws {
        let s = try Setup()
        let other = try TemporaryDirectory()
        let otherKey = try Material.opensslKey(in: other)
        let unsigned = try Material.unsigned(Material.sample[2])
        try expectRejected(unsigned, { ["modsign", "sign-file", "sha256", s.key.pem, otherKey.x509, $0] },
                           message: "does not belong to this certificate", in: s)
        let encrypted = "\(s.dir.path)/enc.pem"
        #expect(try run("/usr/bin/openssl", ["pkey", "-in", s.key.pem, "-aes256", "-passout", "pass:x", "-out", encrypted]).status == 0)
        try expectRejected(unsigned, { ["modsign", "sign-file", "sha256", encrypted, s.key.x509, $0] },
                           message: "KBUILD_SIGN_PIN", in: s)
        try expectRejected(unsigned, { ["modsign", "sign-file", "sha256", "/etc/hostname", s.key.x509, $0] },
                           message: "no PEM private key", in: s)
    }

    @Test("a read-only module is not replaced")
    func readOnly() throws {
        let s = try Setup()
        let unsigned = try Material.unsigned(Material.sample[2])
        let file = try s.dir.write("ro.ko", bytes: unsigned)
        chmod(file, 0o444)
        let r = try kernelkit(["modsign", "sign", "--key", s.key.pem, "--cert", s.key.x509, file])
        #expect(r.status == 2)
        #expect(r.err.contains("read-only"))
        #expect(try Material.read(file) == unsigned)
        let strip = try kernelkit(["modsign", "strip", s.dir.path + "/ro.ko"])
        #expect(strip.status == 2)
    }

    /// A copy of Debian's modules under `subdirectory`, its module files and their bytes.
    static func copyModules(_ subdirectory: String, into s: Setup) throws -> (String, [String], [String: [UInt8]]) {
        let tree = "\(s.dir.path)/modules"
        try FileManager.default.copyItem(atPath: "\(Material.modulesRoot)/\(subdirectory)", toPath: tree)
        let files = try ModuleTree.collect([tree])
        var originals = [String: [UInt8]]()
        for f in files { originals[f] = try Material.read(f) }
        return (tree, files, originals)
    }

    static func signing(_ tree: String, _ s: Setup) -> [String] {
        ["modsign", "sign", "--key", s.key.pem, "--cert", s.key.x509, "--hash", "sha512", tree]
    }

    /// Runs kernelkit with `arguments` and kills it with SIGKILL after `delay` µs.
    static func killed(_ arguments: [String], after delay: useconds_t) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Paths.kernelkit)
        p.arguments = arguments
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(delay)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    @Test("an interrupted bulk run leaves every module as it was or fully signed")
    func interrupted() throws {
        let s = try Setup()
        let (tree, files, originals) = try Self.copyModules("kernel/drivers", into: s)
        #expect(files.count > 200)
        // Start a bulk run and kill it without warning partway.
        try Self.killed(Self.signing(tree, s), after: 400_000)
        let ring = Keyring(try X509Certificate.load(try Material.read(s.key.x509), file: s.key.x509))
        var signed = 0, untouched = 0
        for f in files {
            let now = try Material.read(f)
            if now == originals[f] {
                untouched += 1
            } else {
                #expect(ring.verify(file: f).verdict == .valid, "\(f) is neither old nor fully signed")
                signed += 1
            }
        }
        #expect(signed + untouched == files.count)
        // The kill came partway: some modules were signed and some not yet.
        #expect(signed > 0 && untouched > 0, "signed \(signed), untouched \(untouched)")
        // No temporary files left behind but for the killed writes' own (never renamed).
        let leftovers = try ModuleTree.collect([tree]).count
        #expect(leftovers == files.count)
    }

    @Test("SIGKILL at 20 points of runs over all of Debian's cloud modules: each module old or validly signed; a re-run completes")
    func killedTwentyTimes() throws {
        let s = try Setup()
        let (tree, files, originals) = try Self.copyModules("kernel", into: s)
        #expect(files.count >= 1_100, "\(files.count) modules")
        let ring = Keyring(try X509Certificate.load(try Material.read(s.key.x509), file: s.key.x509))
        let sign = Self.signing(tree, s)
        // Reproducible "random" moments: a fixed LCG over 0.1 to 2.3 s (a whole run takes
        // about 2.7 s here, so every kill lands inside one).
        var state: UInt64 = 0x6b65726e656c6b69
        var delays = [useconds_t]()
        for _ in 0..<20 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            delays.append(useconds_t(100_000 + (state >> 33) % 2_200_000))
        }
        for (round, delay) in delays.enumerated() {
            try Self.killed(sign, after: delay)
            var bad = [String]()
            for f in files where try Material.read(f) != originals[f] && ring.verify(file: f).verdict != .valid { bad.append(f) }
            #expect(bad.isEmpty, "after kill \(round) at \(delay / 1000) ms: neither old nor fully signed: \(bad.prefix(3))")
            if !bad.isEmpty { return }
        }
        // What SIGKILL can leave: a killed write's temporary file (.NAME.kernelkit-…),
        // never renamed over a module. The re-run removes them first, and says so.
        let temps = { try FileManager.default.subpathsOfDirectory(atPath: tree).filter { $0.contains(".kernelkit-") } }
        let left = try temps()
        #expect(left.count <= delays.count * 2, "\(left.count) temporary files left by 20 kills")
        let r = try kernelkit(sign)
        #expect(r.status == 0, "\(r.err.suffix(300))")
        let invalid = files.filter { ring.verify(file: $0).verdict != .valid }
        #expect(invalid.isEmpty, "after the re-run: \(invalid.count) not valid, e.g. \(invalid.prefix(3))")
        let after = try temps()
        #expect(after.isEmpty, "after the re-run: \(after.prefix(3))")
        if !left.isEmpty {
            #expect(r.err.contains("removed \(left.count) temporary file"), "\(r.err.suffix(300))")
        }
    }
}
