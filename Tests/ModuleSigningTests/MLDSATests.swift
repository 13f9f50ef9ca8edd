import Foundation
import KernelKitCore
import Testing

/// One element of `openssl asn1parse` output: where it is, its header and body lengths.
struct ASN1Entry {
    let offset: Int, headerLength: Int, length: Int, text: String
    var body: Range<Int> { (offset + headerLength)..<(offset + headerLength + length) }
}

/// The elements of a DER file, as OpenSSL's parser finds them: an extraction that does
/// not go through KernelKit's own DER code.
func asn1parse(_ path: String) throws -> [ASN1Entry] {
    let r = try run("/usr/bin/openssl", ["asn1parse", "-inform", "DER", "-in", path])
    #expect(r.status == 0, "\(r.err)")
    return r.out.split(separator: "\n").compactMap { line in
        // "  195:d=3  hl=4 l=1953 prim: BIT STRING", "   10:d=3  hl=2 l=   1 prim: INTEGER"
        let f = line.replacingOccurrences(of: "= +", with: "=", options: .regularExpression)
            .split(separator: " ", omittingEmptySubsequences: true)
        guard f.count >= 3, let off = Int(f[0].split(separator: ":")[0]),
              let hl = Int(f[1].dropFirst(3)), let l = Int(f[2].dropFirst(2)) else { return nil }
        return ASN1Entry(offset: off, headerLength: hl, length: l, text: String(line))
    }
}

@Suite("ML-DSA module signatures (experimental): checked by the 7.2 kernel's own verifier", .serialized,
       .enabled(if: Oracles.signingShouldRun, "needs the oracles: run scripts/setup-oracles.sh"))
struct MLDSATests {
    @Test("keygen, sign, verify: the kernel's mldsa_verify() accepts the module and the certificate",
          arguments: [("ml-dsa-65", "65", 3309), ("ml-dsa-87", "87", 4627)])
    func kernelVerifies(algo: String, set: String, signatureSize: Int) throws {
        let dir = try TemporaryDirectory()
        let g = try kernelkit(["modsign", "keygen", "--out", dir.path, "--algo", algo])
        #expect(g.status == 0, "\(g.err)")
        let pem = "\(dir.path)/signing_key.pem", x509 = "\(dir.path)/signing_key.x509"
        var st = stat()
        #expect(stat(pem, &st) == 0 && st.st_mode & 0o777 == 0o600)

        // The certificate: TBSCertificate, the ML-DSA OID, the raw public key and a
        // self-signature the kernel's verifier accepts (x509_cert_parser.c marks
        // ML-DSA certificates algo_takes_data, so the TBS itself is the message).
        let cert = try Material.read(x509)
        let entries = try asn1parse(x509)
        let oidLines = entries.filter { $0.text.contains("OBJECT") && $0.text.contains(set == "65" ? "2.16.840.1.101.3.4.3.18" : "2.16.840.1.101.3.4.3.19") }
        #expect(oidLines.count == 3, "signature (TBS), key and outer algorithm OIDs")
        let bitStrings = entries.filter { $0.text.contains("BIT STRING") }
        try #require(bitStrings.count == 2)
        let publicKey = Array(cert[bitStrings[0].body].dropFirst())
        let certSignature = Array(cert[bitStrings[1].body].dropFirst())
        #expect(certSignature.count == signatureSize)
        let tbs = entries[1]
        let tbsBytes = Array(cert[tbs.offset..<(tbs.offset + tbs.headerLength + tbs.length)])
        let pkFile = try dir.write("pk", bytes: publicKey)
        let c = try run(Oracles.mldsaVerify, [set, pkFile, try dir.write("csig", bytes: certSignature), try dir.write("tbs", bytes: tbsBytes)])
        #expect(c.status == 0, "kernel mldsa_verify on the certificate: \(c.out)\(c.err)")
        let text = try run("/usr/bin/openssl", ["x509", "-inform", "DER", "-in", x509, "-noout", "-text"]).out
        #expect(text.contains("X509v3 Basic Constraints: critical\n                CA:FALSE"))
        #expect(text.contains("X509v3 Subject Key Identifier"))
        #expect(text.contains("X509v3 Authority Key Identifier"))

        // A module: sign, then hand the module bytes, the raw signature from the PKCS#7
        // and the public key to the kernel's verifier.
        let unsigned = try Material.unsigned(Material.sample[0])
        let module = try dir.write("m.ko", bytes: unsigned)
        let s = try kernelkit(["modsign", "sign-file", "-p", "sha512", pem, x509, module])
        #expect(s.status == 0, "\(s.err)")
        let p7 = try Material.read(module + ".p7s")
        let p7Entries = try asn1parse(module + ".p7s")
        #expect(!p7Entries.contains { $0.text.contains("cont [ 0 ]") && $0.text.contains("d=4") },
                "no certificates in the SignedData (sign-file's CMS_NOCERTS)")
        #expect(p7Entries.contains { $0.text.contains(set == "65" ? "2.16.840.1.101.3.4.3.18" : "2.16.840.1.101.3.4.3.19") })
        let sigEntry = try #require(p7Entries.last { $0.text.contains("OCTET STRING") })
        let signature = Array(p7[sigEntry.body])
        #expect(signature.count == signatureSize)
        let signed = try Material.read(module)
        #expect(Array(signed.prefix(unsigned.count)) == unsigned)
        #expect(Array(signed[unsigned.count..<(unsigned.count + p7.count)]) == p7, "the .p7s is the appended message")
        let sigFile = try dir.write("sig", bytes: signature)
        let v = try run(Oracles.mldsaVerify, [set, pkFile, sigFile, try dir.write("content", bytes: unsigned)])
        #expect(v.status == 0, "kernel mldsa_verify on the module: \(v.out)\(v.err)")
        var flipped = unsigned
        flipped[flipped.count / 2] ^= 0x01
        let w = try run(Oracles.mldsaVerify, [set, pkFile, sigFile, try dir.write("flipped", bytes: flipped)])
        #expect(w.status == 1, "the kernel rejects a flipped byte: \(w.out)")

