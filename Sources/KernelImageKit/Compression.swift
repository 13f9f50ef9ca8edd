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

    /// The format whose magic starts at `i`. The extract-vmlinux scan asks this at every
    /// byte of an image, once per format: it compares bytes in place (matching magic
    /// arrays made an allocation per call, a quarter of the kernel-image fuzz target).
    static func detect(_ bytes: [UInt8], at i: Int) -> Compression {
        bytes.withUnsafeBufferPointer { b -> Compression in
            guard i >= 0, b.count - i >= 2 else { return .none }
            let n = b.count - i
            func at(_ k: Int) -> UInt8 { b[i + k] }
            switch at(0) {
            case 0x1f where at(1) == 0x8b: return .gzip
            case 0xfd where n >= 6 && at(1) == 0x37 && at(2) == 0x7a && at(3) == 0x58 && at(4) == 0x5a && at(5) == 0x00: return .xz
            case 0x28 where n >= 4 && at(1) == 0xb5 && at(2) == 0x2f && at(3) == 0xfd: return .zstd
            case 0x02 where n >= 4 && at(1) == 0x21 && at(2) == 0x4c && at(3) == 0x18: return .lz4
            case 0x42 where n >= 3 && at(1) == 0x5a && at(2) == 0x68: return .bzip2
            case 0x5d where n >= 3 && at(1) == 0x00 && at(2) == 0x00: return .lzma
            default: return .none
            }
        }
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

    /// `input` decompressed. With `startingWith`, decoding stops as soon as the output
    /// cannot begin with those bytes (an error like corrupt data): the extract-vmlinux scan
    /// wants an ELF file and need not inflate whatever else a stray magic starts.
    public func decompress(_ input: ArraySlice<UInt8>, file: String, startingWith prefix: [UInt8] = []) throws(KernelKitError) -> [UInt8] {
        let result: [UInt8]?
        switch self {
        case .none: return Array(input)
        case .gzip: result = Self.inflate(input, prefix)
        case .xz, .lzma:
            var status = LZMA_OK
            result = Self.lzmaDecode(input, prefix, alone: self == .lzma, status: &status)
            if status == LZMA_MEMLIMIT_ERROR {
                throw KernelKitError(.memoryLimit, "\(rawValue) data asks for more than \(Self.lzmaMemoryLimit >> 20) MiB to decompress (its dictionary size; kernel images use at most 128 MiB)",
                                     at: SourceLocation(file: file, line: 0))
            }
        case .zstd: result = Self.zstdDecode(input, prefix)
        case .lz4: result = Self.lz4LegacyDecode(input, prefix)
        case .bzip2: result = Self.bunzip2(input, prefix)
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

    /// What a decoder has written so far, and the bytes it must start with.
    private struct Output {
        var bytes: [UInt8] = []
        let prefix: [UInt8]

        /// Appends a chunk; false once the output cannot start with `prefix`.
        mutating func append(_ chunk: ArraySlice<UInt8>) -> Bool {
            let before = bytes.count
            bytes += chunk
            guard before < prefix.count else { return true }
            let n = min(bytes.count, prefix.count)
            return bytes[..<n].elementsEqual(prefix[..<n])
        }
    }

    /// An output buffer for a decoder, left uninitialised: only the bytes the decoder
    /// wrote are read back. Zeroing it cost every attempt of the extract-vmlinux scan
    /// (one per magic in the image) up to a megabyte of writes and page faults.
    private static func scratch(_ count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    private static func inflate(_ input: ArraySlice<UInt8>, _ prefix: [UInt8]) -> [UInt8]? {
        var out = Output(prefix: prefix)
        var strm = z_stream()
        // 15 + 32: a zlib or gzip header, detected.
        guard inflateInit2_(&strm, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&strm) }
        let chunk = roundSize(input.count)
        var buffer = scratch(chunk)
        return input.withUnsafeBufferPointer { inBuf -> [UInt8]? in
            strm.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            strm.avail_in = UInt32(inBuf.count)
            while true {
                let status = buffer.withUnsafeMutableBufferPointer { b -> Int32 in
                    strm.next_out = b.baseAddress
                    strm.avail_out = UInt32(b.count)
                    return CZlib.inflate(&strm, Z_NO_FLUSH)
                }
                guard out.append(buffer[..<(chunk - Int(strm.avail_out))]) else { return nil }
                if status == Z_STREAM_END { return out.bytes }
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

    /// The most memory liblzma may take for one stream. The header chooses the dictionary
    /// size, up to 4 GiB, and liblzma allocates it whole: a 13-byte lzma header made the
    /// fuzzer's kernel-image target allocate 3.8 GB. The kernel compresses images with
    /// `lzma -9` (64 MiB of dictionary, scripts/Makefile.lib) or `xz --lzma2=,dict=128MiB`
    /// (scripts/xz_wrap.sh in 6.12), and modules with `xz` presets below that.
    static let lzmaMemoryLimit: UInt64 = 512 << 20

    private static func lzmaDecode(_ input: ArraySlice<UInt8>, _ prefix: [UInt8], alone: Bool, status: inout lzma_ret) -> [UInt8]? {
        var strm = lzma_stream()
        let initStatus = alone ? lzma_alone_decoder(&strm, lzmaMemoryLimit) : lzma_stream_decoder(&strm, lzmaMemoryLimit, 0)
        guard initStatus == LZMA_OK else { status = initStatus; return nil }
        defer { lzma_end(&strm) }
        return drive(&strm, input, prefix, action: LZMA_RUN, status: &status)
    }

    /// Runs a liblzma coder over `input`; `status` is its last return, so that the caller
    /// can tell a memory limit from corrupt data.
    private static func drive(_ strm: inout lzma_stream, _ input: ArraySlice<UInt8>, _ prefix: [UInt8], action: lzma_action, status lastStatus: inout lzma_ret) -> [UInt8]? {
        var out = Output(prefix: prefix)
        let chunk = roundSize(input.count)
        var buffer = scratch(chunk)
        return input.withUnsafeBufferPointer { inBuf -> [UInt8]? in
            strm.next_in = inBuf.baseAddress
            strm.avail_in = inBuf.count
            while true {
                let status = buffer.withUnsafeMutableBufferPointer { b -> lzma_ret in
                    strm.next_out = b.baseAddress
                    strm.avail_out = b.count
                    return lzma_code(&strm, strm.avail_in == 0 ? LZMA_FINISH : action)
                }
                guard out.append(buffer[..<(chunk - strm.avail_out)]) else { return nil }
                lastStatus = status
                if status == LZMA_STREAM_END { return out.bytes }
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
        var last = LZMA_OK
        return drive(&strm, input[...], [], action: LZMA_FINISH, status: &last)
    }

    // MARK: zstd

    private static func zstdDecode(_ input: ArraySlice<UInt8>, _ prefix: [UInt8]) -> [UInt8]? {
        guard let ds = ZSTD_createDStream() else { return nil }
        defer { ZSTD_freeDStream(ds) }
        var out = Output(prefix: prefix)
        let chunk = roundSize(input.count)
        var buffer = scratch(chunk)
        return input.withUnsafeBufferPointer { inBuf -> [UInt8]? in
            var inb = ZSTD_inBuffer(src: inBuf.baseAddress, size: inBuf.count, pos: 0)
            while true {
                var outb = ZSTD_outBuffer()
                let ret = buffer.withUnsafeMutableBufferPointer { b -> Int in
                    outb = ZSTD_outBuffer(dst: b.baseAddress, size: b.count, pos: 0)
                    return ZSTD_decompressStream(ds, &outb, &inb)
                }
                if ZSTD_isError(ret) != 0 { return nil }
                guard out.append(buffer[..<outb.pos]) else { return nil }
                if ret == 0 { return out.bytes } // a frame is complete
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

    private static func lz4LegacyDecode(_ input: ArraySlice<UInt8>, _ prefix: [UInt8]) -> [UInt8]? {
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
            var out = Output(prefix: prefix)
            var buffer = [UInt8]()
            var i = 4
            while i + 4 <= b.count {
                let size = Int(u32(i))
                if UInt32(size) == magic { i += 4; continue }
                // The kernel appends the decompressed size after the last block: a "size" that
                // runs past the end means the data is over (as decompress_unlz4.c stops).
                if size == 0 || i + 4 + size > b.count { break }
                let room = min(blockMax, size * 256 + 64)
                if buffer.count < room { buffer = scratch(room) }
                let n = buffer.withUnsafeMutableBufferPointer { o in
                    LZ4_decompress_safe(UnsafeRawPointer(b.baseAddress! + i + 4).assumingMemoryBound(to: CChar.self),
                                        UnsafeMutableRawPointer(o.baseAddress!).assumingMemoryBound(to: CChar.self),
                                        Int32(size), Int32(room))
                }
                if n < 0 { return nil }
                guard out.append(buffer[..<Int(n)]) else { return nil }
                i += 4 + size
            }
            return out.bytes.isEmpty ? nil : out.bytes
        }
    }

    // MARK: bzip2

    private static func bunzip2(_ input: ArraySlice<UInt8>, _ prefix: [UInt8]) -> [UInt8]? {
        var strm = bz_stream()
        guard BZ2_bzDecompressInit(&strm, 0, 0) == BZ_OK else { return nil }
        defer { BZ2_bzDecompressEnd(&strm) }
        var out = Output(prefix: prefix)
        let chunk = roundSize(input.count)
        var buffer = scratch(chunk)
        return input.withUnsafeBufferPointer { inBuf -> [UInt8]? in
            strm.next_in = UnsafeMutableRawPointer(mutating: inBuf.baseAddress)?.assumingMemoryBound(to: CChar.self)
            strm.avail_in = UInt32(inBuf.count)
            while true {
                let status = buffer.withUnsafeMutableBufferPointer { b -> Int32 in
                    strm.next_out = UnsafeMutableRawPointer(b.baseAddress)?.assumingMemoryBound(to: CChar.self)
                    strm.avail_out = UInt32(b.count)
                    return BZ2_bzDecompress(&strm)
                }
                guard out.append(buffer[..<(chunk - Int(strm.avail_out))]) else { return nil }
                if status == BZ_STREAM_END { return out.bytes }
                if status != BZ_OK { return nil }
                if strm.avail_in == 0 && strm.avail_out != 0 { return nil }
            }
        }
    }
}
