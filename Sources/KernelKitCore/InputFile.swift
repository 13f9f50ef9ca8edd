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
    /// - Parameters:
    ///   - path: the file to read.
    ///   - regularOnly: anything but a regular file is `.unreadable`, unread: for reading
    ///     ahead of a parser (a FIFO's data would be taken from whoever reads it next).
    /// - Throws: ``KernelKitError`` with `.fileNotFound`, `.isDirectory` or `.unreadable`.
    public static func readBytes(_ path: String, regularOnly: Bool = false) throws(KernelKitError) -> [UInt8] {
        // open, then fstat: one path lookup per file (a Kconfig tree reads 1,500 files).
        // O_NONBLOCK so that a FIFO nobody writes to is an error, not a wait forever:
        // opening one for reading blocks until a writer comes (fifo(7)).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 {
            let err = SystemError.current
            if err.code == ENOENT || err.code == ENOTDIR {
                throw KernelKitError(.fileNotFound, "no such file", at: SourceLocation(file: path, line: 0))
            }
            throw KernelKitError(.unreadable, "cannot open file", at: SourceLocation(file: path, line: 0), underlying: err)
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 {
            throw KernelKitError(.unreadable, "cannot read file", at: SourceLocation(file: path, line: 0), underlying: SystemError.current)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw KernelKitError(.isDirectory, "is a directory, expected a file", at: SourceLocation(file: path, line: 0))
        }
        if regularOnly && (st.st_mode & S_IFMT) != S_IFREG {
            throw KernelKitError(.unreadable, "not a regular file", at: SourceLocation(file: path, line: 0))
        }
        var bytes = [UInt8]()
        if (st.st_mode & S_IFMT) == S_IFIFO {
            // Non-blocking, a read with no writer sees end-of-file at once; with one (a
            // writer already started, or a shell's <(command)) it sees data or EAGAIN.
            var first: UInt8 = 0
            let n = read(fd, &first, 1)
            if n == 1 { bytes.append(first) }
            if n == 0 {
                // A named FIFO (mkfifo) nobody writes to. A pipe (/dev/fd/N, which lstat
                // sees as a link) at end-of-file is an empty input.
                var ls = stat()
                if lstat(path, &ls) == 0, (ls.st_mode & S_IFMT) == S_IFIFO {
                    throw KernelKitError(.unreadable, "a FIFO with no writer: nothing to read", at: SourceLocation(file: path, line: 0))
                }
                return []
            }
        }
        // Reads block from here on (a pipe's writer may be slow). A regular file's reads
        // never wait, flag or not: two system calls saved per file.
        if (st.st_mode & S_IFMT) != S_IFREG { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) }
        // Read straight into the array's storage: no intermediate buffer to fault in.
        // The size from fstat is only a hint (/proc files report 0), so grow on demand.
        var capacity = max(Int(st.st_size), 4096) + 1
        let regularSize = (st.st_mode & S_IFMT) == S_IFREG && st.st_size > 0 ? Int(st.st_size) : -1
        while true {
            let have = bytes.count
            var failed: Int32 = 0
            var atEnd = false
            bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
                if have > 0 {
                    bytes.withUnsafeBufferPointer { old in
                        buffer.baseAddress!.update(from: old.baseAddress!, count: have)
                    }
                }
                initialized = have
                while initialized < capacity {
                    let n = read(fd, buffer.baseAddress! + initialized, capacity - initialized)
                    if n < 0 {
                        if errno == EINTR { continue }
                        failed = errno
                        return
                    }
                    if n == 0 { atEnd = true; return }
                    initialized += n
                    // A regular file read to the size fstat gave is whole: no second
                    // read() just to see end-of-file.
                    if initialized == regularSize { atEnd = true; return }
                }
            }
            if failed != 0 {
                throw KernelKitError(.unreadable, "read failed", at: SourceLocation(file: path, line: 0),
                                     underlying: SystemError(errno: failed))
            }
            if atEnd { break }
            capacity *= 2
        }
        return bytes
    }

    /// True when something exists at `path`.
    public static func exists(_ path: String) -> Bool { kind(path).exists }

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
        let nulOffset = bytes.withUnsafeBufferPointer { $0.firstOffset(of: 0, in: 0..<$0.count) }
        if let nul = nulOffset {
            let (line, column) = lineAndColumn(of: nul, in: bytes)
            throw KernelKitError(.binaryFile, "binary file (NUL byte), expected text",
                                 at: SourceLocation(file: file, line: line, column: column))
        }
        guard let bad = firstInvalidUTF8(bytes) else { return }
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
        // Kernel configs are nearly all ASCII: skip it eight bytes at a time.
        var i = bytes.withUnsafeBytes { raw -> Int in
            var k = 0
            while k + 8 <= raw.count && raw.loadUnaligned(fromByteOffset: k, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                k += 8
            }
            return k
        }
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

