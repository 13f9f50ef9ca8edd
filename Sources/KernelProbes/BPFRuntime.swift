import CBPFProbes
import CLibBPF
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

extension KernelKitError.Code {
    /// BPF programs cannot be loaded or attached.
    public static let bpf = KernelKitError.Code("bpf")
    /// Not root and without CAP_BPF/CAP_PERFMON.
    public static let permission = KernelKitError.Code("permission")
}

/// A BPF object file compiled into the module by the BPFCompilerPlugin.
public struct BPFObjectData: Sendable {
    public let name: String
    let base64: String
    public var bytes: [UInt8] { Base64.decode(base64) ?? [] }
}

/// The objects the build embeds (one static property per `.bpf.c`).
public enum BPFObjects {}

/// libbpf's log of the current load, for verifier errors.
final class LibbpfLog: @unchecked Sendable {
    static let shared = LibbpfLog()
    private var lock = pthread_mutex_t()
    private var lines: [String] = []
    init() { pthread_mutex_init(&lock, nil) }
    func append(_ s: String) { pthread_mutex_lock(&lock); lines.append(s); pthread_mutex_unlock(&lock) }
    func take() -> [String] { pthread_mutex_lock(&lock); defer { lines = []; pthread_mutex_unlock(&lock) }; return lines }
    static let installed: Void = {
        kk_libbpf_set_log { _, text in
            if let text { LibbpfLog.shared.append(String(cString: text)) }
        }
    }()
}

/// Checks that must pass before any BPF work, each failure saying what to do.
public enum BPFPreflight {
    public static func check(tracepoints: [String]) throws(KernelKitError) {
        if geteuid() != 0 && !hasCapability(39) {
            throw KernelKitError(.permission, "loading BPF programs needs root or CAP_BPF and CAP_PERFMON: run with sudo")
        }
        if access("/sys/kernel/btf/vmlinux", R_OK) != 0 {
            throw KernelKitError(.bpf, "the kernel has no BTF (/sys/kernel/btf/vmlinux): the probes need a kernel built with CONFIG_DEBUG_INFO_BTF=y")
        }
        ensureTracefs()
        for tp in tracepoints {
            let dir = "/sys/kernel/tracing/events/" + tp
            if access(dir, F_OK) != 0 {
                throw KernelKitError(.bpf, "tracepoint \(tp) is missing (\(dir)): the kernel lacks it or tracefs is unavailable")
            }
        }
    }

    /// Mounts tracefs at /sys/kernel/tracing when it is not mounted.
    static func ensureTracefs() {
        if access("/sys/kernel/tracing/events", F_OK) == 0 { return }
        _ = mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nil)
    }

    static func hasCapability(_ bit: Int) -> Bool {
        guard let bytes = try? InputFile.readBytes("/proc/self/status") else { return false }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("CapEff:") {
            let hex = line.dropFirst(7).trimming(" \t")
            if let v = UInt64(hex, radix: 16) { return v & (1 << UInt64(bit)) != 0 }
        }
        return false
    }
}

/// An opened and loaded BPF object. `~Copyable`: one owner closes it (and with it its
/// programs and maps) in deinit.
public struct BPFObject: ~Copyable {
    let object: OpaquePointer
    private let buffer: UnsafeMutableRawBufferPointer

    /// Opens `data`; `configure` runs before load (autoload, read-only data).
    public init(_ data: BPFObjectData, configure: (borrowing BPFObjectHandle) throws(KernelKitError) -> Void) throws(KernelKitError) {
        _ = LibbpfLog.installed
        _ = LibbpfLog.shared.take()
        let bytes = data.bytes
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
        buffer.copyBytes(from: bytes)
        var opts = bpf_object_open_opts()
        opts.sz = MemoryLayout<bpf_object_open_opts>.size
        guard let obj = data.name.withCString({ name -> OpaquePointer? in
            opts.object_name = name
            return bpf_object__open_mem(buffer.baseAddress, buffer.count, &opts)
        }) else {
            buffer.deallocate()
            throw KernelKitError(.bpf, "cannot open the BPF object \(data.name): \(String(cString: strerror(errno)))")
        }
        let handle = BPFObjectHandle(object: obj)
        do {
            try configure(handle)
        } catch {
            bpf_object__close(obj)
            buffer.deallocate()
            throw error
        }
        let rc = bpf_object__load(obj)
        if rc != 0 {
            let log = LibbpfLog.shared.take()
            bpf_object__close(obj)
            buffer.deallocate()
            let err = -rc
            if err == EPERM || err == EACCES {
                throw KernelKitError(.permission, "the kernel refused to load BPF programs (\(String(cString: strerror(err)))): run as root; if root already, lockdown or the memlock limit (ulimit -l) may forbid it")
            }
            let tail = log.suffix(15).joined().trimming("\n")
            throw KernelKitError(.bpf, "the verifier rejected \(data.name) (\(String(cString: strerror(err)))); the end of its log:\n\(tail)")
        }
        object = obj
        self.buffer = buffer
    }

