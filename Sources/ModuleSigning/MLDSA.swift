import Crypto
import KernelKitCore
import SwiftASN1

/// ML-DSA (FIPS 204) module signing, experimental: the form Linux 7.0 and later accept.
///
/// The kernel's PKCS#7 parser (crypto/asymmetric_keys/pkcs7_parser.c) marks id-ml-dsa-65
/// and id-ml-dsa-87 as `algo_takes_data`: with no signed attributes the signature is
/// pure ML-DSA over the module bytes themselves (empty context, `hash_algo` "none"), and
/// `public_key.c` wants the raw encoding. That is the form KernelKit writes: sign-file's
/// CMS_NOATTR shape with the ML-DSA OID and the raw signature. (OpenSSL 3.5 cannot sign
/// ML-DSA without attributes, so the 7.x sign-file drops CMS_NOATTR there, which the
/// kernel accepts only with CONFIG_PKCS7_WAIVE_AUTHATTRS_REJECTION_FOR_MLDSA.)
public enum MLDSAParameterSet: String, Sendable, CaseIterable {
    case mldsa65 = "ml-dsa-65", mldsa87 = "ml-dsa-87"

    var oid: ASN1ObjectIdentifier { self == .mldsa65 ? OID.mldsa65 : OID.mldsa87 }

    init?(oid: ASN1ObjectIdentifier) {
        guard let p = Self.allCases.first(where: { $0.oid == oid }) else { return nil }
        self = p
    }
}

/// An ML-DSA private key, written and read as its 32-byte seed (RFC 9881's preferred
/// form); the expanded key is kept, so bulk signing expands it once.
public struct MLDSAKey: Sendable {
    private enum Expanded: Sendable {
        case mldsa65(MLDSA65.PrivateKey)
        case mldsa87(MLDSA87.PrivateKey)
    }

    public let parameterSet: MLDSAParameterSet
    let seed: [UInt8]
    /// The raw FIPS 204 public key.
    public let publicKey: [UInt8]
    private let key: Expanded

    public init(_ parameterSet: MLDSAParameterSet, seed: [UInt8]? = nil) throws {
        self.parameterSet = parameterSet
        switch parameterSet {
        case .mldsa65:
            let k = try seed.map { try MLDSA65.PrivateKey(seedRepresentation: $0, publicKey: nil) } ?? MLDSA65.PrivateKey()
            self.seed = Array(k.seedRepresentation)
            publicKey = Array(k.publicKey.rawRepresentation)
            key = .mldsa65(k)
        case .mldsa87:
            let k = try seed.map { try MLDSA87.PrivateKey(seedRepresentation: $0, publicKey: nil) } ?? MLDSA87.PrivateKey()
            self.seed = Array(k.seedRepresentation)
            publicKey = Array(k.publicKey.rawRepresentation)
            key = .mldsa87(k)
        }
    }

    /// Pure ML-DSA over `message`, empty context, as the kernel's mldsa_verify() checks.
    func sign(_ message: ArraySlice<UInt8>) throws -> [UInt8] {
        switch key {
        case .mldsa65(let k): Array(try k.signature(for: message))
        case .mldsa87(let k): Array(try k.signature(for: message))
        }
    }

    static func verify(_ parameterSet: MLDSAParameterSet, signature: [UInt8], message: ArraySlice<UInt8>, publicKey: [UInt8]) throws -> Bool {
        switch parameterSet {
        case .mldsa65: try MLDSA65.PublicKey(rawRepresentation: publicKey).isValidSignature(signature, for: message)
        case .mldsa87: try MLDSA87.PublicKey(rawRepresentation: publicKey).isValidSignature(signature, for: message)
        }
    }

    /// SubjectPublicKeyInfo (RFC 9881 §4): the OID without parameters, the raw key.
    var publicKeyInfo: [UInt8] {
        var s = DER.Serializer()
        try? s.appendConstructedNode(identifier: .sequence) { s in
            try s.appendConstructedNode(identifier: .sequence) { s in try s.serialize(parameterSet.oid) }
            try s.serialize(ASN1BitString(bytes: publicKey[...]))
        }
        return s.serializedBytes
    }

    /// PKCS#8 OneAsymmetricKey with the seed CHOICE (`[0] IMPLICIT OCTET STRING`), the
    /// form OpenSSL 3.5 reads and RFC 9881 §6 recommends.
    var pkcs8: [UInt8] {
        var inner = DER.Serializer()
        inner.appendPrimitiveNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { $0 += seed }
        var s = DER.Serializer()
        try? s.appendConstructedNode(identifier: .sequence) { s in
            try s.serialize(0)
            try s.appendConstructedNode(identifier: .sequence) { s in try s.serialize(parameterSet.oid) }
            try s.serialize(ASN1OctetString(contentBytes: inner.serializedBytes[...]))
        }
        return s.serializedBytes
    }

    /// Reads a PKCS#8 ML-DSA key: the seed form, or `both` (seed and expanded key; the
    /// seed is used). nil when the key is not ML-DSA.
    static func fromPKCS8(_ der: [UInt8], file: String) throws(KernelKitError) -> MLDSAKey? {
        // Not even a PKCS#8 structure with an ML-DSA algorithm: not ours to judge (the
        // caller's other readers, and its error, say what the key is not).
        guard let root = try? DER.parse(der), let parts = try? X509Certificate.children(root), parts.count >= 3,
              let alg = (try? X509Certificate.children(parts[1]))?.first, let oid = try? ASN1ObjectIdentifier(derEncoded: alg),
              let set = MLDSAParameterSet(oid: oid) else { return nil }
        do {
            guard case .primitive(let body) = parts[2].content else {
                throw failure(.badKey, "bad ML-DSA private key", file)
            }
            let choice = try DER.parse(body)
            var seed: ArraySlice<UInt8>?
            if choice.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific), case .primitive(let s) = choice.content {
                seed = s
            } else if choice.identifier == .sequence, let first = try X509Certificate.children(choice).first,
                      case .primitive(let s) = first.content {
                seed = s
            }
            guard let seed, seed.count == 32 else {
                throw failure(.badKey, "the ML-DSA private key holds only the expanded key; KernelKit needs the seed form (openssl: -provparam ml-dsa.output_formats=seed-only)", file)
            }
            return try MLDSAKey(set, seed: Array(seed))
        } catch let e as KernelKitError {
            throw e
        } catch {
            throw failure(.badKey, "cannot read the ML-DSA private key: \(plainReason(error))", file)
        }
    }
}
