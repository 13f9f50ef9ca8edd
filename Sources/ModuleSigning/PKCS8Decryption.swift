import Crypto
import _CryptoExtras
import KernelKitCore
import SwiftASN1

/// Decrypting pass-phrase-protected private keys, as OpenSSL's PEM reader does for
/// sign-file with KBUILD_SIGN_PIN: PKCS#8 PBES2 (PBKDF2 and AES-CBC, what
/// `openssl genpkey -aes256` and `openssl pkcs8 -topk8` write) and the legacy PEM
/// encryption (`Proc-Type: 4,ENCRYPTED` with `DEK-Info: AES-xxx-CBC,IV`).
enum PKCS8Decryption {
    static let pbes2: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 5, 13]
    static let pbkdf2: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 5, 12]
    static let hmacSHA1: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 7]
    static let hmacSHA256: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 9]
    static let hmacSHA384: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 10]
    static let hmacSHA512: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 11]
    static let aesCBC: [ASN1ObjectIdentifier: Int] = [
        [2, 16, 840, 1, 101, 3, 4, 1, 2]: 16, [2, 16, 840, 1, 101, 3, 4, 1, 22]: 24, [2, 16, 840, 1, 101, 3, 4, 1, 42]: 32,
    ]

    static func decrypt(_ der: [UInt8], passphrase: String, file: String) throws(KernelKitError) -> [UInt8] {
        do {
            let top = try X509Certificate.children(try DER.parse(der), atLeast: 2)
            let alg = try X509Certificate.children(top[0], atLeast: 2)
            guard try ASN1ObjectIdentifier(derEncoded: alg[0]) == pbes2 else {
                throw failure(.badKey, "the encrypted key uses a scheme other than PBES2", file)
            }
            let params = try X509Certificate.children(alg[1], atLeast: 2)
            let kdf = try X509Certificate.children(params[0], atLeast: 2)
            guard try ASN1ObjectIdentifier(derEncoded: kdf[0]) == pbkdf2 else {
                throw failure(.badKey, "the encrypted key uses a key derivation other than PBKDF2", file)
            }
            let kdfParams = try X509Certificate.children(kdf[1], atLeast: 2)
            guard case .primitive(let salt) = kdfParams[0].content else { throw failure(.badKey, "bad PBKDF2 salt", file) }
            let rounds = try Int(derEncoded: kdfParams[1])
            // A count from the file: zero or negative traps in swift-crypto, and a huge one
            // is a wait of hours. OpenSSL writes 2,048 by default.
            guard (1...10_000_000).contains(rounds) else {
                throw failure(.badKey, "the encrypted key's PBKDF2 iteration count \(rounds) is outside 1 to 10,000,000", file)
            }
            var prf = KDF.Insecure.PBKDF2.HashFunction.insecureSHA1
            for p in kdfParams.dropFirst(2) where p.identifier == .sequence {
                let oid = try ASN1ObjectIdentifier(derEncoded: try X509Certificate.children(p, atLeast: 1)[0])
                switch oid {
                case hmacSHA256: prf = .sha256
                case hmacSHA384: prf = .sha384
                case hmacSHA512: prf = .sha512
                case hmacSHA1: prf = .insecureSHA1
                default: throw failure(.badKey, "unsupported PBKDF2 PRF \(oid)", file)
                }
            }
            let scheme = try X509Certificate.children(params[1], atLeast: 2)
            guard let keyLength = aesCBC[try ASN1ObjectIdentifier(derEncoded: scheme[0])],
                  case .primitive(let iv) = scheme[1].content else {
                throw failure(.badKey, "the encrypted key uses a cipher other than AES-CBC", file)
            }
            guard case .primitive(let data) = top[1].content else { throw failure(.badKey, "bad encrypted key data", file) }
            let key = try KDF.Insecure.PBKDF2.deriveKey(from: Array(passphrase.utf8), salt: Array(salt), using: prf,
                                                        outputByteCount: keyLength, unsafeUncheckedRounds: rounds)
            guard let plain = try? AES._CBC.decrypt(Array(data), using: key, iv: try AES._CBC.IV(ivBytes: Array(iv))) else {
                throw failure(.needsPIN, "cannot decrypt the private key: wrong pass phrase (KBUILD_SIGN_PIN)?", file)
            }
            return Array(plain)
        } catch let e as KernelKitError {
            throw e
        } catch {
            throw failure(.badKey, "cannot read the encrypted private key: \(plainReason(error))", file)
        }
    }

    /// OpenSSL's legacy PEM encryption: the key is `EVP_BytesToKey(MD5, salt = IV[0..<8],
    /// one round)` of the pass phrase.
    static func decryptLegacy(_ der: [UInt8], dekInfo: String, passphrase: String, file: String) throws(KernelKitError) -> [UInt8] {
        let parts = dekInfo.split(separator: ",")
        let sizes = ["AES-128-CBC": 16, "AES-192-CBC": 24, "AES-256-CBC": 32]
        guard parts.count == 2, let keyLength = sizes[String(parts[0])], let iv = hexBytes(String(parts[1])), iv.count == 16 else {
            throw failure(.badKey, "unsupported PEM encryption \(dekInfo) (AES-CBC is supported)", file)
        }
        var key = [UInt8]()
        var previous = [UInt8]()
        while key.count < keyLength {
            previous = Array(Insecure.MD5.hash(data: previous + Array(passphrase.utf8) + iv[0..<8]))
            key += previous
        }
        guard let plain = try? AES._CBC.decrypt(der, using: SymmetricKey(data: key[0..<keyLength]),
                                                iv: try AES._CBC.IV(ivBytes: iv)) else {
            throw failure(.needsPIN, "cannot decrypt the private key: wrong pass phrase (KBUILD_SIGN_PIN)?", file)
        }
        return Array(plain)
    }

    static func hexBytes(_ s: String) -> [UInt8]? {
        let chars = Array(s.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        for i in stride(from: 0, to: chars.count, by: 2) {
            guard let b = UInt8(String(decoding: chars[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
            out.append(b)
        }
        return out
    }
}
