import Crypto
import _CryptoExtras
import KernelKitCore
import SwiftASN1

/// RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) done by hand for the digests swift-crypto's RSA API
/// will not take (it maps only SHA-1/256/384/512 to a DigestInfo). sign-file signs
/// `sha224` through OpenSSL, and the kernel's rsassa-pkcs1 template
/// (crypto/rsassa-pkcs1.c, `hash_prefixes`) verifies it, so KernelKit builds the
/// encoded message itself and uses the raw RSA operations.
enum RSAPKCS1 {
    /// DigestInfo DER prefixes from RFC 8017 §9.2 note 1 (the same bytes as the kernel's
    /// `hash_prefix_sha224`).
    static func digestInfoPrefix(_ hash: HashAlgorithm) -> [UInt8] {
        switch hash {
        case .sha1: [0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14]
        case .sha224: [0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c]
        case .sha256: [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]
        case .sha384: [0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30]
        case .sha512: [0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40]
        }
    }

    /// EMSA-PKCS1-v1_5: `00 01 FF…FF 00 DigestInfo`, `length` bytes long.
    static func encode(_ digest: [UInt8], hash: HashAlgorithm, length: Int) -> [UInt8]? {
        let t = digestInfoPrefix(hash) + digest
        guard length >= t.count + 11 else { return nil }
        return [0x00, 0x01] + [UInt8](repeating: 0xff, count: length - t.count - 3) + [0x00] + t
    }

    /// Signs a digest: the raw private-key operation (RSASP1) on the encoded message.
    /// swift-crypto exposes RSASP1 only as RSA blind signing (RFC 9474 BlindSign is
    /// exactly s = m^d mod n), which is what this borrows.
    static func sign(_ digest: [UInt8], hash: HashAlgorithm, key: _RSA.Signing.PrivateKey) throws -> [UInt8] {
        let raw = try _RSA.BlindSigning.PrivateKey(unsafeDERRepresentation: key.derRepresentation)
        guard let em = encode(digest, hash: hash, length: key.keySizeInBits / 8) else {
            throw failure(.badKey, "the RSA key is too small for a \(hash.rawValue) signature")
        }
        return Array(try raw.blindSignature(for: em).withUnsafeBytes { Array($0) })
    }

    /// Verifies a signature: RSAVP1 (s^e mod n) compared with the expected encoding.
    static func verify(_ signature: [UInt8], digest: [UInt8], hash: HashAlgorithm, publicKeyInfo: [UInt8]) throws -> Bool {
        let key = try RSAPublicKey(spki: publicKeyInfo)
        guard signature.count == key.byteCount, let em = key.apply(signature),
              let want = encode(digest, hash: hash, length: key.byteCount) else { return false }
        return em == want
    }
}

/// An RSA public key and its public operation, with Montgomery multiplication over
/// 32-bit limbs (little-endian). Only verification uses it, so it need not be
/// constant-time.
struct RSAPublicKey {
    let n: [UInt32]
    let exponent: [UInt8]
    let byteCount: Int
    private let n0inv: UInt32

    /// Reads the modulus and exponent from a SubjectPublicKeyInfo (RFC 8017 A.1.1).
    init(spki: [UInt8]) throws {
        let info: SubjectPublicKeyInfoFields
        do {
            info = try SubjectPublicKeyInfoFields(derEncoded: spki)
        } catch {
            throw failure(.badCertificate, "not an RSA SubjectPublicKeyInfo")
        }
        // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 A.1.1)
        let numbers = try X509Certificate.children(try DER.parse(info.key.bytes))
        guard numbers.count == 2, case .primitive(var modulus) = numbers[0].content,
              case .primitive(var e) = numbers[1].content else {
            throw failure(.badCertificate, "not an RSA public key")
        }
        while modulus.first == 0 { modulus = modulus.dropFirst() }
        while e.first == 0 { e = e.dropFirst() }
        guard modulus.count >= 64, let last = modulus.last, last & 1 == 1, !e.isEmpty else {
            throw failure(.badCertificate, "the RSA modulus is not usable")
        }
        byteCount = modulus.count
        n = Self.limbs(Array(modulus), count: (modulus.count + 3) / 4)
        exponent = Array(e)
        // -n⁻¹ mod 2³², by Newton's iteration (each step doubles the correct bits).
        var inv: UInt32 = 1
        for _ in 0..<5 { inv = inv &* (2 &- n[0] &* inv) }
        n0inv = 0 &- inv
    }

