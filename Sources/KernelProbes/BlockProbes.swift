import CBPFProbes
import CLibBPF
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// Stops probe runs on SIGINT and SIGTERM: the handler only sets a flag, which the run
/// loop checks; owners then detach and close in their deinit.
public enum ProbeSignals {
    nonisolated(unsafe) static var stop: sig_atomic_t = 0
    public static var stopped: Bool { stop != 0 }

    public static func install() {
        stop = 0
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGINT, SIGTERM] {
            signal(s) { _ in ProbeSignals.stop = 1 }
            sigaddset(&set, s)
        }
        // A parent may have started us with them blocked; a probe must always be stoppable.
        sigprocmask(SIG_UNBLOCK, &set, nil)
    }
}

/// Block devices by number, named as /sys/dev/block names them (`loop0`, `sda`, `nvme0n1`).
public enum BlockDevices {
    public static func name(_ dev: UInt32) -> String {
        let major = dev >> 20, minor = dev & ((1 << 20) - 1)
        if let bytes = try? InputFile.readBytes("/sys/dev/block/\(major):\(minor)/uevent") {
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("DEVNAME=") {
                return String(line.dropFirst(8))
            }
        }
        return "\(major):\(minor)"
    }

    /// The kernel's dev_t encoding (major << 20 | minor) of a disk name or /dev path.
    public static func number(_ name: String) throws(KernelKitError) -> UInt32 {
        let base = name.hasPrefix("/dev/") ? String(name.dropFirst(5)) : name
        guard let bytes = try? InputFile.readBytes("/sys/class/block/\(base)/dev") else {
            throw KernelKitError(.usage, "no block device '\(name)' (see /sys/class/block)")
        }
        let parts = String(decoding: bytes, as: UTF8.self).trimming(" \n").split(separator: ":")
        guard parts.count == 2, let major = UInt32(parts[0]), let minor = UInt32(parts[1]) else {
            throw KernelKitError(.usage, "cannot read the device number of '\(name)'")
        }
        return major << 20 | minor
    }
}

/// The block I/O probes: biolatency, bitesize and biosnoop, on the block_rq_* tracepoints.
public struct BlockProbe {
    public enum Tool: String, Sendable { case biolatency, bitesize, biosnoop }

    public struct Options: Sendable {
        public var perDisk = false
        public var perOperation = false
        public var queued = false
        public var disk: String? = nil
        public init() {}
    }

    public static let operations = ["read", "write", "flush", "discard", "other"]

    /// Loads the block object for `tool`, attaching tp_btf programs and falling back to
    /// raw tracepoints; runs `body` while attached, then detaches.
    public static func run<R>(_ tool: Tool, options: Options,
                              body: (borrowing BPFObject, String) throws(KernelKitError) -> R) throws(KernelKitError) -> R {
        let tracepoints = ["block/block_rq_issue", "block/block_rq_complete"] + (options.queued ? ["block/block_rq_insert"] : [])
        try BPFPreflight.check(tracepoints: tracepoints)
        var config = kk_config()
        config.per_disk = options.perDisk ? 1 : 0
        config.per_op = options.perOperation ? 1 : 0
        config.queued = options.queued ? 1 : 0
        if let disk = options.disk { config.filter_dev = try BlockDevices.number(disk) }
        config.mode = tool == .biolatency ? 0 : tool == .bitesize ? 1 : 2
        let rodata = withUnsafeBytes(of: &config) { Array($0) }
        var lastError: KernelKitError? = nil
        // KERNELKIT_PROBE_ATTACH=raw_tp skips tp_btf (to test and to use the fallback).
        let kinds = getenv("KERNELKIT_PROBE_ATTACH").map { String(cString: $0) } == "raw_tp" ? ["raw"] : ["btf", "raw"]
        for kind in kinds {
            do throws(KernelKitError) {
                let object = try BPFObject(BPFObjects.block) { (handle: borrowing BPFObjectHandle) throws(KernelKitError) in
                    for k in ["btf", "raw"] {
                        for event in ["insert", "issue", "complete"] {
                            let wanted = k == kind && (event != "insert" || options.queued) && (event != "complete" || tool != .bitesize)
                            handle.setAutoload("\(k)_rq_\(event)", wanted)
                        }
                    }
                    try handle.setReadOnlyData(rodata)
                }
                var links = [BPFLinkBox]()
                for event in ["insert", "issue", "complete"] {
                    if event == "insert" && !options.queued { continue }
                    if event == "complete" && tool == .bitesize { continue }
                    links.append(BPFLinkBox(try object.attach("\(kind)_rq_\(event)")))
                }
                defer { links.removeAll() }
                return try body(object, kind == "btf" ? "tp_btf" : "raw_tp")
            } catch {
                if error.code == .permission { throw error }
                lastError = error
            }
        }
        throw lastError!
    }

