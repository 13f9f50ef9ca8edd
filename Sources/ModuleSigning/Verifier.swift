import Crypto
import _CryptoExtras
import KernelKitCore

extension Keyring {
    /// Verifies `module`'s last signature: the digest of the bytes before it, checked
    /// with the named certificate's public key, as the kernel's `mod_verify_sig()` does.
    public func verify(_ module: ModuleFile) -> Verification {
        var result = Verification(path: module.path, verdict: .unsigned)
        let trailer: SignatureTrailer
        do {
            guard let t = try module.trailer() else {
                result.detail = "no signature appended"
                return result
            }
            trailer = t
        } catch {
            result.verdict = .malformedTrailer
            result.detail = error.message
            return result
        }
        let p7: PKCS7Signature
        do {
            p7 = try PKCS7Signature(der: module.bytes[trailer.signature], file: module.path)
        } catch {
            result.verdict = .malformedTrailer
            result.detail = error.message
            return result
        }
        result.keyID = p7.keyID
        result.hash = p7.hash
        guard let cert = certificate(for: p7.signer) else {
            result.verdict = .unknownKey
            result.signer = Self.issuerName(p7)
            result.detail = "no trusted certificate has key id \(hexColon(p7.keyID))"
            return result
        }
        result.signer = cert.subjectCommonName ?? cert.issuerCommonName
        let content = module.bytes[..<trailer.contentEnd]
        let ok: Bool
        do {
            ok = try Self.check(p7, content: content, certificate: cert)
        } catch {
            result.verdict = .badSignature
            result.detail = error.message
            return result
        }
        result.verdict = ok ? .valid : .badSignature
        if !ok { result.detail = "the signature does not match the module's \(p7.hash.rawValue) digest" }
        return result
    }

    private static func issuerName(_ p7: PKCS7Signature) -> String? {
        guard case .issuerAndSerial(let issuer, _) = p7.signer else { return nil }
        return try? X509Certificate.commonName(der: issuer)
    }

    static func check(_ p7: PKCS7Signature, content: ArraySlice<UInt8>, certificate cert: X509Certificate) throws(KernelKitError) -> Bool {
        if let set = MLDSAParameterSet(rawValue: cert.keyType.rawValue) {
            // pkcs7_parser.c: no signed attributes and an algo_takes_data key, so the
            // signature is over the module bytes and the digest algorithm is unused.
            guard p7.signatureAlgorithm == set.oid.description else {
                throw failure(.malformedSignature, "\(set.rawValue) certificate but signature algorithm \(p7.signatureAlgorithm)")
            }
            do {
                return try MLDSAKey.verify(set, signature: p7.signature, message: content, publicKey: cert.publicKeyBits)
            } catch {
                throw failure(.badCertificate, "cannot use the certificate's \(set.rawValue) public key: \(plainReason(error))")
            }
        }
        let digest = try p7.hash.digest(content)
        do {
            switch cert.keyType {
            case .rsa:
                guard p7.signatureAlgorithm == OID.rsaEncryption.description else {
                    throw failure(.malformedSignature, "RSA signature with algorithm \(p7.signatureAlgorithm); the kernel wants rsaEncryption")
                }
                if case .sha224(let d) = digest {
                    return try RSAPKCS1.verify(p7.signature, digest: d.bytes, hash: .sha224, publicKeyInfo: cert.publicKeyInfo)
                }
                let key = try _RSA.Signing.PublicKey(unsafeDERRepresentation: cert.publicKeyInfo)
                let sig = _RSA.Signing.RSASignature(rawRepresentation: p7.signature)
                return digest.verify { d in key.isValidSignature(sig, for: d, padding: .insecurePKCS1v1_5) }
            case .ecdsaP384:
                let key = try P384.Signing.PublicKey(derRepresentation: cert.publicKeyInfo)
                guard let sig = try? P384.Signing.ECDSASignature(derRepresentation: p7.signature) else { return false }
                return digest.verify { d in key.isValidSignature(sig, for: d) }
            case .ecdsaP256:
                let key = try P256.Signing.PublicKey(derRepresentation: cert.publicKeyInfo)
                guard let sig = try? P256.Signing.ECDSASignature(derRepresentation: p7.signature) else { return false }
                return digest.verify { d in key.isValidSignature(sig, for: d) }
            default:
                throw failure(.badCertificate, "the certificate's key type is not supported for module signatures")
            }
        } catch let e as KernelKitError {
            throw e
        } catch {
            throw failure(.badCertificate, "cannot use the certificate's public key: \(plainReason(error))")
        }
    }
}

extension Keyring {
    /// Reads and verifies one module file; a file that cannot be read or decompressed is
    /// reported as malformed, with the reason.
    public func verify(file path: String) -> Verification {
        do {
            return verify(try ModuleFile.read(path))
        } catch {
            return Verification(path: path, verdict: .malformedTrailer, detail: error.message)
        }
    }
}

extension AnyDigest {
    func verify(_ check: (any Digest) -> Bool) -> Bool {
        switch self {
        case .sha1(let d): check(d)
        case .sha224(let d): check(d)
        case .sha256(let d): check(d)
        case .sha384(let d): check(d)
        case .sha512(let d): check(d)
        }
    }
}

