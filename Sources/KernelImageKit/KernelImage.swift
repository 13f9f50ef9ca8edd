import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// Kernel image files: the vmlinux inside a vmlinuz, and the config built into a kernel
/// with CONFIG_IKCONFIG. (ModuleSigning adds the certificates built into it.)
extension KernelKitError.Code {
    /// Compressed data that asks for more memory than the decoder grants (an lzma
    /// dictionary over 512 MiB).
    public static let memoryLimit = KernelKitError.Code("memory-limit")
}

public enum KernelImage {
    static let elfMagic: [UInt8] = [0x7f, 0x45, 0x4c, 0x46]

    /// The decompressed kernel (`vmlinux`) inside an image: an x86 bzImage (its
    /// payload_offset and payload_length, boot protocol 2.08+), an arm64 EFI zboot image,
    /// a compressed `Image.gz`, or an ELF vmlinux as is. Other layouts are searched for
    /// a compressed stream, as `scripts/extract-vmlinux` does.
    public static func vmlinux(_ image: [UInt8], file: String) throws(KernelKitError) -> [UInt8] {
        func u32(_ i: Int) -> Int {
            Int(image[i]) | Int(image[i + 1]) << 8 | Int(image[i + 2]) << 16 | Int(image[i + 3]) << 24
        }
        if image.count > 4, image[0..<4].elementsEqual(elfMagic) { return image }
        // x86 boot protocol: "HdrS" at 0x202, version at 0x206, setup_sects at 0x1f1.
        if image.count > 0x250, image[0x202..<0x206].elementsEqual(Array("HdrS".utf8)) {
            let version = Int(image[0x206]) | Int(image[0x207]) << 8
            if version >= 0x208 {
                var setupSects = Int(image[0x1f1])
                if setupSects == 0 { setupSects = 4 }
                let start = (setupSects + 1) * 512 + u32(0x248)
                let length = u32(0x24c)
                if start + length <= image.count {
                    let c = Compression.detect(image, at: start)
                    if c != .none { return try c.decompress(image[start..<(start + length)], file: file) }
                }
            }
        }
        // EFI zboot (arm64, riscv, loongarch): "zimg" at 4, payload offset and size at 8 and 12.
        if image.count > 0x40, image[4..<8].elementsEqual(Array("zimg".utf8)) {
            let start = u32(8), length = u32(12)
            if start + length <= image.count {
                let c = Compression.detect(image, at: start)
                if c != .none { return try c.decompress(image[start..<(start + length)], file: file) }
            }
        }
        let whole = Compression.detect(image)
        if whole != .none, let out = try? whole.decompress(image[...], file: file) { return out }
        // extract-vmlinux: try each format at each place its magic appears. A stray magic
        // fails to decode, and is passed over; a stream that asks for more memory than the
        // decoder grants is the answer when nothing else decodes ("no kernel" would hide it).
        var refused: KernelKitError?
        for c in [Compression.gzip, .xz, .zstd, .lz4, .bzip2, .lzma] {
            var i = 0
            while i < image.count - 8 {
                if Compression.detect(image, at: i) == c {
                    do {
                        let out = try c.decompress(image[i...], file: file, startingWith: elfMagic)
                        if out.count > 4 { return out }
                    } catch where error.code == .memoryLimit {
                        if refused == nil { refused = error }
                    } catch {}
                }
                i += 1
            }
        }
        if let refused { throw refused }
        throw KernelKitError(.compression, "no compressed kernel found in the image (gzip, xz, zstd, lz4, lzma or bzip2)",
                             at: SourceLocation(file: file, line: 0))
    }

    /// The .config built into a kernel (CONFIG_IKCONFIG): the gzip data between the
    /// `IKCFG_ST` and `IKCFG_ED` markers (kernel/configs.c, scripts/extract-ikconfig).
    public static func ikconfig(_ image: [UInt8], file: String) throws(KernelKitError) -> [UInt8] {
        let kernel = try vmlinux(image, file: file)
        let start = Array("IKCFG_ST".utf8), end = Array("IKCFG_ED".utf8)
        guard let s = find(start, in: kernel, from: 0), let e = find(end, in: kernel, from: s + start.count) else {
            throw KernelKitError(.compression, "the kernel has no built-in config (CONFIG_IKCONFIG is off)",
                                 at: SourceLocation(file: file, line: 0))
        }
        return try Compression.gzip.decompress(kernel[(s + start.count)..<e], file: file)
    }

    /// The kernel release (`uname -r`) in a decompressed kernel's banner,
    /// "Linux version 6.1.0-57-cloud-amd64 (builder@host) ..." (init/version-timestamp.c);
    /// nil when there is none.
    public static func release(in kernel: [UInt8]) -> String? {
        let needle = Array("Linux version ".utf8)
        var from = 0
        while let i = find(needle, in: kernel, from: from) {
            let start = i + needle.count
            var end = start
            while end < kernel.count, end - start < 64, kernel[end] > 0x20, kernel[end] < 0x7f { end += 1 }
            // The banner goes on with " (builder@host)"; other mentions are format strings.
            if end > start, end < kernel.count, kernel[end] == 0x20, !kernel[start..<end].contains(UInt8(ascii: "%")) {
                return String(decoding: kernel[start..<end], as: UTF8.self)
            }
            from = start
        }
        return nil
    }

    /// memchr for the first byte, then a compare: far quicker over a 60 MB kernel than
    /// comparing at every offset (Swift's Glibc does not expose memmem).
    static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, from < hay.count else { return nil }
        return hay.withUnsafeBufferPointer { h in
            var i = from
            while let hit = h.firstOffset(of: needle[0], in: i..<h.count) {
                if hit + needle.count > h.count { return nil }
                if memcmp(h.baseAddress! + hit, needle, needle.count) == 0 { return hit }
                i = hit + 1
            }
            return nil
        }
    }
}
