/// FNV-1a, the hash the kernel's kconfig uses for its symbol table (`hash_str()` in
/// scripts/include/hash.h is the 32-bit one) and that KernelKit uses for its own byte
/// tables and cache file names: quick on short keys, no per-process seed.
package enum FNV1a {
    @inline(__always)
    package static func hash32(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for b in bytes { h = (h ^ UInt32(b)) &* 16_777_619 }
        return h
    }

    @inline(__always)
    package static func hash64(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    /// The 32-bit hash of a string's UTF-8 (the bytes `hash_str()` sees).
    package static func hash32(_ s: String) -> UInt32 {
        var s = s
        return s.withUTF8 { hash32($0) }
    }

    package static func hash64(_ s: String) -> UInt64 {
        var s = s
        return s.withUTF8 { hash64($0) }
    }
}
