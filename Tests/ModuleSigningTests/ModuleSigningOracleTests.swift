import Foundation
import KernelKitCore
import ModuleSigning
import Testing

/// Test material: Debian's signed modules, their kernel, keys made by openssl.
enum Material {
    static let modulesRoot: String = {
        let base = "\(Oracles.cloudImage)/lib/modules"
        let version = (try? FileManager.default.contentsOfDirectory(atPath: base))?.first ?? "missing"
        return "\(base)/\(version)"
    }()

    static var vmlinuz: String {
        let boot = "\(Oracles.cloudImage)/boot"
        let name = (try? FileManager.default.contentsOfDirectory(atPath: boot))?.first { $0.hasPrefix("vmlinuz-") } ?? "missing"
        return "\(boot)/\(name)"
    }

    static var config: String {
        let boot = "\(Oracles.cloudImage)/boot"
        let name = (try? FileManager.default.contentsOfDirectory(atPath: boot))?.first { $0.hasPrefix("config-") } ?? "missing"
        return "\(boot)/\(name)"
    }

    /// Some real modules of different sizes, Hyper-V's among them.
    static let sample = ["kernel/drivers/hv/hv_vmbus.ko", "kernel/drivers/net/hyperv/hv_netvsc.ko",
                         "kernel/net/key/af_key.ko", "kernel/drivers/scsi/hv_storvsc.ko"]

