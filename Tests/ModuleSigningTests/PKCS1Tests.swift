import Crypto
import _CryptoExtras
import Foundation
@testable import ModuleSigning
import Testing

/// SHA-224 and RSASSA-PKCS1-v1_5 done by hand (for sha224 module signatures), checked
/// against OpenSSL and against swift-crypto's own RSA for the digests it does support.
@Suite("SHA-224 and raw PKCS#1 v1.5 against OpenSSL and swift-crypto")
struct PKCS1Tests {
    @Test("SHA-224 equals openssl dgst -sha224 across the padding boundaries")
    func sha224() throws {
        let dir = try TemporaryDirectory()
        var random = SystemRandomNumberGenerator()
        for length in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000, 100_003] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            let file = try dir.write("in\(length)", bytes: bytes)
            let r = try run("/usr/bin/openssl", ["dgst", "-sha224", "-r", file])
            #expect(r.status == 0, "\(r.err)")
            let theirs = String(r.out.prefix(56))
            let ours = SHA224Digest.hash(bytes[...]).bytes.map { String(format: "%02x", $0) }.joined()
            #expect(ours == theirs, "length \(length)")
        }
    }

    @Test("the hand-made PKCS#1 v1.5 signs and verifies exactly as swift-crypto does", arguments: [2048, 3072])
    func pkcs1(bits: Int) throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .init(bitCount: bits))
        let spki = Array(key.publicKey.derRepresentation)
        for length in [0, 17, 4096] {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ bits) }
            let digest = SHA256.hash(data: message)
            let theirs = Array(try key.signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation)
            let ours = try RSAPKCS1.sign(Array(digest), hash: .sha256, key: key)
            #expect(ours == theirs)
            #expect(try RSAPKCS1.verify(theirs, digest: Array(digest), hash: .sha256, publicKeyInfo: spki))
            var flipped = theirs
            flipped[flipped.count / 3] ^= 0x10
            #expect(try !RSAPKCS1.verify(flipped, digest: Array(digest), hash: .sha256, publicKeyInfo: spki))
            var other = Array(digest)
            other[0] ^= 1
            #expect(try !RSAPKCS1.verify(theirs, digest: other, hash: .sha256, publicKeyInfo: spki))
        }
    }
}