    deinit {
        bpf_object__close(object)
        buffer.deallocate()
    }

    public func program(_ name: String) -> OpaquePointer? { bpf_object__find_program_by_name(object, name) }
    public func map(_ name: String) -> OpaquePointer? { bpf_object__find_map_by_name(object, name) }

    /// The current bytes of a global-data map (`.bss`), mapped by libbpf after load.
    public func globalData(_ name: String) -> [UInt8] {
        guard let m = map(name) else { return [] }
        var size = 0
        guard let p = bpf_map__initial_value(m, &size) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: size))
    }

    /// Attaches a program at the place its section names.
    public func attach(_ name: String) throws(KernelKitError) -> BPFLink {
        guard let prog = program(name) else { throw KernelKitError(.bpf, "no program \(name) in the object") }
        guard let link = bpf_program__attach(prog) else {
            throw KernelKitError(.bpf, "cannot attach \(name): \(String(cString: strerror(errno)))")
        }
        return BPFLink(link: link)
    }
}

/// The object between open and load, for configuration.
public struct BPFObjectHandle: ~Copyable {
    let object: OpaquePointer

    public func setAutoload(_ program: String, _ on: Bool) {
        if let p = bpf_object__find_program_by_name(object, program) { bpf_program__set_autoload(p, on) }
    }

    /// Sets the object's read-only data (`const volatile` globals) before load.
    public func setReadOnlyData(_ bytes: [UInt8]) throws(KernelKitError) {
        guard let m = bpf_object__find_map_by_name(object, ".rodata") else {
            throw KernelKitError(.bpf, "the BPF object has no .rodata")
        }
        var size = 0
        guard bpf_map__initial_value(m, &size) != nil, size == bytes.count else {
            throw KernelKitError(.bpf, "the BPF object's .rodata is \(size) bytes, expected \(bytes.count): probes.h and the program disagree")
        }
        let rc = bytes.withUnsafeBytes { bpf_map__set_initial_value(m, $0.baseAddress, $0.count) }
        if rc != 0 { throw KernelKitError(.bpf, "cannot set the BPF object's configuration") }
    }
}

/// An attached program; detaches in deinit.
public struct BPFLink: ~Copyable {
    let link: OpaquePointer
    deinit { bpf_link__destroy(link) }
}

/// A map read as typed values.
public struct BPFMapReader {
    let map: OpaquePointer

    public init?(_ object: borrowing BPFObject, _ name: String) {
        guard let m = object.map(name) else { return nil }
        map = m
    }

    /// Every (key, value) pair; with `clear`, deletes what it read (interval output).
    /// For a per-CPU map each key has one value per possible CPU, in order.
    public func entries<K, V>(_ key: K.Type, _ value: V.Type, clear: Bool = false) -> [(K, [V])] {
        var out = [(K, [V])]()
        let perCPU = [BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_LRU_PERCPU_HASH].contains(bpf_map__type(map))
        let cpus = perCPU ? Int(libbpf_num_possible_cpus()) : 1
        let stride = (MemoryLayout<V>.size + 7) / 8 * 8
        let ks = MemoryLayout<K>.size, vs = perCPU ? stride * cpus : MemoryLayout<V>.size
        let keyBuf = UnsafeMutableRawPointer.allocate(byteCount: ks, alignment: 8)
        let nextBuf = UnsafeMutableRawPointer.allocate(byteCount: ks, alignment: 8)
        let valBuf = UnsafeMutableRawPointer.allocate(byteCount: vs, alignment: 8)
        defer { keyBuf.deallocate(); nextBuf.deallocate(); valBuf.deallocate() }
        var keys = [UnsafeMutableRawPointer]()
        var prev: UnsafeMutableRawPointer? = nil
        while bpf_map__get_next_key(map, prev, nextBuf, ks) == 0 {
            let k = UnsafeMutableRawPointer.allocate(byteCount: ks, alignment: 8)
            k.copyMemory(from: nextBuf, byteCount: ks)
            keys.append(k)
            prev = k
        }
        for k in keys {
            if bpf_map__lookup_elem(map, k, ks, valBuf, vs, 0) == 0 {
                let values = (0..<cpus).map { valBuf.load(fromByteOffset: $0 * stride, as: V.self) }
                out.append((k.load(as: K.self), values))
            }
            if clear { _ = bpf_map__delete_elem(map, k, ks, 0) }
        }
        for k in keys { k.deallocate() }
        return out
    }
}
