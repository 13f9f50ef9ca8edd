import Crypto
import _CryptoExtras
import KernelKitCore

/// Signs modules exactly as the kernel's `scripts/sign-file` does.
public struct ModuleSigner: Sendable {
    public let key: SigningKey
    public let certificate: X509Certificate
    public let hash: HashAlgorithm
    /// Identify the signer by subject key id (sign-file -k) instead of issuer and serial.
    public let useKeyID: Bool

    /// - Throws: `.keyMismatch` when the key is not the certificate's, `.badCertificate`
    ///   when -k is asked for and the certificate has no subject key id.
    public init(key: SigningKey, certificate: X509Certificate, hash: HashAlgorithm, useKeyID: Bool = false,
                certificateFile: String = "<certificate>") throws(KernelKitError) {
        guard key.matches(certificate) else {
            throw failure(.keyMismatch, "the private key does not belong to this certificate", certificateFile)
        }
        if useKeyID && certificate.subjectKeyIdentifier == nil {
            throw failure(.badCertificate, "the certificate has no subjectKeyIdentifier, which -k needs", certificateFile)
        }
        self.key = key
        self.certificate = certificate
        self.hash = hash
        self.useKeyID = useKeyID
    }

    /// The PKCS#7 message for `content`.
    public func signature(for content: ArraySlice<UInt8>) throws(KernelKitError) -> [UInt8] {
        let raw = try key.sign(content, hash: hash)
        let signer: PKCS7Signature.SignerID = useKeyID
            ? .subjectKeyIdentifier(certificate.subjectKeyIdentifier!)
            : .issuerAndSerial(issuer: certificate.issuerDER, serial: certificate.serial)
        let alg = key.signatureAlgorithm(hash)
        let message = PKCS7Signature(signer: signer, hash: hash, signatureAlgorithm: alg.oid.description, signature: raw)
        do {
            return try message.serialize()
        } catch {
            throw failure(.malformedSignature, "cannot encode the PKCS#7 message: \(error)")
        }
    }

    /// The module with its old signatures removed and a new one appended:
    /// `[module][PKCS#7][struct module_signature][magic]`.
    public func sign(_ module: ModuleFile) throws(KernelKitError) -> ModuleFile {
        let content = try module.unsignedContent()
        // A module must be ELF: sign-file does not check, but a signed non-module is a mistake.
        _ = try ModuleInfo(elf: content, file: module.path)
        let p7 = try signature(for: content)
        var out = ModuleFile(path: module.path, bytes: Array(content), compression: module.compression)
        out.bytes.reserveCapacity(content.count + p7.count + 40)
        out.bytes += p7
        out.bytes += SignatureTrailer.info(signatureLength: p7.count)
        out.bytes += SignatureTrailer.magic
        return out
    }
}

/// Removing appended signatures.
extension ModuleFile {
    /// The module with every appended signature removed: the exact unsigned bytes.
    public func stripped() throws(KernelKitError) -> ModuleFile {
        ModuleFile(path: path, bytes: Array(try unsignedContent()), compression: compression)
    }
}

/// A set of trusted certificates: files given by the user, or a kernel's built-in keyring.
public struct Keyring: Sendable {
    public var certificates: [X509Certificate]

    public init(_ certificates: [X509Certificate]) { self.certificates = certificates }

    /// The certificate a signature names, as `pkcs7_find_key()` matches it.
    public func certificate(for signer: PKCS7Signature.SignerID) -> X509Certificate? {
        certificates.first { cert in
            switch signer {
            case .issuerAndSerial(let issuer, let serial):
                cert.issuerDER == issuer && cert.serial == serial
            case .subjectKeyIdentifier(let id):
                cert.subjectKeyIdentifier == id
            }
        }
    }
}

/// What verifying one module found.
public struct Verification: Sendable {
    public enum Verdict: String, Sendable {
        case valid
        case badSignature = "bad-signature"
        case unknownKey = "unknown-key"
        case unsigned
        case malformedTrailer = "malformed-trailer"
    }

    public var path: String
    public var verdict: Verdict
    /// The signer's name (the certificate's subject CN, else the issuer CN).
    public var signer: String?
    /// The serial number or subject key id, as modinfo's sig_key prints it.
    public var keyID: [UInt8]?
    public var hash: HashAlgorithm?
    /// Why, for anything but valid.
    public var detail: String?

    public init(path: String, verdict: Verdict, signer: String? = nil, keyID: [UInt8]? = nil,
                hash: HashAlgorithm? = nil, detail: String? = nil) {
        self.path = path
        self.verdict = verdict
        self.signer = signer
        self.keyID = keyID
        self.hash = hash
        self.detail = detail
    }
}