    /// Reads the histograms map, naming disks and operations.
    public static func histograms(_ object: borrowing BPFObject, tool: Tool, options: Options, clear: Bool) -> [Log2Histogram] {
        guard let reader = BPFMapReader(object, "hists") else { return [] }
        var out = [Log2Histogram]()
        for (key, values) in reader.entries(kk_hist_key.self, kk_hist.self, clear: clear) {
            var slots = [UInt64](repeating: 0, count: Int(KK_MAX_SLOTS))
            for value in values {
                withUnsafeBytes(of: value.slots) { raw in
                    for i in 0..<slots.count { slots[i] += raw.load(fromByteOffset: i * 8, as: UInt64.self) }
                }
            }
            let comm = withUnsafeBytes(of: key.comm) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            out.append(Log2Histogram(
                disk: options.perDisk ? BlockDevices.name(key.dev) : nil,
                op: options.perOperation ? operations[Int(min(key.op, 4))] : nil,
                sync: options.perOperation ? key.sync != 0 : nil,
                comm: tool == .bitesize ? comm : nil,
                unit: tool == .bitesize ? "kbytes" : "usecs", counts: slots))
        }
        return out.sorted { ($0.disk ?? "", $0.op ?? "", $0.comm ?? "") < ($1.disk ?? "", $1.op ?? "", $1.comm ?? "") }
    }

    /// The counters in the object's .bss: events the ring buffer dropped, and
    /// completions seen without a start (requests issued before the probe attached).
    public static func counters(_ object: borrowing BPFObject) -> (lost: UInt64, missedStarts: UInt64) {
        let bss = object.globalData(".bss")
        guard bss.count >= 16 else { return (0, 0) }
        let a = bss.withUnsafeBytes { $0.load(fromByteOffset: 0, as: UInt64.self) }
        let b = bss.withUnsafeBytes { $0.load(fromByteOffset: 8, as: UInt64.self) }
        return (a, b)
    }
}

/// A link kept in an array (the array owns the boxes; each box owns its link).
final class BPFLinkBox {
    var link: BPFLink?
    init(_ link: consuming BPFLink) { self.link = consume link }
}

/// biosnoop's events from the ring buffer, polled on a dedicated thread, with a bounded
/// queue: when the consumer falls behind, events are counted as lost, not buffered.
public final class EventStream: @unchecked Sendable {
    private var ring: OpaquePointer?
    private var lock = pthread_mutex_t()
    private var queue: [kk_event] = []
    private let capacity: Int
    public private(set) var dropped: UInt64 = 0
    private var thread: pthread_t?
    private var running = true

    public init(_ object: borrowing BPFObject, capacity: Int = 65536) throws(KernelKitError) {
        self.capacity = capacity
        pthread_mutex_init(&lock, nil)
        guard let map = object.map("events") else { throw KernelKitError(.bpf, "no events map") }
        let context = Unmanaged.passUnretained(self).toOpaque()
        ring = ring_buffer__new(bpf_map__fd(map), { ctx, data, size in
            guard let ctx, let data, size >= MemoryLayout<kk_event>.size else { return 0 }
            let stream = Unmanaged<EventStream>.fromOpaque(ctx).takeUnretainedValue()
            stream.push(data.load(as: kk_event.self))
            return 0
        }, context, nil)
        if ring == nil { throw KernelKitError(.bpf, "cannot open the ring buffer: \(String(cString: strerror(errno)))") }
        var t = pthread_t()
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&t, nil, { arg in
            let stream = Unmanaged<EventStream>.fromOpaque(arg!).takeRetainedValue()
            while stream.isRunning { _ = ring_buffer__poll(stream.ring, 100) }
            return nil
        }, box)
        thread = t
    }

    var isRunning: Bool { pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }; return running }

    private func push(_ e: kk_event) {
        pthread_mutex_lock(&lock)
        if queue.count < capacity { queue.append(e) } else { dropped += 1 }
        pthread_mutex_unlock(&lock)
    }

    /// The events received since the last call.
    public func drain() -> [kk_event] {
        pthread_mutex_lock(&lock)
        defer { queue = []; pthread_mutex_unlock(&lock) }
        return queue
    }

    /// Stops polling (after one last poll of what is already there) and frees the ring.
    public func stop() {
        pthread_mutex_lock(&lock)
        running = false
        pthread_mutex_unlock(&lock)
        if let t = thread { pthread_join(t, nil) }
        thread = nil
        _ = ring_buffer__consume(ring)
        ring_buffer__free(ring)
        ring = nil
    }
}
