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
    public static func write(_ bytes: [UInt8], to given: String) throws(KernelKitError) {
        let location = SourceLocation(file: given, line: 0)
        // A symbolic link is followed: the file it names is replaced, the link kept.
        // /dev/stdout is one (to /proc/self/fd/1): what it leads to is written in place,
        // as a redirection set up by the shell must keep its file.
        var path = given
        var lst = stat()
        if lstat(given, &lst) == 0, (lst.st_mode & S_IFMT) == S_IFLNK, let real = realpath(given, nil) {
            path = String(cString: real)
            free(real)
            if given.hasPrefix("/dev/") || given.hasPrefix("/proc/") || path.hasPrefix("/proc/") {
                try writeInPlace(bytes, to: given, location: location)
                return
            }
        }
        var st = stat()
        var mode: mode_t? = nil
        if stat(path, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFDIR {
                throw KernelKitError(.isDirectory, "is a directory, expected a file", at: location)
            }
            // `-o /dev/null`, `-o /dev/stdout`, a FIFO: written to, never replaced. A rename
            // over a device node would put a regular file in its place (as root, /dev/null
            // itself, and every later `> /dev/null` on the machine writes into that file).
            if (st.st_mode & S_IFMT) != S_IFREG {
                try writeInPlace(bytes, to: path, location: location)
                return
            }
            mode = st.st_mode & 0o7777
        }
        // A replaced file keeps its mode; a new one gets 0666 less the umask, which the
        // kernel applies when the temporary file is created (reading the umask would mean
        // setting it, process-wide, while other threads may be creating files).
        let temp = try temporaryCopy(bytes, besides: path, mode: mode)
        defer { close(temp.fd) }
        if rename(temp.path, path) != 0 {
            let err = SystemError.current
            unlink(temp.path)
            throw KernelKitError(.writeFailed, "cannot rename into place", at: location, underlying: err)
        }
        syncDirectory(of: path)
    }

    /// Writes into an existing non-regular file (a device, a FIFO) as `>` would.
    private static func writeInPlace(_ bytes: [UInt8], to path: String, location: SourceLocation) throws(KernelKitError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KernelKitError(.writeFailed, "cannot open for writing", at: location, underlying: SystemError.current) }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw KernelKitError(.writeFailed, "cannot write", at: location, underlying: SystemError.current) }
            done += n
        }
    }

    /// Creates `path` with `bytes` and `mode`, atomically, and never replaces an existing
    /// file: the complete temporary file is hard-linked into place, which fails if
    /// anything is there already.
    public static func create(_ bytes: [UInt8], at path: String, mode: mode_t) throws(KernelKitError) {
        let location = SourceLocation(file: path, line: 0)
        let temp = try temporaryCopy(bytes, besides: path, mode: mode)
        defer {
            unlink(temp.path)
            close(temp.fd)
        }
        if link(temp.path, path) != 0 {
            if errno == EEXIST {
                throw KernelKitError(.writeFailed, "exists; not overwritten", at: location)
            }
            throw KernelKitError(.writeFailed, "cannot create the file", at: location, underlying: SystemError.current)
        }
        syncDirectory(of: path)
    }

    /// The directory part of `path` ("." for a bare name, "/" for a file in the root).
    package static func directory(of path: String) -> String {
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
    /// returns its path and its descriptor, which holds an flock(2) on it: the caller
    /// closes it only once the file is renamed or linked into place, so that
    /// ``removeAbandonedTemporaries(in:)`` can tell a live write from one that was killed
    /// (the kernel drops a dead process's locks). With `mode` nil the file gets 0666 less
    /// the umask.
    private static func temporaryCopy(_ bytes: [UInt8], besides path: String, mode: mode_t?) throws(KernelKitError) -> (path: String, fd: Int32) {
        let location = SourceLocation(file: path, line: 0)
        let directory = directory(of: path)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        // mkstemp(3) would force 0600; O_EXCL with a random name is as safe and lets the
        // kernel apply the umask.
        var fd: Int32 = -1
        var tempPath = ""
        for _ in 0..<100 {
            tempPath = "\(directory)/.\(base)\(temporaryMarker)\(String(UInt32.random(in: .min ... .max), radix: 36))"
            fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd < 0 {
                if errno == EEXIST { continue }
                break
            }
            // Locked before anything is written. Another run's sweep could remove the file
            // between the open and the lock (it looks abandoned then): a file with no name
            // left is given up for a new one. A file system without flock (some network
            // ones) gets an unlocked write, which no sweep there can take for abandoned.
            var st = stat()
            if flock(fd, LOCK_EX) != 0 || (fstat(fd, &st) == 0 && st.st_nlink > 0) { break }
            close(fd)
            fd = -1
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
        // The descriptor stays open (and the file locked) until the caller has renamed it;
        // close(2) can report no write error that the fsync above did not.
        return (tempPath, fd)
    }

    /// What names a temporary file: `.NAME` + this + up to 7 base-36 digits.
    private static let temporaryMarker = ".kernelkit-"

    /// Removes the temporary files that writes killed before their rename left in
    /// `directory` (`.NAME.kernelkit-XXXX`, which no reader ever takes for the file), and
    /// returns their paths. A write in progress, in this process or another, holds an
    /// flock(2) on its temporary file until the rename, so only files whose lock can be
    /// taken are removed: their writer is gone. Files of any other name are not touched.
    public static func removeAbandonedTemporaries(in directory: String) -> [String] {
        var removed = [String]()
        for name in InputFile.entries(directory, includingHidden: true) where isTemporaryName(name) {
            let path = directory.hasSuffix("/") ? directory + name : "\(directory)/\(name)"
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            if unlink(path) == 0 { removed.append(path) }
        }
        return removed
    }

    /// `.NAME.kernelkit-` followed by 1 to 7 lower-case base-36 digits, as
    /// `temporaryCopy` names its files.
    static func isTemporaryName(_ name: String) -> Bool {
        let b = Array(name.utf8), marker = Array(temporaryMarker.utf8)
        var digits = 0
        while digits < b.count, (b[b.count - 1 - digits] >= 0x30 && b[b.count - 1 - digits] <= 0x39)
            || (b[b.count - 1 - digits] >= 0x61 && b[b.count - 1 - digits] <= 0x7A) { digits += 1 }
        let markerStart = b.count - digits - marker.count
        // A dot, at least one byte of NAME, the marker, 1 to 7 digits.
        return (1...7).contains(digits) && markerStart >= 2 && b[0] == UInt8(ascii: ".")
            && Array(b[markerStart..<(markerStart + marker.count)]) == marker
    }
}
