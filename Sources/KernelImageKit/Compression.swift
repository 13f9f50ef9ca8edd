import CZlib
import CLzma
import CZstd
import CLz4
import CBzip2
import KernelKitCore

/// The compressions of installed modules (`.ko.gz`, `.ko.xz`, `.ko.zst`) and of kernel
/// image payloads (also lzma, lz4 and bzip2), through the system libraries.
///
/// Modules are signed before they are compressed (scripts/Makefile.modinst), so the
/// signature lies inside the compressed payload: every operation decompresses, works on
/// the ELF file with its trailer, and compresses again in the same format.
public enum Compression: String, Sendable, CaseIterable {
    case none, gzip, xz, zstd, lzma, lz4, bzip2

    /// The format a file's first bytes announce; `.none` for anything else.
    public static func detect(_ bytes: [UInt8]) -> Compression {
        detect(bytes, at: 0)
    }

    static func detect(_ bytes: [UInt8], at i: Int) -> Compression {
        func has(_ magic: [UInt8]) -> Bool {
            i + magic.count <= bytes.count && bytes[i..<(i + magic.count)].elementsEqual(magic)
        }
        if has([0x1f, 0x8b]) { return .gzip }
        if has([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) { return .xz }
        if has([0x28, 0xb5, 0x2f, 0xfd]) { return .zstd }
        if has([0x02, 0x21, 0x4c, 0x18]) { return .lz4 }
        if has([0x42, 0x5a, 0x68]) { return .bzip2 }
        if has([0x5d, 0x00, 0x00]) { return .lzma }
        return .none
    }

    /// The file name suffix kmod and the kernel's install step use.
    public var moduleSuffix: String? {
        switch self {
        case .none: ""
        case .gzip: ".gz"
        case .xz: ".xz"
        case .zstd: ".zst"
        default: nil
        }
    }

    public func decompress(_ input: ArraySlice<UInt8>, file: String) throws(KernelKitError) -> [UInt8] {
        let result: [UInt8]?
        switch self {
        case .none: return Array(input)
        case .gzip: result = Self.inflate(input)
        case .xz: result = Self.lzmaDecode(input, alone: false)
        case .lzma: result = Self.lzmaDecode(input, alone: true)
        case .zstd: result = Self.zstdDecode(input)
        case .lz4: result = Self.lz4LegacyDecode(input)
        case .bzip2: result = Self.bunzip2(input)
        }
        guard let result else {
            throw KernelKitError(.compression, "corrupt or truncated \(rawValue) data", at: SourceLocation(file: file, line: 0))
        }
        return result
    }

    /// Compresses as the kernel's `modules_install` does: `gzip -n`, `xz --check=crc32
    /// --lzma2=dict=1MiB` (the kernel's own xz decoder wants CRC32), `zstd`.
    public func compress(_ input: [UInt8], file: String) throws(KernelKitError) -> [UInt8] {
        let result: [UInt8]?
        switch self {
        case .none: return input
        case .gzip: result = Self.deflate(input)
        case .xz: result = Self.xzEncode(input)
        case .zstd: result = Self.zstdEncode(input)
        default:
            throw KernelKitError(.compression, "writing \(rawValue) is not supported (modules use gzip, xz or zstd)",
                                 at: SourceLocation(file: file, line: 0))
        }
        guard let result else {
            throw KernelKitError(.compression, "\(rawValue) compression failed", at: SourceLocation(file: file, line: 0))
        }
        return result
    }

    // MARK: zlib

    /// The output buffer of one decoding round: a quarter of a typical module's expansion,
    /// up to 1 MiB for kernel images. Not always 1 MiB: zeroing that much for each small
    /// or corrupt input was most of the time of the kernel image finder, which tries a
    /// decoder at every magic number it meets.
    private static func roundSize(_ inputSize: Int) -> Int { min(1 << 20, max(1 << 16, inputSize * 4)) }

    private static func inflate(_ input: ArraySlice<UInt8>) -> [UInt8]? {
        var out = [UInt8]()
        var strm = z_stream()
        // 15 + 32: a zlib or gzip header, detected.
        guard inflateInit2_(&strm, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&strm) }
        let chunk = roundSize(input.count)
        var buffer = [UInt8](repeating: 0, count: chunk)
        return input.withUnsafeBufferPointer { inBuf -> [UInt8]? in
            strm.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            strm.avail_in = UInt32(inBuf.count)
            while true {
                let status = buffer.withUnsafeMutableBufferPointer { b -> Int32 in
                    strm.next_out = b.baseAddress
                    strm.avail_out = UInt32(b.count)
                    return CZlib.inflate(&strm, Z_NO_FLUSH)
                }
                out += buffer[..<(chunk - Int(strm.avail_out))]
                if status == Z_STREAM_END { return out }
                if status != Z_OK { return nil }
                if strm.avail_in == 0 && strm.avail_out != 0 { return nil }
            }
        }
    }

