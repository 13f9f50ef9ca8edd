import KernelKitCore
import SwiftASN1

/// The PKCS#7 (CMS) SignedData that sign-file appends to a module.
///
/// sign-file (scripts/sign-file.c) calls `CMS_sign()` with CMS_NOCERTS | CMS_DETACHED |
/// CMS_BINARY and `CMS_add1_signer()` with CMS_NOATTR, so the message is detached, has
/// no certificates and no signed attributes, and the signature is over the module's
/// digest. OpenSSL writes the digest AlgorithmIdentifiers without parameters and
/// rsaEncryption with NULL parameters; the issuer name and serial are the certificate's
/// own bytes. Built here with swift-asn1's DER serializer, in exactly that shape.
public struct PKCS7Signature: Sendable, Equatable {
    public enum SignerID: Sendable, Equatable {
        /// issuerAndSerialNumber: the issuer Name DER and the serial INTEGER contents.
        case issuerAndSerial(issuer: [UInt8], serial: [UInt8])
        /// subjectKeyIdentifier (sign-file -k).
        case subjectKeyIdentifier([UInt8])
    }

    public var signer: SignerID
    public var hash: HashAlgorithm
    /// The signatureAlgorithm OID, dotted.
    public var signatureAlgorithm: String
    public var signature: [UInt8]
    /// Certificates carried in the message (sign-file writes none).
    public var certificates: [[UInt8]] = []

    /// The DER of the ContentInfo.
    public func serialize() throws -> [UInt8] {
        let version = if case .subjectKeyIdentifier = signer { 3 } else { 1 }
        let sigOID = try ASN1ObjectIdentifier(dotRepresentation: signatureAlgorithm)
        var s = DER.Serializer()
        try s.appendConstructedNode(identifier: .sequence) { s in
            try s.serialize(OID.signedData)
            try s.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { s in
                try s.appendConstructedNode(identifier: .sequence) { s in
                    try s.serialize(version)
                    try s.appendConstructedNode(identifier: .set) { s in
                        try s.appendConstructedNode(identifier: .sequence) { s in try s.serialize(hash.oid) }
                    }
                    try s.appendConstructedNode(identifier: .sequence) { s in try s.serialize(OID.data) }
                    if !certificates.isEmpty {
                        s.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { s in
                            for c in certificates { s.serializeRawBytes(c) }
                        }
                    }
                    try s.appendConstructedNode(identifier: .set) { s in
                        try s.appendConstructedNode(identifier: .sequence) { s in
                            try s.serialize(version)
                            switch signer {
                            case .issuerAndSerial(let issuer, let serial):
                                s.appendConstructedNode(identifier: .sequence) { s in
                                    s.serializeRawBytes(issuer)
                                    s.appendPrimitiveNode(identifier: .integer) { $0 += serial }
                                }
                            case .subjectKeyIdentifier(let id):
                                s.appendPrimitiveNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { $0 += id }
                            }
                            try s.appendConstructedNode(identifier: .sequence) { s in try s.serialize(hash.oid) }
                            try s.appendConstructedNode(identifier: .sequence) { s in
                                try s.serialize(sigOID)
                                if sigOID == OID.rsaEncryption { try s.serialize(ASN1Null()) }
                            }
                            try s.serialize(ASN1OctetString(contentBytes: signature[...]))
                        }
                    }
                }
            }
        }
        return s.serializedBytes
    }

