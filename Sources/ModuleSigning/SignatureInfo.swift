import KernelKitCore

/// The signature fields kmod's `modinfo` prints: sig_id, signer, sig_key, sig_hashalgo
/// and signature, read from the module alone (no certificate needed).
public struct SignatureInfo: Sendable, Equatable {
    /// "PKCS#7": the only id_type modules use.
    public var id = "PKCS#7"
    /// The issuer's common name (kmod prints the issuer CN of issuerAndSerial signers,
    /// and nothing for subject key id signers).
    public var signer: String
    public var keyID: [UInt8]
    public var hash: HashAlgorithm
    public var signature: [UInt8]

    /// nil for an unsigned module. A file that is not a module at all (no ELF with a
    /// .modinfo under its trailers) is an error, as kmod's modinfo makes it one.
    public init?(module: ModuleFile) throws(KernelKitError) {
        _ = try module.info()
        guard let trailer = try module.trailer() else { return nil }
        let p7 = try PKCS7Signature(der: module.bytes[trailer.signature], file: module.path)
        self.signer = ""
        if case .issuerAndSerial(let issuer, _) = p7.signer {
            self.signer = (try? X509Certificate.commonName(der: issuer)).flatMap { $0 } ?? ""
        }
        keyID = p7.keyID
        hash = p7.hash
        signature = p7.signature
    }

    /// The lines `modinfo` prints, byte for byte: `key:` padded to 16 columns, and long
    /// hex values wrapped after 20 bytes onto lines that start with two tabs
    /// (kmod's libkmod-module.c and tools/modinfo.c).
    public var modinfoText: String {
        var out = ""
        for (key, value) in modinfoFields {
            out += key + ":" + String(repeating: " ", count: max(0, 15 - key.count)) + value + "\n"
        }
        return out
    }

    /// The fields in modinfo's order, with modinfo's value text.
    public var modinfoFields: [(String, String)] {
        [("sig_id", id), ("signer", signer), ("sig_key", Self.wrappedHex(keyID)),
         ("sig_hashalgo", hash.rawValue), ("signature", Self.wrappedHex(signature))]
    }

    static func wrappedHex(_ bytes: [UInt8]) -> String {
        var out = ""
        for (i, b) in bytes.enumerated() {
            if i > 0 { out += i % 20 == 0 ? ":\n\t\t" : ":" }
            out += hexByte(b)
        }
        return out
    }

    public var json: JSONValue {
        .object([
            ("sig_id", .string(id)), ("signer", .string(signer)), ("sig_key", .string(hexColon(keyID))),
            ("sig_hashalgo", .string(hash.rawValue)), ("signature", .string(hexColon(signature))),
        ])
    }
}

/// The `kernelkit.modsign-info/1` report of many modules (docs/modsign.md).
public struct SignatureInfoReport: Sendable {
    private var modules: [JSONValue] = []
    public init() {}

    /// Adds a module and its signature fields (nil when unsigned).
    public mutating func add(_ module: ModuleFile, _ info: SignatureInfo?) {
        modules.append(.object([("path", .string(module.path)), ("compression", .string(module.compression.rawValue)),
                                ("signature", info?.json ?? .null)]))
    }

    public var json: JSONValue { .object([("schema", "kernelkit.modsign-info/1"), ("modules", .array(modules))]) }
}
