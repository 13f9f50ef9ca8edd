import KernelKitCore

/// `sym_lookup()`'s hash table (symbol.c hashes names with `hash_str()`, FNV-1a): name to
/// symbol, for a tree's 15,000-odd names and the hundred thousand lookups a parse makes.
/// A `[String: Symbol]` spent most of its time in SipHash; this uses the kernel's hash,
/// probes linearly and compares the strings only on a hash match.
struct SymbolTable {
    private var symbols: [Symbol?]
    private var hashes: [UInt32]
    private var mask: Int
    private var count = 0

    init() {
        symbols = Array(repeating: nil, count: 1 << 12)
        hashes = Array(repeating: 0, count: 1 << 12)
        mask = (1 << 12) - 1
    }

    /// symbol.c's own hash, `hash_str()`: conf's iteration order depends on it.
    static func hash(_ name: String) -> UInt32 { FNV1a.hash32(name) }

    subscript(name: String) -> Symbol? {
        let h = Self.hash(name)
        var i = Int(h) & mask
        while let s = symbols[i] {
            if hashes[i] == h && s.name == name { return s }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Adds a symbol not yet in the table.
    mutating func insert(_ symbol: Symbol, named name: String) {
        if (count + 1) * 2 > symbols.count { grow() }
        place(symbol, hash: Self.hash(name))
        count += 1
    }

    private mutating func place(_ symbol: Symbol, hash h: UInt32) {
        var i = Int(h) & mask
        while symbols[i] != nil { i = (i + 1) & mask }
        symbols[i] = symbol
        hashes[i] = h
    }

    private mutating func grow() {
        let old = zip(symbols, hashes).compactMap { s, h in s.map { ($0, h) } }
        symbols = Array(repeating: nil, count: symbols.count * 2)
        hashes = Array(repeating: 0, count: symbols.count)
        mask = symbols.count - 1
        for (s, h) in old { place(s, hash: h) }
    }
}
