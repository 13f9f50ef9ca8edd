import KernelKitCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Reads the Kconfig files that a parse will `source`, ahead of it, on a second thread.
///
/// Why: the x86 tree of 6.12 sources some 1,800 files, and opening and reading them was a
/// tenth of the parsing thread's time (path lookups and page-cache copies, measured with
/// perf on a warm olddefconfig), while the second core sat idle until the post-parse checks.
/// Read ahead, a warm olddefconfig takes 4-5% less (medians of 100 alternating runs:
/// 85.7 → 81.8 ms and 89.5 → 85.0 ms); `config defconfigs`, which loads an arch per core,
/// is unchanged (5.8 s for the 7.2 tree either way).
///
/// The reader follows the files as conf's lexer would reach them (`zconf_nextfile()`):
/// depth first, in the order of their `source` statements, so that it keeps ahead of the
/// parser. It finds those statements by a plain scan of each line (`source "PATH"`,
/// expanding `$(NAME)` from the environment conf is given, as `arch/$(SRCARCH)/Kconfig`
/// needs) instead of running the preprocessor. A guess is all it needs to be: the parser
/// takes a file from here only if the reader got to it first, and reads it itself
/// otherwise (a path built from a Kconfig variable, a line that is really help text, a
/// reader that fell behind), so what the parse sees is what it would read, either way.
final class SourcePrefetch: Sendable {
    private struct State {
        var ready: [String: [UInt8]] = [:]
        /// Paths the parser has already asked for: not worth keeping when read.
        var taken: Set<String> = []
        var stopped = false
    }

    private let state = Mutex(State())
    private let srctree: String
    private let environment: [String: String]
    nonisolated(unsafe) private var thread: PosixThread?

    /// Starts reading from `root` (relative to `srctree`, as `source` paths are).
    init(srctree: String, root: String, environment: [String: String]) {
        self.srctree = srctree
        self.environment = environment
        let thread = PosixThread { [self] in self.follow(root, depth: 0) }
        self.thread = thread
        if !thread.start(stackSize: 1 << 20) { self.thread = nil }
    }

    /// The file at `path`, if the reader has it (it is handed over, not copied).
    func take(_ path: String) -> [UInt8]? {
        state.withLock { state in
            if let bytes = state.ready.removeValue(forKey: path) { return bytes }
            state.taken.insert(path)
            return nil
        }
    }

    /// Stops the reader (it finishes the file in hand) and waits for it.
    func finish() {
        state.withLock { $0.stopped = true }
        thread?.join()
        thread = nil
    }

    private func path(_ name: String) -> String { name.hasPrefix("/") ? name : "\(srctree)/\(name)" }

    /// Paths the reader has been to (its thread's alone): conf rejects a file sourced
    /// twice, so each is read once, and a tree that sources files in a diamond or a loop
    /// (which the parse then rejects) costs the reader no more than its files.
    nonisolated(unsafe) private var visited: Set<String> = []

    /// 64 levels is far deeper than any kernel tree nests (arch/x86 is 6).
    private func follow(_ name: String, depth: Int) {
        guard depth < 64, state.withLock({ !$0.stopped }) else { return }
        let full = path(name)
        guard visited.insert(full).inserted else { return }
        // Regular files only: reading a FIFO would take data meant for the parser.
        guard let bytes = try? InputFile.readBytes(full, regularOnly: true) else { return }
        state.withLock { state in
            if !state.taken.contains(full) { state.ready[full] = bytes }
        }
        for next in Self.sourced(in: bytes, environment: environment) { follow(next, depth: depth + 1) }
    }

    /// The paths of the `source "…"` lines of a Kconfig file, in order; a path with a
    /// `$(…)` that is not a variable of `environment` is left out.
    static func sourced(in bytes: [UInt8], environment: [String: String]) -> [String] {
        var out: [String] = []
        bytes.withUnsafeBufferPointer { b in
            func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
            var i = 0
            while i < b.count {
                let end = b.firstOffset(of: 0x0A, in: i ..< b.count) ?? b.count
                defer { i = end + 1 }
                var p = i
                while p < end, isBlank(b[p]) { p += 1 }
                // The line's first word, matched as the lexer matches keywords.
                var q = p
                while q < end, Lexer.isWordByte(b[q]) { q += 1 }
                guard q < end, isBlank(b[q]), Lexer.keyword(UnsafeBufferPointer(rebasing: b[p ..< q])) == .source else { continue }
                p = q
                while p < end, isBlank(b[p]) { p += 1 }
                guard p < end, b[p] == UInt8(ascii: "\""),
                      let close = b.firstOffset(of: UInt8(ascii: "\""), in: (p + 1) ..< end) else { continue }
                let text = UnsafeBufferPointer(rebasing: b[(p + 1) ..< close])
                if let name = expand(String(decoding: text, as: UTF8.self), environment) { out.append(name) }
            }
        }
        return out
    }

    /// `$(NAME)` replaced by the environment's value; nil when a reference is anything else.
    private static func expand(_ text: String, _ environment: [String: String]) -> String? {
        guard text.utf8.contains(UInt8(ascii: "$")) else { return text }
        var out = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let after = rest[dollar...].dropFirst()
            guard after.first == "(", let close = after.firstIndex(of: ")"),
                  let value = environment[String(after.dropFirst()[..<close])] else { return nil }
            out += value
            rest = after[after.index(after: close)...]
        }
        return out + rest
    }
}
