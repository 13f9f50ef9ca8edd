import Crypto
import _CryptoExtras
import KernelKitCore
import SwiftASN1

/// Self-signed certificates with the profile of the kernel's `certs/default_x509.genkey`
/// (what certs/Makefile runs `openssl req -new -x509` with): version 3, a random
/// positive 20-byte serial, subject = issuer = one CN (UTF8String, as `-utf8`), 36500
/// days, and the extensions basicConstraints critical CA:FALSE, keyUsage
/// digitalSignature, subjectKeyIdentifier hash and authorityKeyIdentifier keyid.
///
/// Written directly with swift-asn1: the structure is small and fixed, and it covers
/// ML-DSA keys, which swift-certificates cannot hold. The tests check the result with
/// `openssl x509 -text`, sign-file and the kernel's own ML-DSA verifier.
struct CertificateBuilder {
    /// How the TBSCertificate is signed.
    enum Signer {
        case rsa(_RSA.Signing.PrivateKey)
        case p384(P384.Signing.PrivateKey)
        case mldsa(MLDSAKey)
    }

    let signer: Signer
    let commonName: String

    private var subjectPublicKeyInfo: [UInt8] {
        switch signer {
        case .rsa(let k): Array(k.publicKey.derRepresentation)
        case .p384(let k): Array(k.publicKey.derRepresentation)
        case .mldsa(let k): k.publicKeyInfo
        }
    }

    /// sha512WithRSAEncryption (NULL parameters), ecdsa-with-SHA512, or the ML-DSA OID
    /// (RFC 9881: no parameters, pure ML-DSA over the TBSCertificate).
    private func serializeAlgorithm(into s: inout DER.Serializer) throws {
        try s.appendConstructedNode(identifier: .sequence) { s in
            switch signer {
            case .rsa:
                try s.serialize(OID.sha512WithRSAEncryption)
                try s.serialize(ASN1Null())
            case .p384: try s.serialize(OID.ecdsaWithSHA512)
            case .mldsa(let k): try s.serialize(k.parameterSet.oid)
            }
        }
    }

    private func sign(_ tbs: [UInt8]) throws -> [UInt8] {
        switch signer {
        case .rsa(let k): Array(try k.signature(for: SHA512.hash(data: tbs), padding: .insecurePKCS1v1_5).rawRepresentation)
        case .p384(let k): Array(try k.signature(for: SHA512.hash(data: tbs)).derRepresentation)
        case .mldsa(let k): try k.sign(tbs[...])
        }
    }

    /// The certificate's DER.
    func build(now: Int = UTCTimestamp.secondsNow) throws -> [UInt8] {
        let spki = subjectPublicKeyInfo
        // RFC 5280 §4.2.1.2 method 1, as OpenSSL's "hash": SHA-1 of the subjectPublicKey
        // BIT STRING's contents.
        let spkiParts = try X509Certificate.children(try DER.parse(spki))
        guard spkiParts.count == 2, case .primitive(let bits) = spkiParts[1].content else {
            throw failure(.badKey, "cannot encode the public key")
        }
        let skid = Array(Insecure.SHA1.hash(data: bits.dropFirst()))
        var serial = (0..<20).map { _ in UInt8.random(in: 0...255) }
        serial[0] = serial[0] & 0x7f | 0x01
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { s in
            try s.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { s in try s.serialize(2) }
            s.appendPrimitiveNode(identifier: .integer) { $0 += serial }
            try serializeAlgorithm(into: &s)
            try serializeName(into: &s)
            try s.appendConstructedNode(identifier: .sequence) { s in
                try Self.serializeTime(now, into: &s)
                try Self.serializeTime(now + 36500 * 86400, into: &s)
            }
            try serializeName(into: &s)
            s.serializeRawBytes(spki)
            try s.serialize(explicitlyTaggedWithTagNumber: 3, tagClass: .contextSpecific) { s in
                try s.appendConstructedNode(identifier: .sequence) { s in
                    try Self.serializeExtension(OID.basicConstraints, critical: true, into: &s) { s in
                        s.appendConstructedNode(identifier: .sequence) { _ in } // cA FALSE is the default
                    }
                    try Self.serializeExtension(OID.keyUsage, critical: false, into: &s) { s in
                        // digitalSignature is bit 0: one byte, seven unused bits.
                        s.appendPrimitiveNode(identifier: .bitString) { $0 += [0x07, 0x80] }
                    }
                    try Self.serializeExtension(OID.subjectKeyIdentifier, critical: false, into: &s) { s in
                        try s.serialize(ASN1OctetString(contentBytes: skid[...]))
                    }
                    try Self.serializeExtension(OID.authorityKeyIdentifier, critical: false, into: &s) { s in
                        s.appendConstructedNode(identifier: .sequence) { s in
                            s.appendPrimitiveNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { $0 += skid }
                        }
                    }
                }
            }
        }
        let tbsBytes = tbs.serializedBytes
        let signature = try sign(tbsBytes)
        var cert = DER.Serializer()
        try cert.appendConstructedNode(identifier: .sequence) { s in
            s.serializeRawBytes(tbsBytes)
            try serializeAlgorithm(into: &s)
            try s.serialize(ASN1BitString(bytes: signature[...]))
        }
        return cert.serializedBytes
    }

    private func serializeName(into s: inout DER.Serializer) throws {
        try s.appendConstructedNode(identifier: .sequence) { s in
            try s.appendConstructedNode(identifier: .set) { s in
                try s.appendConstructedNode(identifier: .sequence) { s in
                    try s.serialize(OID.commonName)
                    try s.serialize(ASN1UTF8String(commonName))
                }
            }
        }
    }

    private static func serializeExtension(_ oid: ASN1ObjectIdentifier, critical: Bool, into s: inout DER.Serializer,
                                           value: (inout DER.Serializer) throws -> Void) throws {
        var inner = DER.Serializer()
        try value(&inner)
        try s.appendConstructedNode(identifier: .sequence) { s in
            try s.serialize(oid)
            if critical { try s.serialize(true) }
            try s.serialize(ASN1OctetString(contentBytes: inner.serializedBytes[...]))
        }
    }

    /// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
    private static func serializeTime(_ seconds: Int, into s: inout DER.Serializer) throws {
        let c = UTCTimestamp(secondsSinceEpoch: seconds)
        if c.year < 2050 {
            try s.serialize(UTCTime(year: c.year, month: c.month, day: c.day, hours: c.hour, minutes: c.minute, seconds: c.second))
        } else {
            try s.serialize(GeneralizedTime(year: c.year, month: c.month, day: c.day, hours: c.hour, minutes: c.minute,
                                            seconds: c.second, fractionalSeconds: 0))
        }
    }
}
