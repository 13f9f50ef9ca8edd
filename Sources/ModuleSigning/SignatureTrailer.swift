import KernelKitCore

/// The signature appended to a module: `[module][PKCS#7 DER][struct module_signature][magic]`.
///
/// `struct module_signature` (include/linux/module_signature.h) is 12 bytes: algo, hash,
/// id_type, signer_len, key_id_len, three pad bytes, and sig_len as a big-endian u32.
/// For PKCS#7 every field but id_type (2) and sig_len is zero; the kernel's
/// `mod_check_sig()` (kernel/module_signature.c) rejects anything else, and so does this.
public struct SignatureTrailer: Sendable, Equatable {
    /// `MODULE_SIG_STRING` in include/linux/module_signature.h.
    public static let magic: [UInt8] = Array("~Module signature appended~\n".utf8)
    /// `sizeof(struct module_signature)`.
    public static let infoSize = 12
    /// `PKEY_ID_PKCS7`.
    public static let pkcs7IDType: UInt8 = 2

    /// Where the PKCS#7 message lies in the file.
    public var signature: Range<Int>
    /// Where the module's signed bytes end (the start of the PKCS#7 message).
    public var contentEnd: Int { signature.lowerBound }

    /// `struct module_signature` for a PKCS#7 message of `length` bytes.
    public static func info(signatureLength length: Int) -> [UInt8] {
        let n = UInt32(length)
        return [0, 0, pkcs7IDType, 0, 0, 0, 0, 0,
                UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)]
    }

    /// The last appended signature of `bytes`, nil when the file does not end with the
    /// magic string (an unsigned module).
    ///
    /// - Throws: `.malformedTrailer` for what `mod_check_sig()` rejects, and for a magic
    ///   that is damaged rather than absent.
    public static func parse(_ bytes: [UInt8], end: Int? = nil, file: String) throws(KernelKitError) -> SignatureTrailer? {
        let end = end ?? bytes.count
        let m = magic.count
        guard end >= m, bytes[(end - m)..<end].elementsEqual(magic) else {
            // A near miss: the tail starts like the magic but differs. Say so, rather than
            // calling a damaged signature "unsigned".
            let tail = bytes[..<end].suffix(m)
            let prefix = Array("~Module sig".utf8)
            if tail.count == m, tail.prefix(prefix.count).elementsEqual(prefix) {
                throw failure(.malformedTrailer, "the signature magic at the end of the file is damaged", file)
            }
            return nil
        }
        let modlen = end - m
        guard modlen > infoSize else {
            throw failure(.malformedTrailer, "the file ends with the signature magic but is too short for a signature trailer", file)
        }
        let i = modlen - infoSize
        let sigLen = Int(bytes[i + 8]) << 24 | Int(bytes[i + 9]) << 16 | Int(bytes[i + 10]) << 8 | Int(bytes[i + 11])
        // mod_check_sig(): sig_len must leave room for some module before it.
        guard sigLen < modlen - infoSize else {
            throw failure(.malformedTrailer, "sig_len \(sigLen) points before the start of the file (\(modlen - infoSize) bytes precede the trailer)", file)
        }
        guard bytes[i + 2] == pkcs7IDType else {
            throw failure(.malformedTrailer, "the signature is not a PKCS#7 message (id_type \(bytes[i + 2]), expected 2)", file)
        }
        guard bytes[i] == 0, bytes[i + 1] == 0, bytes[i + 3] == 0, bytes[i + 4] == 0,
              bytes[i + 5] == 0, bytes[i + 6] == 0, bytes[i + 7] == 0 else {
            throw failure(.malformedTrailer, "struct module_signature has nonzero algo, hash, signer_len, key_id_len or padding", file)
        }
        guard sigLen > 0 else {
            throw failure(.malformedTrailer, "sig_len is 0", file)
        }
        return SignatureTrailer(signature: (i - sigLen)..<i)
    }

    /// The bytes before every appended signature: what sign-file signed first.
    public static func unsignedLength(_ bytes: [UInt8], file: String) throws(KernelKitError) -> Int {
        var end = bytes.count
        while let t = try parse(bytes, end: end, file: file) { end = t.contentEnd }
        return end
    }
}
