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
        var ok = false
        defer {
            if !ok { unlink(tempPath) }
        }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { buf in
                Glibc.write(fd, buf.baseAddress! + written, buf.count - written)
            }
            if n < 0 {
                if errno == EINTR { continue }
                let err = SystemError.current
                close(fd)
                throw KernelKitError(.writeFailed, "write failed", at: location, underlying: err)
            }
            written += n
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
        fchmod(fd, finalMode)
        if close(fd) != 0 {
            throw KernelKitError(.writeFailed, "close failed", at: location, underlying: SystemError.current)
        }
        if rename(tempPath, path) != 0 {
            throw KernelKitError(.writeFailed, "cannot rename into place", at: location, underlying: SystemError.current)
        }
        ok = true
    }
}
