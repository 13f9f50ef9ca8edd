import CLibBPF

/// A map of a loaded ``BPFObject``, lent by ``BPFObject/withMap(_:_:)`` for the length of
/// a closure: `~Copyable`, so it cannot be kept past the object that owns the map.
public struct BPFMap: ~Copyable {
    let map: OpaquePointer

    /// The map's file descriptor, for libbpf calls that take one (`ring_buffer__new`);
    /// valid while the object is open.
    var fd: Int32 { bpf_map__fd(map) }

    /// The bytes of a global-data map (`.bss`, `.data`) as libbpf mapped them after load.
    var initialValue: [UInt8] {
        var size = 0
        guard let p = bpf_map__initial_value(map, &size) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: size))
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
