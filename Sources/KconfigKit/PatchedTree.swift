import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// A kernel tree with a unified diff applied, without copying the tree: a temporary
/// directory of symbolic links to the original, where only the files the patch touches
/// (and the directories above them) are real, copied before GNU patch edits them. The
/// Kconfig reader follows the links, so the patched tree reads as a checkout with the
/// patch applied; the original is never written. The directory goes with the last
/// reference to it.
public final class PatchedTree: Sendable {
    public let path: String
    /// The files the patch touches, relative to the tree.
    public let files: [String]

    /// Applies `patch` (`git diff`/`diff -u` output, paths with one leading component
    /// such as `a/` and `b/`, as `patch -p1` takes them) onto `base`.
    /// - Throws: `.malformedLine` for a patch that names no file or does not apply (the
    ///   file and hunk patch reports), `.fileNotFound` for a missing base.
    public init(base: String, patch patchFile: String) throws(KernelKitError) {
        guard InputFile.exists("\(base)/Kconfig") else {
            throw KernelKitError(.fileNotFound, "not a kernel tree (no Kconfig)", at: SourceLocation(file: base, line: 0))
        }
        let text = String(decoding: try InputFile.readText(patchFile), as: UTF8.self)
        var files: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            for marker in ["--- ", "+++ "] where line.hasPrefix(marker) {
                var p = line.dropFirst(4)
                if let tab = p.firstIndex(of: "\t") { p = p[..<tab] }
                guard p != "/dev/null", let slash = p.firstIndex(of: "/") else { continue }
                let rel = String(p[p.index(after: slash)...])
                if !rel.isEmpty, !rel.split(separator: "/").contains(".."), !files.contains(rel) { files.append(rel) }
            }
        }
        guard !files.isEmpty else {
            throw KernelKitError(.malformedLine, "no file in the patch (expected unified diff headers: --- a/PATH, +++ b/PATH)",
                                 at: SourceLocation(file: patchFile, line: 1))
        }
        var template = Array("/tmp/kernelkit-patched-XXXXXX".utf8CString)
        guard let dir = mkdtemp(&template) else {
            throw KernelKitError(.unreadable, "cannot create a temporary directory", at: SourceLocation(file: "/tmp", line: 0))
        }
        let root = String(cString: dir)
        let realBase = ProbeCache.realPath(base) ?? base
        let owner = DirectoryRemover(root)
        for entry in InputFile.entries(realBase, includingHidden: true) { symlink("\(realBase)/\(entry)", "\(root)/\(entry)") }
        // Make each touched file's directories real (their other entries stay links) and
        // the file itself a copy, so that patch edits the copy.
        for file in files {
            var dirPath = ""
            for part in file.split(separator: "/").dropLast() {
                dirPath += (dirPath.isEmpty ? "" : "/") + part
                let here = "\(root)/\(dirPath)"
                if InputFile.linkTarget(here) != nil {
                    unlink(here)
                    mkdir(here, 0o755)
                    for entry in InputFile.entries("\(realBase)/\(dirPath)", includingHidden: true) { symlink("\(realBase)/\(dirPath)/\(entry)", "\(here)/\(entry)") }
                } else if !InputFile.exists(here) {
                    mkdir(here, 0o755) // a directory the patch creates
                }
            }
            let target = "\(root)/\(file)"
            if InputFile.linkTarget(target) != nil {
                unlink(target)
                if let bytes = try? InputFile.readBytes("\(realBase)/\(file)") { try AtomicFile.write(bytes, to: target) }
            }
        }
        let r = Subprocess.run(["/usr/bin/patch", "-p1", "--batch", "--forward", "--no-backup-if-mismatch", "--reject-file=-",
                                "-d", root, "-i", InputFile.absolutePath(patchFile)], mergeStandardError: true)
        guard r.status == 0 else {
            let said = String(decoding: r.output, as: UTF8.self).split(separator: "\n")
            // patch's own words: "patching file init/Kconfig", "Hunk #2 FAILED at 140."
            var current = "", failures: [String] = []
            for l in said {
                if l.hasPrefix("patching file ") { current = String(l.dropFirst(14)) }
                if l.contains("FAILED") || l.contains("malformed") || l.contains("can't find file") || l.contains("Only garbage") {
                    failures.append(current.isEmpty ? String(l) : "\(current): \(l)")
                }
            }
            if r.status == -1, !InputFile.exists("/usr/bin/patch") {
                throw KernelKitError(.fileNotFound, "GNU patch is needed to apply it (Debian: apt-get install patch)",
                                     at: SourceLocation(file: patchFile, line: 0))
            }
            throw KernelKitError(.malformedLine, "does not apply to \(base): " + (failures.isEmpty ? said.joined(separator: "; ") : failures.joined(separator: "; ")),
                                 at: SourceLocation(file: patchFile, line: 0))
        }
        owner.keep = false
        self.path = root
        self.files = files
    }

    deinit { DirectoryRemover.remove(path) }
}

/// Removes a directory tree it made (links are removed, never followed), unless told to
/// keep it: the cleanup of a `PatchedTree` that failed half way.
final class DirectoryRemover {
    let path: String
    var keep = true
    init(_ path: String) { self.path = path }
    deinit { if keep { Self.remove(path) } }

    static func remove(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            // Dot files too: a patch may create one.
            for entry in InputFile.entries(path, includingHidden: true) { remove("\(path)/\(entry)") }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
