import KernelKitCore
import SwiftASN1

/// What module signing needs from an X.509 certificate, read straight from its DER so
/// that the issuer name and serial number are copied into signatures byte for byte, as
/// OpenSSL copies them.
public struct X509Certificate: Sendable, Equatable {
    public enum KeyType: String, Sendable {
        case rsa, ecdsaP256 = "ecdsa-p256", ecdsaP384 = "ecdsa-p384", mldsa65 = "ml-dsa-65", mldsa87 = "ml-dsa-87", other
    }

    public let der: [UInt8]
    /// The issuer Name, as encoded.
    public let issuerDER: [UInt8]
    /// The serial number's INTEGER contents, as encoded.
    public let serial: [UInt8]
    public let subjectDER: [UInt8]
    public let subjectKeyIdentifier: [UInt8]?
    /// The SubjectPublicKeyInfo, as encoded.
    public let publicKeyInfo: [UInt8]
    /// The subjectPublicKey BIT STRING's bits (for raw keys such as ML-DSA).
    public let publicKeyBits: [UInt8]
    public let keyType: KeyType
    public let issuerCommonName: String?
    public let subjectCommonName: String?
    let tbsDER: [UInt8]
    let signatureAlgorithm: ASN1ObjectIdentifier
    let signatureValue: [UInt8]

    public init(der: [UInt8], file: String = "<certificate>") throws(KernelKitError) {
        do {
            let cert = try CertificateFields(derEncoded: der)
            let tbs = cert.tbs
            self.der = der
            tbsDER = cert.tbsDER
            signatureAlgorithm = cert.signatureAlgorithm
            signatureValue = cert.signature
            serial = Array(tbs.serial)
            issuerDER = Array(tbs.issuer.encodedBytes)
            subjectDER = Array(tbs.subject.encodedBytes)
            publicKeyInfo = Array(tbs.publicKeyInfo.encodedBytes)
            issuerCommonName = try Self.commonName(tbs.issuer)
            subjectCommonName = try Self.commonName(tbs.subject)
            let spki = try SubjectPublicKeyInfoFields(derEncoded: tbs.publicKeyInfo)
            publicKeyBits = Array(spki.key.bytes)
            switch spki.algorithm.algorithm {
            case OID.rsaEncryption: keyType = .rsa
            case OID.ecPublicKey:
                let curve = spki.algorithm.parameters.flatMap { try? ASN1ObjectIdentifier(derEncoded: $0) }
                keyType = curve == OID.secp384r1 ? .ecdsaP384 : curve == OID.prime256v1 ? .ecdsaP256 : .other
            case OID.mldsa65: keyType = .mldsa65
            case OID.mldsa87: keyType = .mldsa87
            default: keyType = .other
            }
            // The extension's value is an OCTET STRING holding the KeyIdentifier, itself an
            // OCTET STRING (RFC 5280 §4.2.1.2).
            subjectKeyIdentifier = try tbs.extensions.first { $0.id == OID.subjectKeyIdentifier }
                .map { Array(try ASN1OctetString(derEncoded: $0.value.bytes).bytes) }
        } catch let e as KernelKitError {
            throw e
        } catch {
            throw failure(.badCertificate, "not an X.509 certificate: \(plainReason(error))", file)
        }
    }

    static func children(_ node: ASN1Node) throws -> [ASN1Node] {
        guard case .constructed(let c) = node.content else {
            throw ASN1Error.invalidASN1Object(reason: "expected a constructed node")
        }
        return Array(c)
    }

    /// The children of a node that must have at least `count` of them: the structures
    /// read by position (PKCS#7's SignerInfo, PKCS#8's PBES2 parameters) then index
    /// safely. The fuzzer found the unchecked `[0]` of an empty SEQUENCE.
    static func children(_ node: ASN1Node, atLeast count: Int) throws -> [ASN1Node] {
        let c = try children(node)
        guard c.count >= count else {
            throw ASN1Error.invalidASN1Object(reason: "expected at least \(count) elements, found \(c.count)")
        }
        return c
    }

    /// The first commonName in a Name's DER.
    static func commonName(der: [UInt8]) throws -> String? {
        try commonName(try DER.parse(der))
    }

    /// The first commonName in a Name (RDNSequence: SEQUENCE OF SET OF
    /// AttributeTypeAndValue), as text.
    private static func commonName(_ name: ASN1Node) throws -> String? {
        for rdn in try DER.sequence(of: RelativeDistinguishedNameFields.self, identifier: .sequence, rootNode: name) {
            for attribute in rdn.attributes where attribute.type == OID.commonName {
                if case .primitive(let value) = attribute.value.content { return String(decoding: value, as: UTF8.self) }
            }
        }
        return nil
    }

