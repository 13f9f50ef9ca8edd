#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that a reader never sees half of one: the bytes go to a temporary
/// file beside the target, which is then renamed over it. An interrupted run leaves
/// the old file or the new one, never a mix.
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically, keeping the permissions of a file it replaces.
    ///
    /// - Throws: ``KernelKitError`` with `.writeFailed` (or `.isDirectory`).
    public static func write(_ bytes: [UInt8], to path: String) throws(KernelKitError) {
        let location = SourceLocation(file: path, line: 0)
        var st = stat()
        var mode: mode_t? = nil
        if stat(path, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFDIR {
                throw KernelKitError(.isDirectory, "is a directory, expected a file", at: location)
            }
            mode = st.st_mode & 0o7777
        }
        // mkstemp creates 0600; a new file gets the usual 0666 less the umask instead.
        let finalMode: mode_t
        if let mode {
            finalMode = mode
        } else {
            let mask = umask(0)
            umask(mask)
            finalMode = 0o666 & ~mask
        }
        let tempPath = try temporaryCopy(bytes, besides: path, mode: finalMode)
        if rename(tempPath, path) != 0 {
            let err = SystemError.current
            unlink(tempPath)
            throw KernelKitError(.writeFailed, "cannot rename into place", at: location, underlying: err)
        }
    }

    /// Creates `path` with `bytes` and `mode`, atomically, and never replaces an existing
    /// file: the complete temporary file is hard-linked into place, which fails if
    /// anything is there already.
    public static func create(_ bytes: [UInt8], at path: String, mode: mode_t) throws(KernelKitError) {
        let location = SourceLocation(file: path, line: 0)
        let tempPath = try temporaryCopy(bytes, besides: path, mode: mode)
        defer { unlink(tempPath) }
        if link(tempPath, path) != 0 {
            if errno == EEXIST {
                throw KernelKitError(.writeFailed, "exists; not overwritten", at: location)
            }
            throw KernelKitError(.writeFailed, "cannot create the file", at: location, underlying: SystemError.current)
        }
    }

    /// Writes `bytes` to a new temporary file in `path`'s directory and returns its path.
    private static func temporaryCopy(_ bytes: [UInt8], besides path: String, mode: mode_t) throws(KernelKitError) -> String {
        let location = SourceLocation(file: path, line: 0)
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        let base = path.split(separator: "/").last.map(String.init) ?? path
        var template = Array("\(directory)/.\(base).kernelkit-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0 {
            throw KernelKitError(.writeFailed, "cannot create a temporary file in \(directory)", at: location,
                                 underlying: SystemError.current)
        }
        let tempPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { buf in
                Glibc.write(fd, buf.baseAddress! + written, buf.count - written)
            }
            if n < 0 {
                if errno == EINTR { continue }
                let err = SystemError.current
                close(fd)
                unlink(tempPath)
                throw KernelKitError(.writeFailed, "write failed", at: location, underlying: err)
            }
            written += n
        }
        fchmod(fd, mode)
        if close(fd) != 0 {
            let err = SystemError.current
            unlink(tempPath)
            throw KernelKitError(.writeFailed, "close failed", at: location, underlying: err)
        }
        return tempPath
    }
}
