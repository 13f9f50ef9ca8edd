import KernelImageKit
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// A kernel module file: the ELF object with any appended signatures, read through its
/// compression (`.ko`, `.ko.gz`, `.ko.xz`, `.ko.zst`).
public struct ModuleFile: Sendable {
    public let path: String
    public let compression: Compression
    /// The decompressed bytes: the module, then any signatures.
    public var bytes: [UInt8]

    public init(path: String, bytes: [UInt8], compression: Compression) {
        self.path = path
        self.bytes = bytes
        self.compression = compression
    }

    /// Reads a module, decompressing it when its first bytes say so.
    public static func read(_ path: String) throws(KernelKitError) -> ModuleFile {
        try decode(try InputFile.readBytes(path), path: path)
    }

    /// A module from the file's bytes as stored, `path` naming it in errors.
    public static func decode(_ raw: [UInt8], path: String) throws(KernelKitError) -> ModuleFile {
        let compression = Compression.detect(raw)
        switch compression {
        case .none, .gzip, .xz, .zstd: break
        default:
            throw failure(.notELF, "a \(compression.rawValue) file; modules are compressed with gzip, xz or zstd", path)
        }
        let bytes = try compression.decompress(raw[...], file: path)
        // Every module is an ELF object, signed or not: anything else is refused here, so
        // that no command strips, signs or reports "unsigned" for a text file.
        guard bytes.count >= 4, bytes[0..<4].elementsEqual([0x7f, 0x45, 0x4c, 0x46]) else {
            throw failure(.notELF, "not an ELF file (a kernel module is an ELF relocatable object)", path)
        }
        return ModuleFile(path: path, bytes: bytes, compression: compression)
    }

    /// The last appended signature, nil for an unsigned module.
    public func trailer() throws(KernelKitError) -> SignatureTrailer? {
        try SignatureTrailer.parse(bytes, file: path)
    }

    /// The module without any appended signature: the bytes sign-file signs.
    public func unsignedContent() throws(KernelKitError) -> ArraySlice<UInt8> {
        bytes[..<(try SignatureTrailer.unsignedLength(bytes, file: path))]
    }

    /// The `.modinfo` fields.
    public func info() throws(KernelKitError) -> ModuleInfo {
        try ModuleInfo(elf: try unsignedContent(), file: path)
    }

    /// The file's bytes as stored: compressed again in the module's own format.
    public func encoded() throws(KernelKitError) -> [UInt8] {
        try compression.compress(bytes, file: path)
    }

    /// Writes the module to `destination` (in place by default) through a temporary file
    /// and a rename, keeping the permissions: an interrupted write leaves the old file.
    /// A read-only file is refused rather than silently replaced.
    public func write(to destination: String? = nil) throws(KernelKitError) {
        let target = destination ?? path
        var st = stat()
        if stat(target, &st) == 0, st.st_mode & 0o222 == 0 {
            throw failure(.readOnly, "the file is read-only; make it writable to change it in place", target)
        }
        try AtomicFile.write(try encoded(), to: target)
    }
}
