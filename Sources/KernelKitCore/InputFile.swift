#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads input files safely: every way a file can be unusable becomes a located
/// ``KernelKitError`` instead of a crash or a silent misparse.
public enum InputFile {
    /// Reads the whole file as bytes.
    ///
    /// - Parameter path: the file to read.
    /// - Throws: ``KernelKitError`` with `.fileNotFound`, `.isDirectory` or `.unreadable`.
    public static func readBytes(_ path: String) throws(KernelKitError) -> [UInt8] {
        var st = stat()
        if stat(path, &st) != 0 {
            let err = SystemError.current
            if err.code == ENOENT || err.code == ENOTDIR {
                throw KernelKitError(.fileNotFound, "no such file", at: SourceLocation(file: path, line: 0))
            }
            throw KernelKitError(.unreadable, "cannot read file", at: SourceLocation(file: path, line: 0), underlying: err)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw KernelKitError(.isDirectory, "is a directory, expected a file", at: SourceLocation(file: path, line: 0))
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw KernelKitError(.unreadable, "cannot open file", at: SourceLocation(file: path, line: 0), underlying: SystemError.current)
        }
        defer { close(fd) }
        // Size from fstat is only a hint: /proc files report 0 and pipes have none.
        var capacity = max(Int(st.st_size), 0) + 1
        var bytes = [UInt8]()
        bytes.reserveCapacity(capacity)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw KernelKitError(.unreadable, "read failed", at: SourceLocation(file: path, line: 0), underlying: SystemError.current)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            capacity += n
        }
        return bytes
    }

    /// Reads a text file: UTF-8, no NUL bytes.
    ///
    /// The kernel's tools read .config files as C strings, so a NUL byte silently
    /// truncates a line there; here it is an error naming the line.
    public static func readText(_ path: String) throws(KernelKitError) -> [UInt8] {
        let bytes = try readBytes(path)
        try validateText(bytes, file: path)
        return bytes
    }

    /// Checks that `bytes` are UTF-8 text without NUL bytes.
    ///
    /// - Throws: `.binaryFile` or `.invalidUTF8`, located at the offending line and column.
    public static func validateText(_ bytes: [UInt8], file: String) throws(KernelKitError) {
        if let nul = bytes.firstIndex(of: 0) {
            let (line, column) = lineAndColumn(of: nul, in: bytes)
            throw KernelKitError(.binaryFile, "binary file (NUL byte), expected text",
                                 at: SourceLocation(file: file, line: line, column: column))
        }
        // The fast path: the standard library's validator.
        if String(validating: bytes, as: UTF8.self) != nil { return }
        let bad = firstInvalidUTF8(bytes) ?? 0
        let (line, column) = lineAndColumn(of: bad, in: bytes)
        throw KernelKitError(.invalidUTF8, "invalid UTF-8 (byte 0x\(String(bytes[bad], radix: 16)))",
                             at: SourceLocation(file: file, line: line, column: column))
    }

    static func lineAndColumn(of offset: Int, in bytes: [UInt8]) -> (Int, Int) {
        var line = 1
        var lineStart = 0
        for i in 0..<offset where bytes[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = i + 1
        }
        return (line, offset - lineStart + 1)
    }

    /// The offset of the first byte that starts an invalid UTF-8 sequence.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            let length: Int
            switch b {
            case 0x00...0x7F: i += 1; continue
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: return i
            }
            if i + length > bytes.count { return i }
            var scalar = UInt32(b) & (0xFF >> (length + 1))
            for k in 1..<length {
                let c = bytes[i + k]
                if c & 0xC0 != 0x80 { return i }
                scalar = scalar << 6 | UInt32(c & 0x3F)
            }
            let minimum: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
            if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { return i }
            i += length
        }
        return nil
    }
}