    /// Every certificate in a file: PEM blocks, or DER certificates one after another
    /// (a single `signing_key.x509`, or a kernel's concatenated certificate list).
    public static func load(_ bytes: [UInt8], file: String) throws(KernelKitError) -> [X509Certificate] {
        let blocks = PEM.blocks(bytes)
        if !blocks.isEmpty {
            let certs = blocks.filter { $0.label == "CERTIFICATE" || $0.label == "X509 CERTIFICATE" }
            if certs.isEmpty { throw failure(.badCertificate, "the PEM file holds no CERTIFICATE block", file) }
            var out = [X509Certificate]()
            for c in certs { out.append(try X509Certificate(der: c.der, file: file).checkedSelfSignature(file: file)) }
            return out
        }
        var out = [X509Certificate]()
        var i = 0
        while i < bytes.count {
            guard let length = derLength(bytes, at: i) else { break }
            out.append(try X509Certificate(der: Array(bytes[i..<(i + length)]), file: file).checkedSelfSignature(file: file))
            i += length
        }
        if out.isEmpty || i != bytes.count {
            throw failure(.badCertificate, "neither PEM nor DER X.509 certificates", file)
        }
        return out
    }

    /// The total length of the DER SEQUENCE starting at `i`, when it fits in `bytes`.
    static func derLength(_ bytes: [UInt8], at i: Int) -> Int? {
        guard i + 2 <= bytes.count, bytes[i] == 0x30 else { return nil }
        let first = Int(bytes[i + 1])
        if first < 0x80 { return i + 2 + first <= bytes.count ? 2 + first : nil }
        let n = first & 0x7f
        guard n >= 1, n <= 4, i + 2 + n <= bytes.count else { return nil }
        var len = 0
        for k in 0..<n { len = len << 8 | Int(bytes[i + 2 + k]) }
        let total = 2 + n + len
        return i + total <= bytes.count ? total : nil
    }
}

// MARK: the DER structures (RFC 5280 §4.1), as far as module signing reads them

/// `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }`.
struct CertificateFields: DERParseable {
    var tbs: TBSCertificateFields
    /// The signed bytes, the signature's algorithm and its value: for the self-signature check.
    var tbsDER: [UInt8]
    var signatureAlgorithm: ASN1ObjectIdentifier
    var signature: [UInt8]

    init(derEncoded root: ASN1Node) throws {
        (tbs, tbsDER, signatureAlgorithm, signature) = try DER.sequence(root, identifier: .sequence) { nodes in
            guard let tbsNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no tbsCertificate") }
            let tbs = try TBSCertificateFields(derEncoded: tbsNode)
            let algorithm = try AlgorithmIdentifierFields(derEncoded: &nodes)
            let signature = try ASN1BitString(derEncoded: &nodes)
            return (tbs, Array(tbsNode.encodedBytes), algorithm.algorithm, Array(signature.bytes))
        }
    }
}

/// `TBSCertificate`: the serial number's INTEGER contents, and the issuer, subject and
/// SubjectPublicKeyInfo as nodes, whose encoded bytes signatures and key matching copy
/// exactly as they are (as OpenSSL copies them into PKCS#7).
struct TBSCertificateFields: DERParseable {
    var serial: ArraySlice<UInt8>
    var issuer: ASN1Node
    var subject: ASN1Node
    var publicKeyInfo: ASN1Node
    var extensions: [ExtensionFields]

    init(derEncoded root: ASN1Node) throws {
        self = try DER.sequence(root, identifier: .sequence) { nodes in
            _ = try DER.optionalExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { try Int(derEncoded: $0) }
            // The INTEGER as encoded, leading zero included: not a number to normalise.
            guard let serialNode = nodes.next(), serialNode.identifier == .integer,
                  case .primitive(let serial) = serialNode.content else {
                throw ASN1Error.invalidASN1Object(reason: "TBSCertificate has no serialNumber")
            }
            _ = try AlgorithmIdentifierFields(derEncoded: &nodes)
            func sequence(_ what: String) throws -> ASN1Node {
                guard let node = nodes.next(), node.identifier == .sequence else {
                    throw ASN1Error.invalidASN1Object(reason: "TBSCertificate has no \(what)")
                }
                return node
            }
            let issuer = try sequence("issuer")
            _ = try sequence("validity")
            let subject = try sequence("subject")
            let spki = try sequence("subjectPublicKeyInfo")
            // issuerUniqueID [1] and subjectUniqueID [2] (v2, unused by the kernel), then
            // extensions [3] EXPLICIT.
            var extensions = [ExtensionFields]()
            while let node = nodes.next() {
                if node.identifier == ASN1Identifier(tagWithNumber: 3, tagClass: .contextSpecific) {
                    extensions = try DER.explicitlyTagged(node, tagNumber: 3, tagClass: .contextSpecific) {
                        try DER.sequence(of: ExtensionFields.self, identifier: .sequence, rootNode: $0)
                    }
                }
            }
            return TBSCertificateFields(serial: serial, issuer: issuer, subject: subject, publicKeyInfo: spki,
                                        extensions: extensions)
        }
    }

    private init(serial: ArraySlice<UInt8>, issuer: ASN1Node, subject: ASN1Node, publicKeyInfo: ASN1Node,
                 extensions: [ExtensionFields]) {
        self.serial = serial
        self.issuer = issuer
        self.subject = subject
        self.publicKeyInfo = publicKeyInfo
        self.extensions = extensions
    }
}