extension InputFile {
    /// `path` made absolute against the working directory, without resolving links or
    /// `..` (as kmod's path_make_absolute_cwd, which modinfo's `filename:` shows).
    public static func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/" + path
    }

    /// The names in a directory, without `.` and `..` (and hidden names unless
    /// `includingHidden`), unsorted; none when it cannot be opened (sysfs and procfs
    /// listings, where absence is an answer).
    public static func entries(_ dir: String, includingHidden: Bool = false) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names = [String]()
        while let e = readdir(d) {
            let n = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if includingHidden ? (n != "." && n != "..") : !n.hasPrefix(".") { names.append(n) }
        }
        return names
    }

    /// A symbolic link's target as stored, nil when `path` is not a link.
    public static func linkTarget(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether `path` exists, and whether it is a directory (following symbolic links).
    public static func kind(_ path: String) -> (exists: Bool, isDirectory: Bool) {
        var st = stat()
        guard stat(path, &st) == 0 else { return (false, false) }
        return (true, (st.st_mode & S_IFMT) == S_IFDIR)
    }

    /// Every regular file below `directory` (not following symbolic links, unreadable
    /// subdirectories skipped), as paths under it, in no particular order.
    public static func regularFiles(under directory: String) -> [String] {
        var out = [String]()
        var pending = [directory]
        while let dir = pending.popLast() {
            guard let handle = opendir(dir) else { continue }
            defer { closedir(handle) }
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                let path = dir.hasSuffix("/") ? dir + name : dir + "/" + name
                var type = entry.pointee.d_type
                if type == UInt8(DT_UNKNOWN) {
                    var st = stat()
                    guard lstat(path, &st) == 0 else { continue }
                    type = (st.st_mode & S_IFMT) == S_IFDIR ? UInt8(DT_DIR) : (st.st_mode & S_IFMT) == S_IFREG ? UInt8(DT_REG) : 0
                }
                if type == UInt8(DT_DIR) {
                    pending.append(path)
                } else if type == UInt8(DT_REG) {
                    out.append(path)
                }
            }
        }
        return out
    }
}

extension InputFile {
    /// Creates the directories above `path` that do not exist yet (mkdir -p of its parent).
    public static func makeParentDirectories(of path: String) throws(KernelKitError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        let parts = path.split(separator: "/").dropLast()
        for part in parts {
            prefix += part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw KernelKitError(.unreadable, "cannot create the directory", at: SourceLocation(file: prefix, line: 0),
                                     underlying: SystemError.current)
            }
            prefix += "/"
        }
    }
}

/// A regular file mapped read-only, for inputs of which only a part is read (the .BTF
/// section of a 50 MB vmlinux): the pages not touched are never read from disk.
/// `~Copyable`: its one owner unmaps it.
public struct MappedFile: ~Copyable {
    public let bytes: UnsafeRawBufferPointer

    /// nil when the file cannot be mapped (not a regular file, empty, a filesystem
    /// without mmap): read it with ``InputFile/readBytes(_:)`` instead, which also says why
    /// a file is unreadable.
    public init?(_ path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 else { return nil }
        guard let p = mmap(nil, Int(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else { return nil }
        bytes = UnsafeRawBufferPointer(start: p, count: Int(st.st_size))
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count) }
}

