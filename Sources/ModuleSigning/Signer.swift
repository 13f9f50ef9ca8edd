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
        return Self.appending(try signature(for: content), toUnsigned: content, of: module)
    }

    /// `module` with its old signatures removed and `p7` appended, however it was made
    /// (sign-file's `-s`, a signature from an HSM).
    public static func appending(_ p7: [UInt8], to module: ModuleFile) throws(KernelKitError) -> ModuleFile {
        appending(p7, toUnsigned: try module.unsignedContent(), of: module)
    }

    private static func appending(_ p7: [UInt8], toUnsigned content: ArraySlice<UInt8>, of module: ModuleFile) -> ModuleFile {
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

