import KernelKitCore

/// The X.509 certificates built into a kernel image: the system keyring that
/// `certs/system_certificates.S` embeds (CONFIG_SYSTEM_TRUSTED_KEYS and the build's
/// signing key), which is what the kernel checks module signatures against.
public enum KernelImage {
    /// The decompressed kernel (`vmlinux`) inside an image: an x86 bzImage (its
    /// payload_offset and payload_length, boot protocol 2.08+), an arm64 EFI zboot image,
    /// a compressed `Image.gz`, or an ELF vmlinux as is. Other layouts are searched for
    /// a compressed stream, as `scripts/extract-vmlinux` does.
    public static func vmlinux(_ image: [UInt8], file: String) throws(KernelKitError) -> [UInt8] {
        func u32(_ i: Int) -> Int {
            Int(image[i]) | Int(image[i + 1]) << 8 | Int(image[i + 2]) << 16 | Int(image[i + 3]) << 24
        }
        if image.count > 4, image[0..<4].elementsEqual([0x7f, 0x45, 0x4c, 0x46]) { return image }
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
        // extract-vmlinux: try each format at each place its magic appears.
        for c in [Compression.gzip, .xz, .zstd, .lz4, .bzip2, .lzma] {
            var i = 0
            while i < image.count - 8 {
                if Compression.detect(image, at: i) == c, let out = try? c.decompress(image[i...], file: file),
                   out.count > 4, out[0..<4].elementsEqual([0x7f, 0x45, 0x4c, 0x46]) {
                    return out
                }
                i += 1
            }
        }
        throw failure(.noCertificates, "no compressed kernel found in the image (gzip, xz, zstd, lz4, lzma or bzip2)", file)
    }

    /// Every DER certificate in `vmlinux`, in order, without duplicates.
    public static func certificates(inKernel vmlinux: [UInt8]) -> [X509Certificate] {
        var out = [X509Certificate]()
        var i = 0
        let n = vmlinux.count
        while i + 8 < n {
            // A certificate starts `30 82 LL LL 30 82`: a long SEQUENCE holding a long SEQUENCE.
            if vmlinux[i] == 0x30, vmlinux[i + 1] == 0x82, vmlinux[i + 4] == 0x30, vmlinux[i + 5] == 0x82,
               let length = X509Certificate.derLength(vmlinux, at: i),
               let cert = try? X509Certificate(der: Array(vmlinux[i..<(i + length)])) {
                if !out.contains(cert) { out.append(cert) }
                i += length
                continue
            }
            i += 1
        }
        return out
    }

    /// The certificates built into a kernel image file.
    public static func certificates(imageFile path: String) throws(KernelKitError) -> [X509Certificate] {
        let image = try InputFile.readBytes(path)
        let certs = certificates(inKernel: try vmlinux(image, file: path))
        if certs.isEmpty {
            throw failure(.noCertificates, "the kernel holds no X.509 certificates (built without CONFIG_MODULE_SIG or SYSTEM_TRUSTED_KEYS?)", path)
        }
        return certs
    }
}
