import Synchronization
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// A cache of `$(shell,…)` results, the compiler probes that dominate conf's run time
/// (about 800 process launches for x86).
///
/// A cache file belongs to one tree and one toolchain: its name hashes the tree's
/// absolute path, the environment conf sees (only the variables make exports for it, and
/// PATH), and the identity (path, size, modification time) of every tool those variables
/// name. A new compiler binary therefore starts a new cache file. Entries map the exact
/// command text to its output. Files live under `$XDG_CACHE_HOME/kernelkit/kconfig-probes`
/// (default `~/.cache/…`) and are written atomically.
public final class ProbeCache {
    public let path: String
    private var entries: [String: String] = [:]
    private var dirty = false
    public private(set) var hits = 0
    public private(set) var misses = 0

    /// The environment variables that can change a probe's result.
    static let keyVariables = [
        "ARCH", "SRCARCH", "CC", "LD", "AR", "NM", "OBJCOPY", "OBJDUMP", "READELF", "STRIP", "HOSTCC", "HOSTCXX",
        "RUSTC", "BINDGEN", "PAHOLE", "PYTHON3", "CLANG_FLAGS", "CROSS_COMPILE", "KERNELVERSION", "PATH",
        "USERCFLAGS", "USERLDFLAGS", "LLVM", "SUBARCH", "HEADER_ARCH",
    ]

    public init(srctree: String, environment: [String: String], directory: String? = nil) {
        let dir = directory ?? ProbeCache.defaultDirectory
        var key = "v1\n" + (ProbeCache.realPath(srctree) ?? srctree) + "\n"
        for name in Self.keyVariables {
            key += "\(name)=\(environment[name] ?? "")\n"
        }
        for tool in ["CC", "LD", "RUSTC", "PAHOLE", "BINDGEN", "HOSTCC"] {
            if let command = environment[tool]?.split(separator: " ").first {
                key += "\(tool):" + ProbeCache.identity(of: String(command), path: environment["PATH"] ?? "") + "\n"
            }
        }
        path = "\(dir)/\(ProbeCache.fnv(key)).cache"
        load()
    }

    public static var defaultDirectory: String {
        if let x = getenv("XDG_CACHE_HOME"), x.pointee != 0 { return String(cString: x) + "/kernelkit/kconfig-probes" }
        if let h = getenv("HOME") { return String(cString: h) + "/.cache/kernelkit/kconfig-probes" }
        return "/tmp/kernelkit-kconfig-probes"
    }

    static func fnv(_ s: String) -> String {
        let hex = String(FNV1a.hash64(s), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    public static func realPath(_ p: String) -> String? {
        guard let r = realpath(p, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }

    /// A tool's identity: where PATH finds it, its size and modification time.
    static func identity(of command: String, path: String) -> String {
        let candidates = command.contains("/") ? [command] : path.split(separator: ":").map { "\($0)/\(command)" }
        for c in candidates {
            var st = stat()
            if stat(c, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG {
                return "\(realPath(c) ?? c) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
            }
        }
        return "missing"
    }

    /// The cached result of `command`, without running anything.
    public func cached(_ command: String) -> String? { entries[command] }

    /// True when no cache file existed for this tree and toolchain when it was opened.
    public private(set) var startedCold = true

    /// Runs the `commands` not yet cached, `width` at a time, and caches their results.
    ///
    /// Probe commands are independent of each other (compiler invocations, each in its own
    /// temporary directory), so running them concurrently gives the results running them
    /// one after another would. Only the exact command texts asked for later are used.
    public func prefetch(_ commands: [String], width: Int, run: @escaping @Sendable (String) -> String) {
        var seen = Set<String>()
        let todo = commands.filter { entries[$0] == nil && seen.insert($0).inserted }
        guard !todo.isEmpty else { return }
        let results = ResultSlots(count: todo.count)
        let next = ResultSlots.Counter()
        let workers = max(1, min(width, todo.count))
        let threads = (0..<workers).map { _ in
            PosixThread {
                while let i = next.take(below: todo.count) { results.set(i, run(todo[i])) }
            }
        }
        for t in threads { t.startOrRun() }
        for t in threads { t.join() }
        for (i, command) in todo.enumerated() {
            entries[command] = results.get(i)
            dirty = true
        }
    }

    /// The result of `command`, running it with `run` on a miss.
    public func result(of command: String, run: (String) -> String) -> String {
        if let hit = entries[command] {
            hits += 1
            return hit
        }
        misses += 1
        let value = run(command)
        entries[command] = value
        dirty = true
        return value
    }

    private func load() {
        guard let bytes = try? InputFile.readBytes(path) else { return }
        startedCold = false
        // Records: <length>:<command><length>:<result>, lengths in decimal bytes.
        var i = 0
        func field() -> String? {
            var n = 0
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                n = n * 10 + Int(bytes[i] - 0x30)
                i += 1
            }
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":"), i + 1 + n <= bytes.count else { return nil }
            let s = String(decoding: bytes[(i + 1)..<(i + 1 + n)], as: UTF8.self)
            i += 1 + n
            return s
        }
        while i < bytes.count {
            guard let k = field(), let v = field() else { entries = [:]; return }
            entries[k] = v
        }
    }

    /// Writes new entries back (atomically); a cache that cannot be written is only slower.
    public func save() {
        guard dirty else { return }
        var out = [UInt8]()
        for (k, v) in entries.sorted(by: { $0.key < $1.key }) {
            for s in [k, v] {
                out += Array("\(s.utf8.count):".utf8) + Array(s.utf8)
            }
        }
        var dir = ""
        for part in path.split(separator: "/").dropLast() {
            dir += "/" + part
            mkdir(dir, 0o755)
        }
        try? AtomicFile.write(out, to: path)
        dirty = false
    }
}

/// Slots for results written by worker threads, each slot by exactly one thread.
final class ResultSlots: Sendable {
    private let values: Mutex<[String]>
    init(count: Int) { values = Mutex(Array(repeating: "", count: count)) }
    func set(_ i: Int, _ v: String) { values.withLock { $0[i] = v } }
    func get(_ i: Int) -> String { values.withLock { $0[i] } }

    /// Hands out indices 0, 1, 2… to worker threads.
    final class Counter: Sendable {
        private let value = Mutex(0)
        func take(below limit: Int) -> Int? {
            value.withLock { value in
                guard value < limit else { return nil }
                value += 1
                return value - 1
            }
        }
    }
}