    /// A Debian module without its signature: the trailer read here independently of the
    /// library (`sig_len` is the big-endian u32 before the 28-byte magic).
    static func unsigned(_ relative: String) throws -> [UInt8] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(modulesRoot)/\(relative)")))
        let magic = Array("~Module signature appended~\n".utf8)
        #expect(Array(bytes.suffix(28)) == magic)
        let n = bytes.count - 28
        let sigLen = Int(bytes[n - 4]) << 24 | Int(bytes[n - 3]) << 16 | Int(bytes[n - 2]) << 8 | Int(bytes[n - 1])
        return Array(bytes[..<(n - 12 - sigLen)])
    }

    /// A key pair made with the kernel's own recipe: `openssl req` with
    /// certs/default_x509.genkey, as certs/Makefile runs it.
    static func opensslKey(in dir: TemporaryDirectory, ecdsa: Bool = false) throws -> (pem: String, x509: String) {
        let genkey = "\(Oracles.tree612)/certs/default_x509.genkey"
        let pem = "\(dir.path)/signing_key.pem", x509 = "\(dir.path)/signing_key.x509"
        var args = ["req", "-new", "-nodes", "-utf8", "-sha512", "-days", "36500", "-batch", "-x509", "-config", genkey,
                    "-outform", "PEM", "-out", pem, "-keyout", pem]
        if ecdsa { args += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1"] }
        let r = try run("/usr/bin/openssl", args)
        #expect(r.status == 0, "\(r.err)")
        let d = try run("/usr/bin/openssl", ["x509", "-in", pem, "-outform", "DER", "-out", x509])
        #expect(d.status == 0, "\(d.err)")
        return (pem, x509)
    }

    static func read(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// modinfo's signature lines, sig_id to the end of signature (parm: lines follow).
    static func modinfoSignature(_ path: String) throws -> String {
        let r = try run("/sbin/modinfo", [path])
        #expect(r.status == 0, "\(r.err)")
        return signatureLines(r.out)
    }

    static func signatureLines(_ text: String) -> String {
        let keys = ["sig_id:", "signer:", "sig_key:", "sig_hashalgo:", "signature:", "\t\t"]
        return text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { line in keys.contains { line.hasPrefix($0) } }
            .map { $0 + "\n" }.joined()
    }
}

@Suite("Module signing: identical to sign-file, modinfo and the kernel's keyring", .serialized,
       .enabled(if: Oracles.signingShouldRun, "needs sign-file and Debian's cloud kernel: run scripts/setup-oracles.sh"))
struct ModuleSigningOracleTests {
    @Test("RSA signatures are byte-identical to sign-file's", arguments: ["sha224", "sha256", "sha384", "sha512"], [false, true])
    func signFileIdentity(hash: String, keyID: Bool) throws {
        let dir = try TemporaryDirectory()
        let key = try Material.opensslKey(in: dir)
        for (i, module) in Material.sample.enumerated() {
            let unsigned = try Material.unsigned(module)
            let theirs = try dir.write("theirs\(i).ko", bytes: unsigned)
            let ours = try dir.write("ours\(i).ko", bytes: unsigned)
            let flags = keyID ? ["-k"] : []
            let t = try run(Oracles.signFile, flags + [hash, key.pem, key.x509, theirs])
            #expect(t.status == 0, "\(t.err)")
            let o = try kernelkit(["modsign", "sign-file"] + flags + [hash, key.pem, key.x509, ours])
            #expect(o.status == 0, "\(o.err)")
            #expect(try Material.read(ours) == (try Material.read(theirs)), "\(module) \(hash) -k=\(keyID)")
        }
    }

    @Test("bulk sign: the same bytes as sign-file, and -d/-p write sign-file's .p7s")
    func bulkAndDetached() throws {
        let dir = try TemporaryDirectory()
        let key = try Material.opensslKey(in: dir)
        try FileManager.default.createDirectory(atPath: "\(dir.path)/tree/sub", withIntermediateDirectories: true)
        var expected = [String: [UInt8]]()
        for (i, module) in Material.sample.enumerated() {
            let unsigned = try Material.unsigned(module)
            let theirs = try dir.write("theirs\(i).ko", bytes: unsigned)
            #expect(try run(Oracles.signFile, ["sha512", key.pem, key.x509, theirs]).status == 0)
            let ours = try dir.write("tree/sub/m\(i).ko", bytes: unsigned)
            expected[ours] = try Material.read(theirs)
            // -d: only the detached signature, as sign-file writes it.
            let d1 = try dir.write("d\(i).ko", bytes: unsigned), d2 = try dir.write("e\(i).ko", bytes: unsigned)
            #expect(try run(Oracles.signFile, ["-d", "sha512", key.pem, key.x509, d1]).status == 0)
            #expect(try kernelkit(["modsign", "sign-file", "-d", "sha512", key.pem, key.x509, d2]).status == 0)
            #expect(try Material.read(d1 + ".p7s") == (try Material.read(d2 + ".p7s")))
            #expect(try Material.read(d2) == unsigned)
        }
        // -s: append a signature made elsewhere, as sign-file does.
        let unsignedRaw = try Material.unsigned(Material.sample[0])
        let r1 = try dir.write("raw1.ko", bytes: unsignedRaw), r2 = try dir.write("raw2.ko", bytes: unsignedRaw)
        #expect(try run(Oracles.signFile, ["-d", "sha256", key.pem, key.x509, r1]).status == 0)
        #expect(try run(Oracles.signFile, ["-s", r1 + ".p7s", "sha256", key.x509, r1]).status == 0)
        let s2 = try kernelkit(["modsign", "sign-file", "-s", r1 + ".p7s", "sha256", key.x509, r2])
        #expect(s2.status == 0, "\(s2.err)")
        #expect(try Material.read(r2) == (try Material.read(r1)))
        let r = try kernelkit(["modsign", "sign", "--key", key.pem, "--cert", key.x509, "--hash", "sha512", "\(dir.path)/tree"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("signed 4 of 4 modules"))
        for (path, want) in expected { #expect(try Material.read(path) == want, "\(path)") }
        // Signing again replaces the signature instead of stacking a second one.
        #expect(try kernelkit(["modsign", "sign", "--key", key.pem, "--cert", key.x509, "--hash", "sha512", "\(dir.path)/tree"]).status == 0)
        for (path, want) in expected { #expect(try Material.read(path) == want, "\(path)") }
    }

    @Test("ECDSA P-384 signatures (sha384, sha224) verify with openssl cms, and a flipped byte does not")
    func ecdsa() throws {
        let dir = try TemporaryDirectory()
        for useOpenssl in [true, false] {
            let sub = "\(dir.path)/\(useOpenssl ? "openssl" : "ours")"
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
            let key: (pem: String, x509: String)
            if useOpenssl {
                let d = try TemporaryDirectory()
                let k = try Material.opensslKey(in: d, ecdsa: true)
                try FileManager.default.copyItem(atPath: k.pem, toPath: "\(sub)/signing_key.pem")
                try FileManager.default.copyItem(atPath: k.x509, toPath: "\(sub)/signing_key.x509")
                key = ("\(sub)/signing_key.pem", "\(sub)/signing_key.x509")
            } else {
                let g = try kernelkit(["modsign", "keygen", "--out", sub, "--algo", "ecdsa-p384"])
                #expect(g.status == 0, "\(g.err)")
                key = ("\(sub)/signing_key.pem", "\(sub)/signing_key.x509")
            }
            let unsigned = try Material.unsigned(Material.sample[0])
            let module = try dir.write("m.ko", bytes: unsigned)
            // sha224 (ecdsa-with-SHA224, our own SHA-224) on one of the two passes.
            let s = try kernelkit(["modsign", "sign-file", "-p", useOpenssl ? "sha384" : "sha224", key.pem, key.x509, module])
            #expect(s.status == 0, "\(s.err)")
            let certPEM = "\(dir.path)/cert.pem"
            #expect(try run("/usr/bin/openssl", ["x509", "-inform", "DER", "-in", key.x509, "-out", certPEM]).status == 0)
            let content = try dir.write("content.ko", bytes: unsigned)
            let v = try run("/usr/bin/openssl", ["cms", "-verify", "-binary", "-inform", "DER", "-in", module + ".p7s",
                                                 "-content", content, "-certfile", certPEM, "-nointern", "-noverify",
                                                 "-out", "/dev/null"])
            #expect(v.status == 0, "openssl cms -verify: \(v.err)")
            var flipped = unsigned
            flipped[flipped.count / 2] ^= 0x01
            let bad = try dir.write("flipped.ko", bytes: flipped)
            let w = try run("/usr/bin/openssl", ["cms", "-verify", "-binary", "-inform", "DER", "-in", module + ".p7s",
                                                 "-content", bad, "-certfile", certPEM, "-nointern", "-noverify",
                                                 "-out", "/dev/null"])
            #expect(w.status != 0)
            // And our own verifier agrees.
            let ok = try kernelkit(["modsign", "verify", "--cert", key.x509, module])
            #expect(ok.status == 0, "\(ok.out)\(ok.err)")
        }
    }

    @Test("modinfo prints the same signature fields for modules we sign, plain and compressed")
    func modinfoOfOurs() throws {
        let dir = try TemporaryDirectory()
        let key = try Material.opensslKey(in: dir)
        let unsigned = try Material.unsigned(Material.sample[1])
        for (suffix, tool) in [("", nil), (".xz", "/usr/bin/xz"), (".gz", "/usr/bin/gzip"), (".zst", "/usr/bin/zstd")] as [(String, String?)] {
            let module = try dir.write("hv_netvsc.ko", bytes: unsigned)
            var path = module
            if let tool {
                let c = try run(tool, ["-q", "-f", module])
                #expect(c.status == 0, "\(c.err)")
                path = module + suffix
            }
            let s = try kernelkit(["modsign", "sign", "--key", key.pem, "--cert", key.x509, "--hash", "sha256", path])
            #expect(s.status == 0, "\(s.err)")
            let info = try kernelkit(["modsign", "info", "--format", "modinfo", path])
            #expect(info.status == 0, "\(info.err)")
            // Debian's kmod reads .ko.xz and .ko.zst but is built without zlib: for .ko.gz,
            // modinfo reads what gzip -d gives.
            var modinfoPath = path
            if suffix == ".gz" {
                let d = try run("/usr/bin/gzip", ["-dc", path])
                modinfoPath = try dir.write("gunzipped.ko", bytes: [UInt8](d.stdout))
            }
            #expect(Material.signatureLines(info.out) == (try Material.modinfoSignature(modinfoPath)), "\(path)")
            #expect(Material.signatureLines(info.out).hasPrefix("sig_id:         PKCS#7\nsigner:         Build time autogenerated kernel key\n"))
            #expect(info.out.hasPrefix("filename:       \(path)\n"))
            // The compressed file is still a valid file of its format, and strip restores
            // the exact unsigned module inside it.
            #expect(try kernelkit(["modsign", "strip", path]).status == 0)
            if let tool {
                let d = try run(tool, ["-d", "-q", "-f", path])
                #expect(d.status == 0, "\(d.err)")
            }
            #expect(try Material.read(module) == unsigned)
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: module)
        }
    }

    @Test("modsign info equals kmod's modinfo byte for byte: every field, parm lines too, .ko and .ko.xz")
    func modinfoWhole() throws {
        // Every 16th of Debian 12's 1,121 modules and every 40th of unstable's .ko.xz:
        // parameters with and without descriptions, aliases, firmware, import_ns, softdeps.
        let plain = try ModuleTree.collect([Material.modulesRoot]).enumerated().filter { $0.offset % 16 == 0 }.map(\.element)
        let sid = "\(Oracles.cloudSid)/usr/lib/modules/\(CloudKernel.unstable.release)"
        let xz = try ModuleTree.collect([sid]).filter { $0.hasSuffix(".ko.xz") }.enumerated().filter { $0.offset % 40 == 0 }.map(\.element)
        #expect(plain.count >= 60 && xz.count >= 20, "\(plain.count) \(xz.count)")
        var parms = 0
        for f in plain + xz {
            let ours = try kernelkit(["modsign", "info", f])
            let theirs = try run("/sbin/modinfo", [f])
            #expect(ours.status == 0 && theirs.status == 0, "\(f): \(ours.err)\(theirs.err)")
            #expect(ours.out == theirs.out, "\(f)")
            if theirs.out.contains("\nparm:") { parms += 1 }
        }
        #expect(parms >= 10, "the sample has modules with parameters")
        // A file that is not a module: one located line, exit 2 (kmod's modinfo fails too).
        let dir = try TemporaryDirectory()
        let junk = try dir.write("junk.ko", bytes: Array("not a module\n".utf8))
        let r = try kernelkit(["modsign", "info", junk])
        #expect(r.status == 2 && r.out.isEmpty)
        #expect(r.err.split(separator: "\n").count == 1 && r.err.contains(junk), "\(r.err)")
    }

    @Test("Debian's 1,121 signed modules: info equals modinfo, all verify against the vmlinuz keyring")
    func debianModules() throws {
        let files = try ModuleTree.collect([Material.modulesRoot])
        #expect(files.count == 1121)
        // modinfo, once for all of them; its records start with "filename:".
        let r = try run("/sbin/modinfo", files)
        #expect(r.status == 0)
        var theirs = [String: String]()
        for record in r.out.components(separatedBy: "filename:       ").dropFirst() {
            let path = String(record.prefix { $0 != "\n" })
            theirs[path] = Material.signatureLines(record)
        }
        #expect(theirs.count == 1121)
        var mismatches = 0
        for f in files {
            let info = try SignatureInfo(module: try ModuleFile.read(f))
            if info?.modinfoText != theirs[f] { mismatches += 1 }
        }
        #expect(mismatches == 0)
        // The kernel image's built-in certificate verifies every module.
        let v = try kernelkit(["modsign", "verify", "--keyring", Material.vmlinuz, "--format", "json", Material.modulesRoot])
        #expect(v.status == 0, "\(v.err)")
        #expect(v.out.contains("\"valid\": 1121") || v.out.contains("\"valid\":1121"), "\(v.out.prefix(300))")
        // extract-certs finds the build key that modinfo names as signer.
        let dir = try TemporaryDirectory()
        let x = try kernelkit(["modsign", "extract-certs", Material.vmlinuz, "-o", dir.path])
        #expect(x.status == 0, "\(x.err)")
        #expect(x.out.contains("Build time autogenerated kernel key"))
        let openssl = try run("/usr/bin/openssl", ["x509", "-inform", "DER", "-in", "\(dir.path)/cert-1.der", "-noout", "-serial"])
        let serial = openssl.out.replacingOccurrences(of: "serial=", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
        let modinfoKey = try run("/sbin/modinfo", ["-F", "sig_key", files[0]]).out
            .replacingOccurrences(of: ":", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(serial == modinfoKey)
        // One flipped byte in a copy: a bad signature, and a nonzero exit.
        var bytes = try Material.read(files[0])
        bytes[bytes.count / 3] ^= 0x40
        let copy = try dir.write("flipped.ko", bytes: bytes)
        let bad = try kernelkit(["modsign", "verify", "--cert", "\(dir.path)/cert-1.der", copy])
        #expect(bad.status == 1)
        #expect(bad.out.hasPrefix("bad-signature\t"))
    }

    @Test("keygen follows certs/default_x509.genkey and never overwrites")
    func keygen() throws {
        let dir = try TemporaryDirectory()
        let g = try kernelkit(["modsign", "keygen", "--out", dir.path])
        #expect(g.status == 0, "\(g.err)")
        let text = try run("/usr/bin/openssl", ["x509", "-inform", "DER", "-in", "\(dir.path)/signing_key.x509", "-noout", "-text"]).out
        #expect(text.contains("Signature Algorithm: sha512WithRSAEncryption"))
        #expect(text.contains("Public-Key: (4096 bit)"))
        #expect(text.contains("X509v3 Basic Constraints: critical\n                CA:FALSE"))
        #expect(text.contains("X509v3 Key Usage: \n                Digital Signature") || text.contains("X509v3 Key Usage:\n                Digital Signature"))
        #expect(text.contains("X509v3 Subject Key Identifier"))
        #expect(text.contains("X509v3 Authority Key Identifier"))
        #expect(text.contains("Subject: CN = Build time autogenerated kernel key"))
        var st = stat()
        #expect(stat("\(dir.path)/signing_key.pem", &st) == 0 && st.st_mode & 0o777 == 0o600)
        // The key in signing_key.pem is the certificate's, as openssl sees it.
        let k = try run("/usr/bin/openssl", ["pkey", "-in", "\(dir.path)/signing_key.pem", "-pubout"]).out
        let c = try run("/usr/bin/openssl", ["x509", "-in", "\(dir.path)/signing_key.pem", "-pubkey", "-noout"]).out
        #expect(!k.isEmpty && k == c)
        // sign-file accepts our key and certificate.
        let unsigned = try Material.unsigned(Material.sample[2])
        let module = try dir.write("m.ko", bytes: unsigned)
        let s = try run(Oracles.signFile, ["sha512", "\(dir.path)/signing_key.pem", "\(dir.path)/signing_key.x509", module])
        #expect(s.status == 0, "\(s.err)")
        let before = try Material.read("\(dir.path)/signing_key.pem")
        let again = try kernelkit(["modsign", "keygen", "--out", dir.path])
        #expect(again.status == 2)
        #expect(again.err.contains("never overwrites"))
        #expect(try Material.read("\(dir.path)/signing_key.pem") == before)
    }

    @Test("encrypted keys: KBUILD_SIGN_PIN decrypts them, as sign-file does; without it, a clear error")
    func encryptedKey() throws {
        let dir = try TemporaryDirectory()
        let key = try Material.opensslKey(in: dir)
        let encrypted = "\(dir.path)/encrypted.pem"
        #expect(try run("/usr/bin/openssl", ["pkey", "-in", key.pem, "-aes256", "-passout", "pass:s3cret", "-out", encrypted]).status == 0)
        let unsigned = try Material.unsigned(Material.sample[2])
        let theirs = try dir.write("theirs.ko", bytes: unsigned), ours = try dir.write("ours.ko", bytes: unsigned)
        #expect(try run(Oracles.signFile, ["sha256", encrypted, key.x509, theirs], environment: ["KBUILD_SIGN_PIN": "s3cret"]).status == 0)
        let o = try kernelkit(["modsign", "sign-file", "sha256", encrypted, key.x509, ours], environment: ["KBUILD_SIGN_PIN": "s3cret"])
        #expect(o.status == 0, "\(o.err)")
        #expect(try Material.read(ours) == (try Material.read(theirs)))
        let plain = try dir.write("plain.ko", bytes: unsigned)
        let none = try kernelkit(["modsign", "sign-file", "sha256", encrypted, key.x509, plain])
        #expect(none.status == 2)
        #expect(none.err.contains("KBUILD_SIGN_PIN"))
        let wrong = try kernelkit(["modsign", "sign-file", "sha256", encrypted, key.x509, plain], environment: ["KBUILD_SIGN_PIN": "nope"])
        #expect(wrong.status == 2)
        #expect(try Material.read(plain) == unsigned)
    }

    @Test("check-config: the hash and key type against Debian's config")
    func checkConfig() throws {
        let dir = try TemporaryDirectory()
        let key = try Material.opensslKey(in: dir)
        let ok = try kernelkit(["modsign", "check-config", "--config", Material.config, "--cert", key.x509, "--hash", "sha256"])
        #expect(ok.status == 0, "\(ok.out)\(ok.err)")
        #expect(ok.out.contains("ok MODULE_SIG_HASH"))
        let bad = try kernelkit(["modsign", "check-config", "--config", Material.config, "--cert", key.x509, "--hash", "sha512"])
        #expect(bad.status == 1)
        #expect(bad.out.contains("MISMATCH MODULE_SIG_HASH: signing with sha512, but the kernel is configured for sha256"))
    }
}
