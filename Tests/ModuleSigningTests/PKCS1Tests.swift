import Crypto
import _CryptoExtras
import Foundation
import KernelKitCore
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

/// The PKCS#8 forms of an ML-DSA private key (RFC 9881 §6): seed, both, expanded only.
@Suite("ML-DSA private key forms")
struct MLDSAKeyFormTests {
    /// OneAsymmetricKey around `body` (the privateKey OCTET STRING's contents), built by
    /// hand here rather than with the code under test.
    func pkcs8(oidLastArc: UInt8, body: [UInt8]) -> [UInt8] {
        func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
            let n = content.count
            let length: [UInt8] = n < 128 ? [UInt8(n)] : n < 256 ? [0x81, UInt8(n)] : [0x82, UInt8(n >> 8), UInt8(n & 0xff)]
            return [tag] + length + content
        }
        let oid = tlv(0x06, [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, oidLastArc])
        return tlv(0x30, tlv(0x02, [0]) + tlv(0x30, oid) + tlv(0x04, body))
    }

    @Test("seed and both forms give the same key; expanded-only and a short seed are refused with a reason")
    func forms() throws {
        let seed = (0..<32).map { UInt8($0 * 7 & 0xff) }
        let key = try MLDSAKey(.mldsa65, seed: seed)
        let seedForm = pkcs8(oidLastArc: 18, body: [0x80, 0x20] + seed)
        #expect(seedForm == key.pkcs8, "our writer produces RFC 9881's seed form")
        let fromSeed = try #require(try MLDSAKey.fromPKCS8(seedForm, file: "k.pem"))
        #expect(fromSeed.publicKey == key.publicKey)
        // both: SEQUENCE { OCTET STRING seed, OCTET STRING expandedKey }; the seed is used.
        let expanded = [UInt8](repeating: 0xAB, count: 4032)
        let both = [0x30, 0x82, 0x0F, 0xE6] + [0x04, 0x20] + seed + [0x04, 0x82, 0x0F, 0xC0] + expanded
        let fromBoth = try #require(try MLDSAKey.fromPKCS8(pkcs8(oidLastArc: 18, body: both), file: "k.pem"))
        #expect(fromBoth.publicKey == key.publicKey)
        // ML-DSA-87's OID with the same seed is another key.
        let other = try #require(try MLDSAKey.fromPKCS8(pkcs8(oidLastArc: 19, body: [0x80, 0x20] + seed), file: "k.pem"))
        #expect(other.parameterSet == .mldsa87 && other.publicKey != key.publicKey)
        // expandedKey alone: refused, saying what to do.
        let expandedOnly = pkcs8(oidLastArc: 18, body: [0x04, 0x82, 0x0F, 0xC0] + expanded)
        let refused = #expect(throws: KernelKitError.self) { try MLDSAKey.fromPKCS8(expandedOnly, file: "k.pem") }
        #expect(refused?.message.contains("seed form") == true, "\(String(describing: refused))")
        #expect(throws: KernelKitError.self) { try MLDSAKey.fromPKCS8(pkcs8(oidLastArc: 18, body: [0x80, 0x10] + seed.prefix(16)), file: "k.pem") }
        // Not ML-DSA at all: nil, so that the caller tries the other key types.
        #expect(try MLDSAKey.fromPKCS8(pkcs8(oidLastArc: 3, body: [0x80, 0x20] + seed), file: "k.pem") == nil)
    }
}
