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

    public init(der: [UInt8], file: String = "<certificate>") throws(KernelKitError) {
        do {
            let root = try DER.parse(der)
            let top = try Self.children(root)
            guard top.count == 3 else { throw ASN1Error.invalidASN1Object(reason: "Certificate is not 3 elements") }
            var tbs = try Self.children(top[0])[...]
            if let first = tbs.first, first.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
                tbs = tbs.dropFirst()
            }
            let fields = Array(tbs)
            guard fields.count >= 6, fields[0].identifier == .integer, case .primitive(let serial) = fields[0].content else {
                throw ASN1Error.invalidASN1Object(reason: "TBSCertificate is too short")
            }
            self.der = der
            self.serial = Array(serial)
            issuerDER = Array(fields[2].encodedBytes)
            subjectDER = Array(fields[4].encodedBytes)
            publicKeyInfo = Array(fields[5].encodedBytes)
            issuerCommonName = try Self.commonName(fields[2])
            subjectCommonName = try Self.commonName(fields[4])
            let spki = try Self.children(fields[5])
            guard spki.count == 2, case .primitive(let bits) = spki[1].content, !bits.isEmpty else {
                throw ASN1Error.invalidASN1Object(reason: "bad SubjectPublicKeyInfo")
            }
            publicKeyBits = Array(bits.dropFirst()) // the unused-bits count
            let alg = try Self.children(spki[0])
            let algOID = try ASN1ObjectIdentifier(derEncoded: alg[0])
            switch algOID {
            case OID.rsaEncryption: keyType = .rsa
            case OID.ecPublicKey:
                let curve = alg.count > 1 ? try? ASN1ObjectIdentifier(derEncoded: alg[1]) : nil
                keyType = curve == OID.secp384r1 ? .ecdsaP384 : curve == OID.prime256v1 ? .ecdsaP256 : .other
            case OID.mldsa65: keyType = .mldsa65
            case OID.mldsa87: keyType = .mldsa87
            default: keyType = .other
            }
            var skid: [UInt8]? = nil
            for field in fields.dropFirst(6)
            where field.identifier == ASN1Identifier(tagWithNumber: 3, tagClass: .contextSpecific) {
                for ext in try Self.children(try Self.children(field)[0]) {
                    let parts = try Self.children(ext)
                    guard try ASN1ObjectIdentifier(derEncoded: parts[0]) == OID.subjectKeyIdentifier,
                          case .primitive(let value) = parts[parts.count - 1].content else { continue }
                    let inner = try DER.parse(Array(value))
                    if case .primitive(let id) = inner.content { skid = Array(id) }
                }
            }
            subjectKeyIdentifier = skid
        } catch let e as KernelKitError {
            throw e
        } catch {
            throw failure(.badCertificate, "not an X.509 certificate: \(error)", file)
        }
    }

    static func children(_ node: ASN1Node) throws -> [ASN1Node] {
        guard case .constructed(let c) = node.content else {
            throw ASN1Error.invalidASN1Object(reason: "expected a constructed node")
        }
        return Array(c)
    }

    /// The first commonName in a Name's DER.
    static func commonName(der: [UInt8]) throws -> String? {
        try commonName(try DER.parse(der))
    }

    /// The first commonName in a Name, as text.
    private static func commonName(_ name: ASN1Node) throws -> String? {
        for rdn in try children(name) {
            for atv in try children(rdn) {
                let parts = try children(atv)
                guard parts.count == 2, try ASN1ObjectIdentifier(derEncoded: parts[0]) == OID.commonName,
                      case .primitive(let value) = parts[1].content else { continue }
                return String(decoding: value, as: UTF8.self)
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
            for c in certs { out.append(try X509Certificate(der: c.der, file: file)) }
            return out
        }
        var out = [X509Certificate]()
        var i = 0
        while i < bytes.count {
            guard let length = derLength(bytes, at: i) else { break }
            out.append(try X509Certificate(der: Array(bytes[i..<(i + length)]), file: file))
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