    static func limbs(_ bigEndian: [UInt8], count: Int) -> [UInt32] {
        var out = [UInt32](repeating: 0, count: count)
        for (i, byte) in bigEndian.reversed().enumerated() { out[i / 4] |= UInt32(byte) << (8 * UInt32(i % 4)) }
        return out
    }

    /// s^e mod n as `byteCount` big-endian bytes, or nil when s ≥ n.
    func apply(_ signature: [UInt8]) -> [UInt8]? {
        let s = Self.limbs(signature, count: n.count)
        guard !Self.greaterOrEqual(s, n) else { return nil }
        // R² mod n, with R = 2^(32·k): double 1 until it has been doubled 2·32·k times.
        var r2 = [UInt32](repeating: 0, count: n.count)
        r2[0] = 1
        for _ in 0..<(64 * n.count) {
            var carry: UInt32 = 0
            for i in r2.indices {
                let v = r2[i]
                r2[i] = v << 1 | carry
                carry = v >> 31
            }
            if carry == 1 || Self.greaterOrEqual(r2, n) { Self.subtract(&r2, n) }
        }
        let base = montgomery(s, r2)
        var acc = base
        var started = false
        for byte in exponent {
            for bit in (0..<8).reversed() {
                if started { acc = montgomery(acc, acc) }
                if byte >> UInt8(bit) & 1 == 1 {
                    if started { acc = montgomery(acc, base) } else { started = true }
                }
            }
        }
        var one = [UInt32](repeating: 0, count: n.count)
        one[0] = 1
        let result = montgomery(acc, one)
        var out = [UInt8](repeating: 0, count: byteCount)
        for i in 0..<byteCount { out[byteCount - 1 - i] = UInt8(truncatingIfNeeded: result[i / 4] >> (8 * UInt32(i % 4))) }
        return out
    }

    /// a·b·R⁻¹ mod n (coarsely integrated operand scanning).
    private func montgomery(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        let k = n.count
        var t = [UInt32](repeating: 0, count: k + 2)
        for i in 0..<k {
            var c: UInt64 = 0
            for j in 0..<k {
                let x = UInt64(t[j]) + UInt64(a[j]) * UInt64(b[i]) + c
                t[j] = UInt32(truncatingIfNeeded: x)
                c = x >> 32
            }
            var x = UInt64(t[k]) + c
            t[k] = UInt32(truncatingIfNeeded: x)
            t[k + 1] = UInt32(x >> 32)
            let m = t[0] &* n0inv
            x = UInt64(t[0]) + UInt64(m) * UInt64(n[0])
            c = x >> 32
            for j in 1..<k {
                x = UInt64(t[j]) + UInt64(m) * UInt64(n[j]) + c
                t[j - 1] = UInt32(truncatingIfNeeded: x)
                c = x >> 32
            }
            x = UInt64(t[k]) + c
            t[k - 1] = UInt32(truncatingIfNeeded: x)
            t[k] = t[k + 1] &+ UInt32(x >> 32)
        }
        var r = Array(t[0..<k])
        if t[k] != 0 || Self.greaterOrEqual(r, n) { Self.subtract(&r, n) }
        return r
    }

    private static func greaterOrEqual(_ a: [UInt32], _ b: [UInt32]) -> Bool {
        for i in a.indices.reversed() where a[i] != b[i] { return a[i] > b[i] }
        return true
    }

    private static func subtract(_ a: inout [UInt32], _ b: [UInt32]) {
        var borrow: UInt64 = 0
        for i in a.indices {
            let x = UInt64(a[i]) &- UInt64(b[i]) &- borrow
            a[i] = UInt32(truncatingIfNeeded: x)
            borrow = x >> 63
        }
    }
}
