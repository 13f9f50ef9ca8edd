import KernelKitCore

/// The kernel's `scripts/sign-file`, as a library call: its arguments, its modes, its bytes.
///
/// `sign-file [-dpk] HASH KEY X509 MODULE [DEST]` and `sign-file -s RAWSIG HASH X509 MODULE
/// [DEST]` (scripts/sign-file.c, `main()`). Unlike sign-file, an old signature is replaced
/// rather than kept under the new one, and compressed modules are handled.
public struct SignFile: Sendable {
    /// `-d`: write only MODULE.p7s.
    public var detachedOnly = false
    /// `-p`: also write MODULE.p7s.
    public var saveSignature = false
    /// `-k`: name the signer by subject key id.
    public var useKeyID = false
    /// `-s`: the first argument is a raw PKCS#7 signature to append.
    public var rawSignature = false
    /// The pass phrase of an encrypted key (sign-file reads KBUILD_SIGN_PIN).
    public var pin: String?

    public init(detachedOnly: Bool = false, saveSignature: Bool = false, useKeyID: Bool = false,
                rawSignature: Bool = false, pin: String? = nil) {
        self.detachedOnly = detachedOnly
        self.saveSignature = saveSignature
        self.useKeyID = useKeyID
        self.rawSignature = rawSignature
        self.pin = pin
    }

    /// Carries out sign-file's job on its positional arguments.
    /// - Throws: `.usage` for a wrong argument count or an unknown hash; the signing errors otherwise.
    public func run(_ arguments: [String]) throws(KernelKitError) {
        guard (4...5).contains(arguments.count) else {
            throw KernelKitError(.usage, "usage: sign-file [-dpk] <hash algo> <key> <x509> <module> [<dest>]")
        }
        let hashName = rawSignature ? arguments[1] : arguments[0]
        guard let hash = HashAlgorithm(rawValue: hashName) else {
            throw KernelKitError(.usage, "unknown hash algorithm '\(hashName)' (sha1, sha224, sha256, sha384, sha512)")
        }
        let x509 = arguments[2], modulePath = arguments[3]
        let dest = arguments.count == 5 ? arguments[4] : modulePath
        let module = try ModuleFile.read(modulePath)
        let p7: [UInt8]
        if rawSignature {
            p7 = try InputFile.readBytes(arguments[0])
        } else {
            let signer = try ModuleSigner.load(key: arguments[1], certificate: x509, hash: hash, useKeyID: useKeyID, pin: pin)
            let content = try module.unsignedContent()
            _ = try ModuleInfo(elf: content, file: modulePath)
            p7 = try signer.signature(for: content)
            if saveSignature || detachedOnly {
                try AtomicFile.write(p7, to: modulePath + ".p7s")
            }
            if detachedOnly { return }
        }
        try ModuleSigner.appending(p7, to: module).write(to: dest)
    }
}

extension ModuleSigner {
    /// A signer from a key file (PEM; `pin` decrypts an encrypted one) and the certificate
    /// file (DER or PEM) its signatures name.
    public static func load(key: String, certificate: String, hash: HashAlgorithm, useKeyID: Bool,
                            pin: String?) throws(KernelKitError) -> ModuleSigner {
        let signingKey = try SigningKey.load(try InputFile.readBytes(key), file: key, passphrase: pin)
        let certs = try X509Certificate.load(try InputFile.readBytes(certificate), file: certificate)
        return try ModuleSigner(key: signingKey, certificate: certs[0], hash: hash, useKeyID: useKeyID,
                                certificateFile: certificate)
    }
}