    private static func deflate(_ input: [UInt8]) -> [UInt8]? {
        var strm = z_stream()
        // 15 + 16: a gzip wrapper with no name and no time stamp, as `gzip -n` writes.
        guard deflateInit2_(&strm, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                            Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { deflateEnd(&strm) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&strm, UInt(input.count))) + 64)
        let status = input.withUnsafeBufferPointer { inBuf in
            out.withUnsafeMutableBufferPointer { outBuf -> Int32 in
                strm.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
                strm.avail_in = UInt32(inBuf.count)
                strm.next_out = outBuf.baseAddress
                strm.avail_out = UInt32(outBuf.count)
                return CZlib.deflate(&strm, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        return Array(out[..<Int(strm.total_out)])
    }

    // MARK: liblzma

    private static func lzmaDecode(_ input: ArraySlice<UInt8>, alone: Bool) -> [UInt8]? {
        var strm = lzma_stream()
        let initStatus = alone ? lzma_alone_decoder(&strm, UInt64.max) : lzma_stream_decoder(&strm, UInt64.max, 0)
        guard initStatus == LZMA_OK else { return nil }
        defer { lzma_end(&strm) }
        return drive(&strm, input, action: LZMA_RUN)
    }

    private static func drive(_ strm: inout lzma_stream, _ input: ArraySlice<UInt8>, action: lzma_action) -> [UInt8]? {
        var out = [UInt8]()
        let chunk = roundSize(input.count)
        var buffer = [UInt8](repeating: 0, count: chunk)
        return input.withUnsafeBufferPointer { inBuf -> [UInt8]? in
            strm.next_in = inBuf.baseAddress
            strm.avail_in = inBuf.count
            while true {
                let status = buffer.withUnsafeMutableBufferPointer { b -> lzma_ret in
                    strm.next_out = b.baseAddress
                    strm.avail_out = b.count
                    return lzma_code(&strm, strm.avail_in == 0 ? LZMA_FINISH : action)
                }
                out += buffer[..<(chunk - strm.avail_out)]
                if status == LZMA_STREAM_END { return out }
                if status != LZMA_OK { return nil }
            }
        }
    }

    private static func xzEncode(_ input: [UInt8]) -> [UInt8]? {
        var options = lzma_options_lzma()
        guard lzma_lzma_preset(&options, 6) == 0 else { return nil }
        options.dict_size = 1 << 20
        var strm = lzma_stream()
        let status = withUnsafeMutablePointer(to: &options) { opt -> lzma_ret in
            // LZMA_FILTER_LZMA2 is 0x21; LZMA_VLI_UNKNOWN ends the chain.
            var filters = [lzma_filter(id: 0x21, options: UnsafeMutableRawPointer(opt)),
                           lzma_filter(id: UInt64.max, options: nil)]
            return lzma_stream_encoder(&strm, &filters, LZMA_CHECK_CRC32)
        }
        guard status == LZMA_OK else { return nil }
        defer { lzma_end(&strm) }
        return drive(&strm, input[...], action: LZMA_FINISH)
    }

    // MARK: zstd

    private static func zstdDecode(_ input: ArraySlice<UInt8>) -> [UInt8]? {
        guard let ds = ZSTD_createDStream() else { return nil }
        defer { ZSTD_freeDStream(ds) }
        var out = [UInt8]()
        let chunk = roundSize(input.count)
        var buffer = [UInt8](repeating: 0, count: chunk)
        return input.withUnsafeBufferPointer { inBuf -> [UInt8]? in
            var inb = ZSTD_inBuffer(src: inBuf.baseAddress, size: inBuf.count, pos: 0)
            while true {
                var outb = ZSTD_outBuffer()
                let ret = buffer.withUnsafeMutableBufferPointer { b -> Int in
                    outb = ZSTD_outBuffer(dst: b.baseAddress, size: b.count, pos: 0)
                    return ZSTD_decompressStream(ds, &outb, &inb)
                }
                if ZSTD_isError(ret) != 0 { return nil }
                out += buffer[..<outb.pos]
                if ret == 0 { return out } // a frame is complete
                if inb.pos == inb.size && outb.pos < outb.size { return nil } // truncated
            }
        }
    }

    private static func zstdEncode(_ input: [UInt8]) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let n = input.withUnsafeBytes { i in
            out.withUnsafeMutableBytes { o in ZSTD_compress(o.baseAddress, o.count, i.baseAddress, i.count, 3) }
        }
        guard ZSTD_isError(n) == 0 else { return nil }
        return Array(out[..<n])
    }

    // MARK: lz4 (legacy frames, as the kernel's `lz4 -l` payloads use)

    private static func lz4LegacyDecode(_ input: ArraySlice<UInt8>) -> [UInt8]? {
        let magic: UInt32 = 0x184c2102
        let blockMax = 8 << 20 // LZ4_DEFAULT_UNCOMPRESSED_CHUNK_SIZE in lib/decompress_unlz4.c
        // Read in place (the image finder tries this at every magic it meets, on the rest
        // of the image), with an output buffer sized to the block: an LZ4 block decodes to
        // at most about 255 times its size (a match length grows by 255 per byte), so a
        // small block never needs the 8 MiB the kernel allows. Zeroing 8 MiB per attempt
        // made an input with a few magics take 17 s under the fuzzer.
        return input.withUnsafeBufferPointer { b -> [UInt8]? in
            func u32(_ i: Int) -> UInt32 {
                UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
            }
            guard b.count >= 4, u32(0) == magic else { return nil }
            var out = [UInt8]()
            var buffer = [UInt8]()
            var i = 4
            while i + 4 <= b.count {
                let size = Int(u32(i))
                if UInt32(size) == magic { i += 4; continue }
                // The kernel appends the decompressed size after the last block: a "size" that
                // runs past the end means the data is over (as decompress_unlz4.c stops).
                if size == 0 || i + 4 + size > b.count { break }
                let room = min(blockMax, size * 256 + 64)
                if buffer.count < room { buffer = [UInt8](repeating: 0, count: room) }
                let n = buffer.withUnsafeMutableBufferPointer { o in
                    LZ4_decompress_safe(UnsafeRawPointer(b.baseAddress! + i + 4).assumingMemoryBound(to: CChar.self),
                                        UnsafeMutableRawPointer(o.baseAddress!).assumingMemoryBound(to: CChar.self),
                                        Int32(size), Int32(room))
                }
                if n < 0 { return nil }
                out += buffer[..<Int(n)]
                i += 4 + size
            }
            return out.isEmpty ? nil : out
        }
    }

    // MARK: bzip2

    private static func bunzip2(_ input: ArraySlice<UInt8>) -> [UInt8]? {
        var strm = bz_stream()
        guard BZ2_bzDecompressInit(&strm, 0, 0) == BZ_OK else { return nil }
        defer { BZ2_bzDecompressEnd(&strm) }
        var out = [UInt8]()
        let chunk = roundSize(input.count)
        var buffer = [UInt8](repeating: 0, count: chunk)
        return input.withUnsafeBufferPointer { inBuf -> [UInt8]? in
            strm.next_in = UnsafeMutableRawPointer(mutating: inBuf.baseAddress)?.assumingMemoryBound(to: CChar.self)
            strm.avail_in = UInt32(inBuf.count)
            while true {
                let status = buffer.withUnsafeMutableBufferPointer { b -> Int32 in
                    strm.next_out = UnsafeMutableRawPointer(b.baseAddress)?.assumingMemoryBound(to: CChar.self)
                    strm.avail_out = UInt32(b.count)
                    return BZ2_bzDecompress(&strm)
                }
                out += buffer[..<(chunk - Int(strm.avail_out))]
                if status == BZ_STREAM_END { return out }
                if status != BZ_OK { return nil }
                if strm.avail_in == 0 && strm.avail_out != 0 { return nil }
            }
        }
    }
}
