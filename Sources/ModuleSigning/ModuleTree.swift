import Dispatch
import KernelKitCore
import Synchronization

/// Many modules at once: a `/lib/modules/VERSION` tree, or any files and directories,
/// processed in parallel on every core.
public enum ModuleTree {
    /// The module file name endings: plain and compressed.
    public static let suffixes = [".ko", ".ko.gz", ".ko.xz", ".ko.zst"]

    public static func isModuleName(_ name: String) -> Bool {
        suffixes.contains { name.hasSuffix($0) }
    }

    /// The files given, and every module file below the directories given, sorted within
    /// each directory so that runs and reports are repeatable. Symbolic links to
    /// directories are not followed (a modules tree links `build` and `source` out).
    public static func collect(_ paths: [String]) throws(KernelKitError) -> [String] {
        var out = [String]()
        for path in paths {
            let kind = InputFile.kind(path)
            guard kind.exists else {
                throw KernelKitError(.fileNotFound, "no such file or directory", at: SourceLocation(file: path, line: 0))
            }
            if !kind.isDirectory {
                out.append(path)
                continue
            }
            out += InputFile.regularFiles(under: path).filter { isModuleName($0) }.sorted()
        }
        return out
    }

    /// The temporary files that a signing run killed mid-write left beside `files`
    /// (``AtomicFile/removeAbandonedTemporaries(in:)``), removed before a new run over
    /// them; each directory is listed once. Returns the paths removed.
    public static func removeAbandonedTemporaries(besides files: [String]) -> [String] {
        var seen = Set<String>(), removed = [String]()
        for f in files {
            let dir = AtomicFile.directory(of: f)
            if seen.insert(dir).inserted { removed += AtomicFile.removeAbandonedTemporaries(in: dir) }
        }
        return removed
    }

    /// Runs `body` on every path in parallel, calling `progress(done, total)` as work
    /// completes (from worker threads), and returns the results in the order of `paths`.
    public static func map<T: Sendable>(_ paths: [String], progress: (@Sendable (Int, Int) -> Void)? = nil,
                                        _ body: @Sendable (String) -> T) -> [T] {
        let results = Mutex<[T?]>(Array(repeating: nil, count: paths.count))
        let done = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: paths.count) { i in
            let r = body(paths[i])
            results.withLock { $0[i] = r }
            let n = done.add(1, ordering: .relaxed).newValue
            progress?(n, paths.count)
        }
        return results.withLock { $0.map { $0! } }
    }
}