/// `AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }`.
struct AlgorithmIdentifierFields: DERParseable {
    var algorithm: ASN1ObjectIdentifier
    var parameters: ASN1Node?

    init(derEncoded root: ASN1Node) throws {
        (algorithm, parameters) = try DER.sequence(root, identifier: .sequence) { nodes in
            (try ASN1ObjectIdentifier(derEncoded: &nodes), nodes.next())
        }
    }
}

/// `SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }`.
struct SubjectPublicKeyInfoFields: DERParseable {
    var algorithm: AlgorithmIdentifierFields
    var key: ASN1BitString

    init(derEncoded root: ASN1Node) throws {
        (algorithm, key) = try DER.sequence(root, identifier: .sequence) { nodes in
            (try AlgorithmIdentifierFields(derEncoded: &nodes), try ASN1BitString(derEncoded: &nodes))
        }
    }
}

/// `Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }`.
struct ExtensionFields: DERParseable {
    var id: ASN1ObjectIdentifier
    var value: ASN1OctetString

    init(derEncoded root: ASN1Node) throws {
        (id, value) = try DER.sequence(root, identifier: .sequence) { nodes in
            let id = try ASN1ObjectIdentifier(derEncoded: &nodes)
            // `critical`, when present. Strict DER omits a FALSE default, but certificates in
            // the field spell it out, and the kernel's x509 parser accepts them: so do we.
            var peek = nodes
            if let node = peek.next(), node.identifier == .boolean { nodes = peek }
            return (id, try ASN1OctetString(derEncoded: &nodes))
        }
    }
}

/// `RelativeDistinguishedName ::= SET OF AttributeTypeAndValue`.
struct RelativeDistinguishedNameFields: DERParseable {
    var attributes: [(type: ASN1ObjectIdentifier, value: ASN1Node)]

    init(derEncoded root: ASN1Node) throws {
        // Read as the SEQUENCE of its members: the kernel does not insist on DER's SET OF order.
        attributes = try DER.sequence(root, identifier: .set) { nodes in
            var out = [(type: ASN1ObjectIdentifier, value: ASN1Node)]()
            while let atv = nodes.next() {
                out.append(try DER.sequence(atv, identifier: .sequence) { parts in
                    let type = try ASN1ObjectIdentifier(derEncoded: &parts)
                    guard let value = parts.next() else {
                        throw ASN1Error.invalidASN1Object(reason: "AttributeTypeAndValue has no value")
                    }
                    return (type, value)
                })
            }
            return out
        }
    }
}

extension X509Certificate {
    /// The digest and the algorithm name ``Keyring/check(_:content:certificate:)`` takes,
    /// for a certificate's own signature algorithm; nil for one not checked here.
    private var selfSignatureForm: (hash: HashAlgorithm, algorithm: String)? {
        let rsa: [ASN1ObjectIdentifier: HashAlgorithm] = [
            [1, 2, 840, 113549, 1, 1, 5]: .sha1, [1, 2, 840, 113549, 1, 1, 14]: .sha224, [1, 2, 840, 113549, 1, 1, 11]: .sha256,
            [1, 2, 840, 113549, 1, 1, 12]: .sha384, [1, 2, 840, 113549, 1, 1, 13]: .sha512,
        ]
        let ecdsa: [ASN1ObjectIdentifier: HashAlgorithm] = [
            OID.ecdsaWithSHA1: .sha1, OID.ecdsaWithSHA224: .sha224, OID.ecdsaWithSHA256: .sha256,
            OID.ecdsaWithSHA384: .sha384, OID.ecdsaWithSHA512: .sha512,
        ]
        if let h = rsa[signatureAlgorithm] { return (h, OID.rsaEncryption.description) }
        if let h = ecdsa[signatureAlgorithm] { return (h, signatureAlgorithm.description) }
        if let set = MLDSAParameterSet(oid: signatureAlgorithm) { return (.sha512, set.oid.description) }
        return nil
    }

    /// The certificate, if it is not self-signed or its self-signature verifies with its
    /// own key: the kernel checks that before it loads a certificate into a keyring
    /// (crypto/asymmetric_keys/x509_public_key.c, x509_check_for_self_signed(), which
    /// then fails with -EKEYREJECTED), so a certificate it would refuse is an error here.
    func checkedSelfSignature(file: String) throws(KernelKitError) -> X509Certificate {
        guard issuerDER == subjectDER, let form = selfSignatureForm else { return self }
        let p7 = PKCS7Signature(signer: .subjectKeyIdentifier([]), hash: form.hash, signatureAlgorithm: form.algorithm,
                                signature: signatureValue)
        // A key this code cannot use at all (too short, an unknown curve) is judged where it
        // is used; only a signature that is checked and fails is refused here.
        guard let ok = try? Keyring.check(p7, content: tbsDER[...], certificate: self) else { return self }
        guard ok else {
            throw failure(.badCertificate, "the self-signed certificate's signature does not verify with its own key (the kernel refuses such a certificate)", file)
        }
        return self
    }
}
