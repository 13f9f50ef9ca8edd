import Crypto
import _CryptoExtras
import KernelKitCore
import SwiftASN1

/// The digests module signatures use, with the names sign-file and modinfo print.
public enum HashAlgorithm: String, Sendable, CaseIterable {
    case sha1, sha224, sha256, sha384, sha512

    /// The digest OIDs (NIST and OIW), as OpenSSL writes them: no parameters.
    var oid: ASN1ObjectIdentifier {
        switch self {
        case .sha1: [1, 3, 14, 3, 2, 26]
        case .sha224: [2, 16, 840, 1, 101, 3, 4, 2, 4]
        case .sha256: [2, 16, 840, 1, 101, 3, 4, 2, 1]
        case .sha384: [2, 16, 840, 1, 101, 3, 4, 2, 2]
        case .sha512: [2, 16, 840, 1, 101, 3, 4, 2, 3]
        }
    }

    init?(oid: ASN1ObjectIdentifier) {
        guard let h = Self.allCases.first(where: { $0.oid == oid }) else { return nil }
        self = h
    }

    /// Weak digests are used only when asked for by name.
    public var isWeak: Bool { self == .sha1 || self == .sha224 }

    /// The digest of `bytes`.
    func digest(_ bytes: ArraySlice<UInt8>) throws(KernelKitError) -> AnyDigest {
        switch self {
        case .sha1: return .sha1(Insecure.SHA1.hash(data: bytes))
        case .sha256: return .sha256(SHA256.hash(data: bytes))
        case .sha384: return .sha384(SHA384.hash(data: bytes))
        case .sha512: return .sha512(SHA512.hash(data: bytes))
        case .sha224: return .sha224(SHA224Digest.hash(bytes))
        }
    }
}

/// One computed digest, of whichever algorithm.
enum AnyDigest {
    case sha1(Insecure.SHA1Digest)
    case sha224(SHA224Digest)
    case sha256(SHA256Digest)
    case sha384(SHA384Digest)
    case sha512(SHA512Digest)
}

/// A private key that signs modules: RSA (PKCS#1 v1.5, as the kernel verifies), ECDSA on
/// P-256 or P-384, or ML-DSA.
public enum SigningKey: Sendable {
    case rsa(_RSA.Signing.PrivateKey)
    case p256(P256.Signing.PrivateKey)
    case p384(P384.Signing.PrivateKey)
    /// Experimental: ML-DSA-65 or ML-DSA-87 (Linux 7.0 and later).
    case mldsa(MLDSAKey)

    /// Reads a PEM private key as sign-file does (`PEM_read_bio_PrivateKey`): PKCS#8,
    /// PKCS#1 RSA or SEC1 EC, plain or encrypted with a pass phrase (KBUILD_SIGN_PIN).
    /// The file may also hold the certificate, as `signing_key.pem` does.
    public static func load(_ bytes: [UInt8], file: String, passphrase: String?) throws(KernelKitError) -> SigningKey {
        let blocks = PEM.blocks(bytes)
        guard let block = blocks.first(where: { $0.label.hasSuffix("PRIVATE KEY") }) else {
            throw failure(.badKey, "no PEM private key in the file (PKCS#11 URIs are not supported)", file)
        }
        var der = block.der
        var label = block.label
        if label == "ENCRYPTED PRIVATE KEY" {
            guard let passphrase else {
                throw failure(.needsPIN, "the private key is encrypted: set KBUILD_SIGN_PIN to its pass phrase", file)
            }
            der = try PKCS8Decryption.decrypt(der, passphrase: passphrase, file: file)
            label = "PRIVATE KEY"
        } else if block.headers["Proc-Type"]?.contains("ENCRYPTED") == true {
            guard let passphrase else {
                throw failure(.needsPIN, "the private key is encrypted: set KBUILD_SIGN_PIN to its pass phrase", file)
            }
            der = try PKCS8Decryption.decryptLegacy(der, dekInfo: block.headers["DEK-Info"] ?? "", passphrase: passphrase, file: file)
        }
        if label == "PRIVATE KEY", let k = try MLDSAKey.fromPKCS8(der, file: file) { return .mldsa(k) }
        let pem = PEM.encode(der, label: label)
        switch label {
        case "RSA PRIVATE KEY":
            if let k = try? _RSA.Signing.PrivateKey(unsafePEMRepresentation: pem) { return .rsa(k) }
        case "EC PRIVATE KEY":
            if let k = try? P384.Signing.PrivateKey(pemRepresentation: pem) { return .p384(k) }
            if let k = try? P256.Signing.PrivateKey(pemRepresentation: pem) { return .p256(k) }
        default:
            if let k = try? _RSA.Signing.PrivateKey(unsafePEMRepresentation: pem) { return .rsa(k) }
            if let k = try? P384.Signing.PrivateKey(pemRepresentation: pem) { return .p384(k) }
            if let k = try? P256.Signing.PrivateKey(pemRepresentation: pem) { return .p256(k) }
        }
        do {
            _ = try DER.parse(der)
        } catch {
            throw failure(.badKey, "cannot read the private key: \(plainReason(error))", file)
        }
        throw failure(.badKey, "cannot read the private key: not an RSA (2048 bits or more), ECDSA P-256/P-384 or ML-DSA-65/87 key", file)
    }

