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
        // A replaced file keeps its mode; a new one gets 0666 less the umask, which the
        // kernel applies when the temporary file is created (reading the umask would mean
        // setting it, process-wide, while other threads may be creating files).
        let tempPath = try temporaryCopy(bytes, besides: path, mode: mode)
        if rename(tempPath, path) != 0 {
            let err = SystemError.current
            unlink(tempPath)
            throw KernelKitError(.writeFailed, "cannot rename into place", at: location, underlying: err)
        }
        syncDirectory(of: path)
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
        syncDirectory(of: path)
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// fsync(2) of the directory after a rename or link, so the new name survives a
    /// crash too (the file's own data was synced before). Best effort: some file
    /// systems refuse to sync a directory, and the file is in place either way.
    private static func syncDirectory(of path: String) {
        let fd = open(directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// Writes `bytes` to a new temporary file in `path`'s directory, synced to disk, and
    /// returns its path. With `mode` nil the file gets 0666 less the umask.
    private static func temporaryCopy(_ bytes: [UInt8], besides path: String, mode: mode_t?) throws(KernelKitError) -> String {
        let location = SourceLocation(file: path, line: 0)
        let directory = directory(of: path)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        // mkstemp(3) would force 0600; O_EXCL with a random name is as safe and lets the
        // kernel apply the umask.
        var fd: Int32 = -1
        var tempPath = ""
        for _ in 0..<100 {
            tempPath = "\(directory)/.\(base).kernelkit-\(String(UInt32.random(in: .min ... .max), radix: 36))"
            fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 || errno != EEXIST { break }
        }
        if fd < 0 {
            throw KernelKitError(.writeFailed, "cannot create a temporary file in \(directory)", at: location,
                                 underlying: SystemError.current)
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
                unlink(tempPath)
                throw KernelKitError(.writeFailed, "write failed", at: location, underlying: err)
            }
            written += n
        }
        if let mode { fchmod(fd, mode) }
        // The data reaches the disk before the rename makes it visible: otherwise a crash
        // soon after could leave the new name on an empty file (ext4 and xfs both allow it).
        if fsync(fd) != 0 && errno != EINVAL && errno != EROFS {
            let err = SystemError.current
            close(fd)
            unlink(tempPath)
            throw KernelKitError(.writeFailed, "fsync failed", at: location, underlying: err)
        }
        if close(fd) != 0 {
            let err = SystemError.current
            unlink(tempPath)
            throw KernelKitError(.writeFailed, "close failed", at: location, underlying: err)
        }
        return tempPath
    }
}
