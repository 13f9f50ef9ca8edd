import CLibBPF
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// A map of a loaded ``BPFObject``, lent by ``BPFObject/withMap(_:_:)`` for the length of
/// a closure: `~Copyable`, so it cannot be kept past the object that owns the map.
public struct BPFMap: ~Copyable {
    let map: OpaquePointer

    /// The map's file descriptor, for libbpf calls that take one (`ring_buffer__new`);
    /// valid while the object is open.
    var fd: Int32 { bpf_map__fd(map) }

    /// The current bytes of a global-data map (`.bss`, `.data`): its one element, read
    /// from the kernel. Not `bpf_map__initial_value`: before libbpf 1.5 only a skeleton's
    /// load re-maps that buffer onto the kernel's map (bpf_object__load_skeleton), so
    /// with Debian 12's libbpf 1.1 it stays the copy made at open and a counter read
    /// there is 0 for ever (the ring-buffer soak test caught lost events read as 0).
    var globalValue: [UInt8] {
        let size = Int(bpf_map__value_size(map))
        var key: UInt32 = 0
        var out = [UInt8](repeating: 0, count: size)
        return bpf_map_lookup_elem(fd, &key, &out) == 0 ? out : []
    }

    /// Every (key, value) pair; with `clear`, deletes what it read (interval output).
    /// For a per-CPU map each key has one value per possible CPU, in order.
    public func entries<K, V>(_ key: K.Type, _ value: V.Type, clear: Bool = false) -> [(K, [V])] {
        var out = [(K, [V])]()
        let perCPU = [BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_LRU_PERCPU_HASH].contains(bpf_map__type(map))
        let cpus = perCPU ? Int(libbpf_num_possible_cpus()) : 1
        // Per-CPU values are laid out 8-byte aligned (kernel/bpf/syscall.c, bpf_map_value_size()).
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

extension BPFMap {
    /// Sets `key` to `value` (a hash map's filter set by user space before attach).
    public func update(key: [UInt8], value: [UInt8]) -> Bool {
        key.withUnsafeBytes { k in
            value.withUnsafeBytes { v in bpf_map__update_elem(map, k.baseAddress, k.count, v.baseAddress, v.count, 0) == 0 }
        }
    }
}

/// A map pinned on bpffs by an earlier process, opened by its path (`bpf_obj_get`):
/// `~Copyable`, the owner closes the descriptor.
public struct PinnedMap: ~Copyable {
    public let fd: Int32
    public let path: String

    public init(_ path: String) throws(KernelKitError) {
        let fd = bpf_obj_get(path)
        if fd < 0 { throw KernelKitError(.bpf, "cannot open the pinned BPF map \(path): \(String(cString: strerror(errno)))") }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// The value at `key` as raw bytes of `size` (an array map's element, a .bss).
    public func value(key: UInt32, size: Int) -> [UInt8]? {
        var k = key
        var out = [UInt8](repeating: 0, count: size)
        return bpf_map_lookup_elem(fd, &k, &out) == 0 ? out : nil
    }

    /// Every (key, value) of a hash map whose values are not per-CPU.
    public func entries<K, V>(_ key: K.Type, _ value: V.Type) -> [(K, V)] {
        let ks = MemoryLayout<K>.size, vs = MemoryLayout<V>.size
        let keyBuf = UnsafeMutableRawPointer.allocate(byteCount: ks, alignment: 8)
        let nextBuf = UnsafeMutableRawPointer.allocate(byteCount: ks, alignment: 8)
        let valBuf = UnsafeMutableRawPointer.allocate(byteCount: vs, alignment: 8)
        defer { keyBuf.deallocate(); nextBuf.deallocate(); valBuf.deallocate() }
        var out = [(K, V)]()
        var prev: UnsafeMutableRawPointer? = nil
        while bpf_map_get_next_key(fd, prev, nextBuf) == 0 {
            if bpf_map_lookup_elem(fd, nextBuf, valBuf) == 0 { out.append((nextBuf.load(as: K.self), valBuf.load(as: V.self))) }
            keyBuf.copyMemory(from: nextBuf, byteCount: ks)
            prev = keyBuf
        }
        return out
    }
}