    /// The SubjectPublicKeyInfo DER of the public half.
    var publicKeyInfo: [UInt8] {
        switch self {
        case .rsa(let k): Array(k.publicKey.derRepresentation)
        case .p256(let k): Array(k.publicKey.derRepresentation)
        case .p384(let k): Array(k.publicKey.derRepresentation)
        case .mldsa(let k): k.publicKeyInfo
        }
    }

    /// Whether `cert` holds this key's public half.
    public func matches(_ cert: X509Certificate) -> Bool {
        publicKeyInfo == cert.publicKeyInfo
    }

    public var typeName: String {
        switch self {
        case .rsa: "rsa"
        case .p256: "ecdsa-p256"
        case .p384: "ecdsa-p384"
        case .mldsa(let k): k.parameterSet.rawValue
        }
    }

    /// The SignerInfo signatureAlgorithm: rsaEncryption (with NULL parameters) for RSA,
    /// because the kernel's PKCS#7 parser rejects sha256WithRSAEncryption there;
    /// ecdsa-with-SHAx for ECDSA, as OpenSSL writes; the bare OID for ML-DSA.
    func signatureAlgorithm(_ hash: HashAlgorithm) -> (oid: ASN1ObjectIdentifier, nullParameters: Bool) {
        switch self {
        case .rsa: (OID.rsaEncryption, true)
        case .p256, .p384:
            switch hash {
            case .sha1: (OID.ecdsaWithSHA1, false)
            case .sha224: (OID.ecdsaWithSHA224, false)
            case .sha256: (OID.ecdsaWithSHA256, false)
            case .sha384: (OID.ecdsaWithSHA384, false)
            case .sha512: (OID.ecdsaWithSHA512, false)
            }
        case .mldsa(let k): (k.parameterSet.oid, false)
        }
    }

    /// Signs `content` (the module) with digest `hash`: no signed attributes, so the
    /// signature is over the content's digest itself, or, for ML-DSA, over the content
    /// (the digest algorithm is then only named in the message).
    func sign(_ content: ArraySlice<UInt8>, hash: HashAlgorithm) throws(KernelKitError) -> [UInt8] {
        // ML-DSA signs the content itself; the others sign its digest.
        let digest: AnyDigest? = if case .mldsa = self { nil } else { try hash.digest(content) }
        do {
            switch (self, digest) {
            case (.mldsa(let k), _): return try k.sign(content)
            case (.rsa(let k), .sha224(let d)?): return try RSAPKCS1.sign(d.bytes, hash: .sha224, key: k)
            case (.rsa(let k), let d?): return try d.signed(by: k)
            case (.p256(let k), let d?): return try d.signed(by: k)
            case (.p384(let k), let d?): return try d.signed(by: k)
            case (_, nil): throw failure(.badKey, "no digest to sign")
            }
        } catch let e as KernelKitError {
            throw e
        } catch {
            throw failure(.badKey, "signing failed: \(error)")
        }
    }
}

/// A key that signs a precomputed digest.
protocol DigestSigner {
    func signatureBytes<D: Digest>(for digest: D) throws -> [UInt8]
}

extension _RSA.Signing.PrivateKey: DigestSigner {
    func signatureBytes<D: Digest>(for digest: D) throws -> [UInt8] {
        Array(try signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation)
    }
}

extension P256.Signing.PrivateKey: DigestSigner {
    func signatureBytes<D: Digest>(for digest: D) throws -> [UInt8] { Array(try signature(for: digest).derRepresentation) }
}

extension P384.Signing.PrivateKey: DigestSigner {
    func signatureBytes<D: Digest>(for digest: D) throws -> [UInt8] { Array(try signature(for: digest).derRepresentation) }
}

extension AnyDigest {
    func signed(by key: some DigestSigner) throws -> [UInt8] {
        switch self {
        case .sha1(let d): try key.signatureBytes(for: d)
        case .sha224(let d): try key.signatureBytes(for: d)
        case .sha256(let d): try key.signatureBytes(for: d)
        case .sha384(let d): try key.signatureBytes(for: d)
        case .sha512(let d): try key.signatureBytes(for: d)
        }
    }
}
