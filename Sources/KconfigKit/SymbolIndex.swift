import KernelKitCore

/// Name-to-entry lookup for ``ConfigFile``, keyed by the name's bytes in the file.
///
/// A config has 7,000 to 15,000 names and is parsed on every command, so this replaces
/// `[String: Int]`: it hashes the name bytes the parser already has (FNV-1a) instead of
/// building a SipHash state per key, and compares candidates with the file's bytes.
/// Open addressing, linear probing, power-of-two capacity, at most half full.
struct SymbolIndex: Sendable {
    /// Entry index + 1 per slot; 0 is empty.
    private var slots: [Int32]
    private var mask: Int
    private(set) var count = 0

    init(expected: Int) {
        var capacity = 16
        while capacity < expected * 2 { capacity <<= 1 }
        slots = [Int32](repeating: 0, count: capacity)
        mask = capacity - 1
    }

    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let h = FNV1a.hash64(bytes)
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// Finds the entry whose name `matches`, probing from the name's hash.
    func find(hash: Int, matches: (Int) -> Bool) -> Int? {
        var i = hash & mask
        while true {
            let slot = slots[i]
            if slot == 0 { return nil }
            if matches(Int(slot) - 1) { return Int(slot) - 1 }
            i = (i + 1) & mask
        }
    }

    /// Points the name at `entry`; returns the entry it pointed at before, if any.
    mutating func update(hash: Int, entry: Int, matches: (Int) -> Bool, rehash: (Int) -> Int) -> Int? {
        var i = hash & mask
        while true {
            let slot = slots[i]
            if slot == 0 {
                slots[i] = Int32(entry + 1)
                count += 1
                if count * 2 > slots.count { grow(rehash) }
                return nil
            }
            if matches(Int(slot) - 1) {
                slots[i] = Int32(entry + 1)
                return Int(slot) - 1
            }
            i = (i + 1) & mask
        }
    }

    private mutating func grow(_ rehash: (Int) -> Int) {
        let old = slots
        slots = [Int32](repeating: 0, count: old.count * 2)
        mask = slots.count - 1
        for slot in old where slot != 0 {
            var i = rehash(Int(slot) - 1) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = slot
        }
    }

    /// Every entry index the table holds (the effective ones), in slot order.
    var entryIndices: [Int] { slots.compactMap { $0 == 0 ? nil : Int($0) - 1 } }
}