    /// Reads a SignedData as the kernel's PKCS#7 parser (crypto/asymmetric_keys/
    /// pkcs7_parser.c) would for a module: one signer, no signed attributes.
    public init(der: ArraySlice<UInt8>, file: String) throws(KernelKitError) {
        // DER.parse refuses trailing bytes with a generic error; measured first, they get
        // their own message (the kernel's asn1_ber_decoder rejects them too).
        let bytes = Array(der)
        if let length = X509Certificate.derLength(bytes, at: 0), length < bytes.count {
            throw failure(.malformedSignature, "\(bytes.count - length) trailing bytes after the PKCS#7 message", file)
        }
        do {
            let root = try DER.parse(der)
            guard root.encodedBytes.count == der.count else {
                throw failure(.malformedSignature, "trailing bytes after the PKCS#7 message", file)
            }
            let top = try X509Certificate.children(root)
            guard top.count == 2, try ASN1ObjectIdentifier(derEncoded: top[0]) == OID.signedData else {
                throw failure(.malformedSignature, "the PKCS#7 message is not SignedData", file)
            }
            let sd = try X509Certificate.children(try X509Certificate.children(top[1], atLeast: 1)[0])
            guard sd.count >= 4 else { throw failure(.malformedSignature, "SignedData is too short", file) }
            var certs = [[UInt8]]()
            for node in sd.dropFirst(3) where node.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
                certs = try X509Certificate.children(node).map { Array($0.encodedBytes) }
            }
            guard let signerSet = sd.last, signerSet.identifier == .set else {
                throw failure(.malformedSignature, "SignedData has no signerInfos", file)
            }
            let signers = try X509Certificate.children(signerSet)
            guard signers.count == 1 else {
                throw failure(.malformedSignature, "the message has \(signers.count) signers; a module signature has one", file)
            }
            let si = try X509Certificate.children(signers[0])
            guard si.count >= 5 else { throw failure(.malformedSignature, "SignerInfo is too short", file) }
            if si[1].identifier == .sequence {
                let parts = try X509Certificate.children(si[1])
                guard parts.count == 2, case .primitive(let serial) = parts[1].content else {
                    throw failure(.malformedSignature, "bad issuerAndSerialNumber", file)
                }
                signer = .issuerAndSerial(issuer: Array(parts[0].encodedBytes), serial: Array(serial))
            } else if si[1].identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific),
                      case .primitive(let id) = si[1].content {
                signer = .subjectKeyIdentifier(Array(id))
            } else {
                throw failure(.malformedSignature, "unknown signer identifier", file)
            }
            let digestOID = try ASN1ObjectIdentifier(derEncoded: try X509Certificate.children(si[2], atLeast: 1)[0])
            guard let h = HashAlgorithm(oid: digestOID) else {
                throw failure(.malformedSignature, "unknown digest algorithm \(digestOID)", file)
            }
            hash = h
            var k = 3
            if si[k].identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
                // pkcs7_verify.c refuses authenticatedAttributes in module signatures, except
                // for ML-DSA under CONFIG_PKCS7_WAIVE_AUTHATTRS_REJECTION_FOR_MLDSA.
                throw failure(.malformedSignature, "the signature has signed attributes, which the kernel refuses in module signatures (only ML-DSA with CONFIG_PKCS7_WAIVE_AUTHATTRS_REJECTION_FOR_MLDSA takes them; KernelKit does not check that form)", file)
            }
            signatureAlgorithm = try ASN1ObjectIdentifier(derEncoded: try X509Certificate.children(si[k], atLeast: 1)[0]).description
            k += 1
            guard si[k].identifier == .octetString, case .primitive(let sig) = si[k].content else {
                throw failure(.malformedSignature, "SignerInfo has no signature", file)
            }
            signature = Array(sig)
            certificates = certs
        } catch let e as KernelKitError {
            throw e
        } catch {
            throw failure(.malformedSignature, "the PKCS#7 message cannot be parsed: \(plainReason(error))", file)
        }
    }

    public init(signer: SignerID, hash: HashAlgorithm, signatureAlgorithm: String, signature: [UInt8]) {
        self.signer = signer
        self.hash = hash
        self.signatureAlgorithm = signatureAlgorithm
        self.signature = signature
    }

    /// The key id modinfo prints as sig_key: the serial number or the subject key id.
    public var keyID: [UInt8] {
        switch signer {
        case .issuerAndSerial(_, let serial):
            // DER INTEGERs carry a leading 0 for a set top bit; OpenSSL's ASN1_INTEGER,
            // which kmod prints, does not.
            var s = serial[...]
            while s.count > 1, s.first == 0 { s = s.dropFirst() }
            return Array(s)
        case .subjectKeyIdentifier(let id): return id
        }
    }
}
