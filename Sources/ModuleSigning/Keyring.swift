import KernelKitCore

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