extension Keyring {
    /// Verifies `module`'s last signature: the digest of the bytes before it, checked
    /// with the named certificate's public key, as the kernel's `mod_verify_sig()` does.
    public func verify(_ module: ModuleFile) -> Verification {
        var result = Verification(path: module.path, verdict: .unsigned)
        let trailer: SignatureTrailer
        do {
            guard let t = try module.trailer() else {
                result.detail = "no signature appended"
                return result
            }
            trailer = t
        } catch {
            result.verdict = .malformedTrailer
            result.detail = error.message
            return result
        }
        let p7: PKCS7Signature
        do {
            p7 = try PKCS7Signature(der: module.bytes[trailer.signature], file: module.path)
        } catch {
            result.verdict = .malformedTrailer
            result.detail = error.message
            return result
        }
        result.keyID = p7.keyID
        result.hash = p7.hash
        guard let cert = certificate(for: p7.signer) else {
            result.verdict = .unknownKey
            result.signer = Self.issuerName(p7)
            result.detail = "no trusted certificate has key id \(hexColon(p7.keyID))"
            return result
        }
        result.signer = cert.subjectCommonName ?? cert.issuerCommonName
        let content = module.bytes[..<trailer.contentEnd]
        let ok: Bool
        do {
            ok = try Self.check(p7, content: content, certificate: cert)
        } catch {
            result.verdict = .badSignature
            result.detail = error.message
            return result
        }
        result.verdict = ok ? .valid : .badSignature
        if !ok { result.detail = "the signature does not match the module's \(p7.hash.rawValue) digest" }
        return result
    }

    private static func issuerName(_ p7: PKCS7Signature) -> String? {
        guard case .issuerAndSerial(let issuer, _) = p7.signer else { return nil }
        return try? X509Certificate.commonName(der: issuer)
    }

    static func check(_ p7: PKCS7Signature, content: ArraySlice<UInt8>, certificate cert: X509Certificate) throws(KernelKitError) -> Bool {
        if let set = MLDSAParameterSet(rawValue: cert.keyType.rawValue) {
            // pkcs7_parser.c: no signed attributes and an algo_takes_data key, so the
            // signature is over the module bytes and the digest algorithm is unused.
            guard p7.signatureAlgorithm == set.oid.description else {
                throw failure(.malformedSignature, "\(set.rawValue) certificate but signature algorithm \(p7.signatureAlgorithm)")
            }
            do {
                return try MLDSAKey.verify(set, signature: p7.signature, message: content, publicKey: cert.publicKeyBits)
            } catch {
                throw failure(.badCertificate, "cannot use the certificate's \(set.rawValue) public key: \(error)")
            }
        }
        let digest = try p7.hash.digest(content)
        do {
            switch cert.keyType {
            case .rsa:
                guard p7.signatureAlgorithm == OID.rsaEncryption.description else {
                    throw failure(.malformedSignature, "RSA signature with algorithm \(p7.signatureAlgorithm); the kernel wants rsaEncryption")
                }
                if case .sha224(let d) = digest {
                    return try RSAPKCS1.verify(p7.signature, digest: d.bytes, hash: .sha224, publicKeyInfo: cert.publicKeyInfo)
                }
                let key = try _RSA.Signing.PublicKey(unsafeDERRepresentation: cert.publicKeyInfo)
                let sig = _RSA.Signing.RSASignature(rawRepresentation: p7.signature)
                return digest.verify { d in key.isValidSignature(sig, for: d, padding: .insecurePKCS1v1_5) }
            case .ecdsaP384:
                let key = try P384.Signing.PublicKey(derRepresentation: cert.publicKeyInfo)
                guard let sig = try? P384.Signing.ECDSASignature(derRepresentation: p7.signature) else { return false }
                return digest.verify { d in key.isValidSignature(sig, for: d) }
            case .ecdsaP256:
                let key = try P256.Signing.PublicKey(derRepresentation: cert.publicKeyInfo)
                guard let sig = try? P256.Signing.ECDSASignature(derRepresentation: p7.signature) else { return false }
                return digest.verify { d in key.isValidSignature(sig, for: d) }
            default:
                throw failure(.badCertificate, "the certificate's key type is not supported for module signatures")
            }
        } catch let e as KernelKitError {
            throw e
        } catch {
            throw failure(.badCertificate, "cannot use the certificate's public key: \(error)")
        }
    }
}

extension Keyring {
    /// Reads and verifies one module file; a file that cannot be read or decompressed is
    /// reported as malformed, with the reason.
    public func verify(file path: String) -> Verification {
        do {
            return verify(try ModuleFile.read(path))
        } catch {
            return Verification(path: path, verdict: .malformedTrailer, detail: error.message)
        }
    }
}

extension Verification {
    /// One module in the `kernelkit.modsign-verify/1` JSON report.
    public var json: JSONValue {
        .object([("path", .string(path)), ("verdict", .string(verdict.rawValue)),
                 ("signer", signer.map { .string($0) } ?? .null),
                 ("key_id", keyID.map { .string(hexColon($0)) } ?? .null),
                 ("hash", hash.map { .string($0.rawValue) } ?? .null),
                 ("detail", detail.map { .string($0) } ?? .null)])
    }

    /// One line of the text report.
    public var text: String {
        var out = "\(verdict.rawValue)\t\(path)"
        if let signer { out += "\tsigner=\"\(signer)\"" }
        if let keyID { out += "\tkey=\(hexColon(keyID))" }
        if let hash { out += "\thash=\(hash.rawValue)" }
        if let detail { out += "\t(\(detail))" }
        return out
    }
}

extension AnyDigest {
    func verify(_ check: (any Digest) -> Bool) -> Bool {
        switch self {
        case .sha1(let d): check(d)
        case .sha224(let d): check(d)
        case .sha256(let d): check(d)
        case .sha384(let d): check(d)
        case .sha512(let d): check(d)
        }
    }
}

/// `XX:XX:…`, upper case, as modinfo prints key ids.
public func hexColon(_ bytes: [UInt8]) -> String {
    bytes.map { hexByte($0) }.joined(separator: ":")
}

func hexByte(_ b: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
}
