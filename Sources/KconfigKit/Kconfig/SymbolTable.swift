import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// `sym_lookup()`'s hash table (symbol.c hashes names with `hash_str()`, FNV-1a): name to
/// symbol, for a tree's 15,000-odd names and the hundred thousand lookups a parse makes.
/// A `[String: Symbol]` spent most of its time in SipHash; this uses the kernel's hash,
/// probes linearly and compares the strings only on a hash match.
final class SymbolTable {
    /// The symbols in insertion order, and their names' bytes, one after another in
    /// `nameBytes` (entry i's at `nameRanges[i]`): lookups compare names without touching
    /// the symbols' records, and without a reference count, as a String of more than 15
    /// bytes has one.
    private var entries: [Symbol] = []
    private var nameBytes: [UInt8] = []
    private var nameRanges: [Range<Int32>] = []
    /// Per slot: the name's hash in the high half and the entry's index + 1 in the low
    /// half (0 is empty), so a probe is one load. Probing and growing never touch the
    /// symbols (a grow that retained every symbol to move it cost 3% of a whole
    /// olddefconfig).
    private var slots: [UInt64]
    private var mask: Int

    /// `capacity`: slots to start with, a power of two. A kernel tree has 15,000-20,000
    /// symbols and grows the default four times (about 30,000 slot moves, well under a
    /// millisecond); starting at its full 32,768 slots made every small tree (the fuzzer's,
    /// a test's) allocate and clear 256 KB.
    init(capacity: Int = 1 << 12) {
        slots = Array(repeating: 0, count: capacity)
        mask = capacity - 1
    }

    /// symbol.c's own hash, `hash_str()`: conf's iteration order depends on it.
    static func hash(_ name: UnsafeBufferPointer<UInt8>) -> UInt32 { FNV1a.hash32(name) }

    subscript(name: String) -> Symbol? {
        var name = name
        return name.withUTF8 { self[bytes: $0] }
    }

    /// The symbol named by `name`'s bytes.
    subscript(bytes name: UnsafeBufferPointer<UInt8>) -> Symbol? {
        find(hash: Self.hash(name)) { index in
            let range = nameRanges[index]
            guard Int(range.count) == name.count else { return false }
            return name.isEmpty || nameBytes.withUnsafeBufferPointer { pool in
                memcmp(pool.baseAddress! + Int(range.lowerBound), name.baseAddress!, name.count) == 0
            }
        }
    }

    /// The linear probe from `hash`'s slot; `named` compares an entry's name on a hash match.
    @inline(__always)
    private func find(hash h: UInt32, named: (Int) -> Bool) -> Symbol? {
        let tag = UInt64(h) << 32
        var i = Int(h) & mask
        while true {
            let slot = slots[i]
            if slot == 0 { return nil }
            if slot & 0xFFFF_FFFF_0000_0000 == tag {
                let index = Int(slot & 0xFFFF_FFFF) - 1
                if named(index) { return entries[index] }
            }
            i = (i + 1) & mask
        }
    }

    /// Adds a symbol not yet in the table.
    func insert(_ symbol: Symbol, named name: UnsafeBufferPointer<UInt8>) {
        if (entries.count + 1) * 2 > slots.count { grow() }
        entries.append(symbol)
        nameRanges.append(Int32(nameBytes.count) ..< Int32(nameBytes.count + name.count))
        nameBytes.append(contentsOf: name)
        place(UInt64(Self.hash(name)) << 32 | UInt64(entries.count))
    }

    private func place(_ slot: UInt64) {
        var i = Int(truncatingIfNeeded: slot >> 32) & mask
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = slot
    }

    private func grow() {
        let old = slots.filter { $0 != 0 }
        slots = Array(repeating: 0, count: slots.count * 2)
        mask = slots.count - 1
        for slot in old { place(slot) }
    }
}