        // Our verifier and info agree; kmod's modinfo prints the same fields.
        let ok = try kernelkit(["modsign", "verify", "--cert", x509, module])
        #expect(ok.status == 0, "\(ok.out)\(ok.err)")
        let info = try kernelkit(["modsign", "info", "--format", "modinfo", module])
        #expect(Material.signatureLines(info.out) == (try Material.modinfoSignature(module)))
        var damaged = signed
        damaged[damaged.count / 3] ^= 0x01
        let bad = try dir.write("damaged.ko", bytes: damaged)
        let r = try kernelkit(["modsign", "verify", "--cert", x509, bad])
        #expect(r.status == 1)
        #expect(r.out.hasPrefix("bad-signature\t"))
    }

    @Test("check-config knows the 7.x ML-DSA key types")
    func checkConfig() throws {
        let dir = try TemporaryDirectory()
        #expect(try kernelkit(["modsign", "keygen", "--out", dir.path, "--algo", "ml-dsa-87"]).status == 0)
        let config = try dir.write("config", """
            CONFIG_MODULE_SIG=y
            # CONFIG_MODULE_SIG_KEY_TYPE_RSA is not set
            # CONFIG_MODULE_SIG_KEY_TYPE_ECDSA is not set
            CONFIG_MODULE_SIG_KEY_TYPE_MLDSA_87=y
            CONFIG_MODULE_SIG_HASH="sha512"

            """)
        let ok = try kernelkit(["modsign", "check-config", "--config", config, "--cert", "\(dir.path)/signing_key.x509", "--hash", "sha512"])
        #expect(ok.status == 0, "\(ok.out)\(ok.err)")
        #expect(ok.out.contains("the key is ML-DSA-87, as the kernel's build key type"))
        let rsa = try TemporaryDirectory()
        #expect(try kernelkit(["modsign", "keygen", "--out", rsa.path]).status == 0)
        let bad = try kernelkit(["modsign", "check-config", "--config", config, "--cert", "\(rsa.path)/signing_key.x509", "--hash", "sha512"])
        #expect(bad.status != 0)
        #expect(bad.out.contains("MODULE_SIG_KEY_TYPE_MLDSA_87: the key is RSA, but the kernel's build key type is ML-DSA-87"), "\(bad.out)")
    }
}

extension MLDSATests {
    @Test("a signature with signed attributes (openssl cms's default) is malformed for a module, with the reason")
    func signedAttributes() throws {
        let dir = try TemporaryDirectory()
        let key = try Material.opensslKey(in: dir)
        let unsigned = try Material.unsigned(Material.sample[0])
        let content = try dir.write("content.ko", bytes: unsigned)
        let p7s = "\(dir.path)/attrs.p7s"
        let c = try run("/usr/bin/openssl", ["cms", "-sign", "-binary", "-outform", "DER", "-nocerts", "-md", "sha256",
                                             "-signer", key.pem, "-inkey", key.pem, "-in", content, "-out", p7s])
        #expect(c.status == 0, "\(c.err)")
        let module = try dir.write("m.ko", bytes: unsigned)
        #expect(try run(Oracles.signFile, ["-s", p7s, "sha256", key.x509, module]).status == 0)
        let r = try kernelkit(["modsign", "verify", "--cert", key.x509, module])
        #expect(r.status != 0)
        #expect(r.out.hasPrefix("malformed-trailer\t"), "\(r.out)")
        #expect(r.out.contains("signed attributes, which the kernel refuses in module signatures"), "\(r.out)")
    }
}
