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
        /// biosnoop's ring buffer, if not BPF/ringbuf.h's 4 MiB (see
        /// ``BPFObjectConfiguration/setRingBufferBytes(_:)``).
        public var ringBufferBytes: Int? = nil
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
                let object = try BPFObject(BPFObjects.block) { (handle: borrowing BPFObjectConfiguration) throws(KernelKitError) in
                    for k in ["btf", "raw"] {
                        for event in ["insert", "issue", "complete"] {
                            let wanted = k == kind && (event != "insert" || options.queued) && (event != "complete" || tool != .bitesize)
                            handle.setAutoload("\(k)_rq_\(event)", wanted)
                        }
                    }
                    try handle.setReadOnlyData(rodata)
                    if let bytes = options.ringBufferBytes { try handle.setRingBufferBytes(bytes) }
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
                // Only a load or attach failure moves on to raw_tp; the rest (no privilege,
                // a workload that cannot start) is the run's answer.
                if error.code != .bpf { throw error }
                lastError = error
            }
        }
        throw lastError!
    }

    /// Reads the histograms map, naming disks and operations.
    public static func histograms(_ object: borrowing BPFObject, tool: Tool, options: Options, clear: Bool) -> [Log2Histogram] {
        let entries = object.withMap("hists") { $0.entries(kk_hist_key.self, kk_hist.self, clear: clear) } ?? []
        var out = [Log2Histogram]()
        for (key, values) in entries {
            var slots = [UInt64](repeating: 0, count: Int(KK_MAX_SLOTS))
            var exact: UInt64 = 0
            for value in values {
                withUnsafeBytes(of: value.slots) { raw in
                    for i in 0..<slots.count { slots[i] += raw.load(fromByteOffset: i * 8, as: UInt64.self) }
                }
                exact &+= value.sum
            }
            let comm = withUnsafeBytes(of: key.comm) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            out.append(Log2Histogram(
                disk: options.perDisk ? BlockDevices.name(key.dev) : nil,
                op: options.perOperation ? operations[Int(min(key.op, 4))] : nil,
                sync: options.perOperation ? key.sync != 0 : nil,
                comm: tool == .bitesize ? comm : nil,
                unit: tool == .bitesize ? "kbytes" : "usecs", counts: slots,
                // The kernel sums ns and bytes (block.bpf.c's hist_add); the unit is µs, KiB.
                sum: Double(exact) / (tool == .bitesize ? 1024 : 1000)))
        }
        return out.sorted { ($0.disk ?? "", $0.op ?? "", $0.comm ?? "") < ($1.disk ?? "", $1.op ?? "", $1.comm ?? "") }
    }

    /// The counters in the object's .bss: events the ring buffer dropped, and
    /// completions seen without a start (requests issued before the probe attached).
    public static func counters(_ object: borrowing BPFObject) -> (lost: UInt64, missedStarts: UInt64) {
        let bss = object.globalData(".bss")
        let missed = bss.count >= 16 ? bss.withUnsafeBytes { $0.load(fromByteOffset: 8, as: UInt64.self) } : 0
        return (object.lostEvents, missed)
    }
}

/// A link kept in an array (the array owns the boxes; each box owns its link).
final class BPFLinkBox {
    var link: BPFLink?
    init(_ link: consuming BPFLink) { self.link = consume link }
}
