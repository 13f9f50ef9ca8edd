import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// `make randconfig`'s choices (`scripts/kconfig/conf.c`: `set_randconfig_seed()`,
/// `conf_set_all_new_symbols(def_random)`, `randomize_choice_values()`).
public struct RandomConfig: Sendable, Equatable {
    public var seed: UInt32
    /// Percent chances: a bool is y; a tristate is y; a tristate is m (conf's pby, pty, ptm).
    public var boolYes = 50, tristateYes = 33, tristateModule = 33

    public init(seed: UInt32) { self.seed = seed }

    /// `KCONFIG_SEED` as conf reads it: strtol with base 0 (decimal, 0x hex, 0 octal),
    /// taken only when the whole text is a number; nil otherwise (conf then seeds from
    /// the time of day).
    public static func parseSeed(_ text: String) -> UInt32? {
        guard !text.isEmpty else { return nil }
        return text.withCString { p -> UInt32? in
            var end: UnsafeMutablePointer<CChar>? = nil
            let v = strtol(p, &end, 0)
            guard let end, end.pointee == 0 else { return nil }
            return UInt32(truncatingIfNeeded: v) // conf assigns the long to an unsigned int
        }
    }

    /// conf's seed when none is given: `(tv_sec + 1) * (tv_usec + 1)`, as an unsigned int.
    public static func timeSeed() -> UInt32 {
        var now = timeval()
        gettimeofday(&now, nil)
        return UInt32(truncatingIfNeeded: (Int(now.tv_sec) + 1) &* (Int(now.tv_usec) + 1))
    }

    /// Applies `KCONFIG_PROBABILITY`: `P` (bool y = P, tristate m = P/2, y = the rest),
    /// `Y:M` (tristate y and m; bool y = their sum) or `B:Y:M`. Each number is read as
    /// conf reads it (strtol, base 10, the next after a ':'); one outside 0…100, or y + m
    /// over 100, is the error conf exits with.
    public mutating func applyProbability(_ text: String) throws(KernelKitError) {
        var p: [Int] = []
        let bytes = Array(text.utf8CString)
        var i = 0
        while bytes[i] != 0 {
            let (value, used) = bytes.withUnsafeBufferPointer { buf -> (Int, Int) in
                var end: UnsafeMutablePointer<CChar>? = nil
                let start = UnsafeMutablePointer(mutating: buf.baseAddress! + i)
                let v = strtol(start, &end, 10)
                return (v, end! - start)
            }
            guard (0...100).contains(value) else {
                throw KernelKitError(.usage, "KCONFIG_PROBABILITY: Numerical result out of range ('\(text)': each number is 0 to 100)")
            }
            p.append(value)
            i += used
            if bytes[i] == CChar(UInt8(ascii: ":")) { i += 1 }
            if p.count >= 3 { break }
        }
        switch p.count {
        case 1: boolYes = p[0]; tristateModule = boolYes / 2; tristateYes = boolYes - tristateModule
        case 2: tristateYes = p[0]; tristateModule = p[1]; boolYes = tristateYes + tristateModule
        case 3: boolYes = p[0]; tristateYes = p[1]; tristateModule = p[2]
        default: break
        }
        guard tristateYes + tristateModule <= 100 else {
            throw KernelKitError(.usage, "KCONFIG_PROBABILITY: Numerical result out of range ('\(text)': tristate y + m is over 100)")
        }
    }
}

/// glibc's `rand()` after `srand(seed)`, from a state of its own: `initstate_r()` with
/// 128 bytes picks glibc's default generator (TYPE_3, degree 31, the one `srand()`
/// seeds), so the numbers are the ones conf draws, and threads do not share them.
/// `~Copyable`: it owns the state buffer the C struct points into.
struct GlibcRandom: ~Copyable {
    private let state: UnsafeMutablePointer<CChar>
    private let data: UnsafeMutablePointer<random_data>

    init(seed: UInt32) {
        state = .allocate(capacity: 128)
        state.initialize(repeating: 0, count: 128)
        data = .allocate(capacity: 1)
        data.initialize(to: random_data())
        _ = initstate_r(seed, state, 128, data)
    }

    deinit {
        state.deallocate()
        data.deallocate()
    }

    /// The next `rand()`.
    func next() -> Int {
        var r: Int32 = 0
        _ = random_r(data, &r)
        return Int(r)
    }
}

extension KconfigTree {
    /// `randomize_choice_values()`: every member without a user value gets y, in a
    /// random order, each moved to the end of the choice's member list (below the
    /// KCONFIG_ALLCONFIG values, which conf_read() moved to the front).
    func randomizeChoiceValues(_ choice: Menu, _ random: borrowing GlibcRandom) {
        let entries = subEntries(choice)
        var count = entries.filter { $0.symbol.map { !$0.hasUserValue } ?? false }.count
        while count > 0 {
            var x = random.next() % count
            for menu in entries {
                guard let sym = menu.symbol, !sym.hasUserValue else { continue }
                x -= 1
                if x < 0 {
                    sym.userTri = .yes
                    sym.hasUserValue = true
                    if let i = choice.choiceMembers.firstIndex(where: { $0 == sym }) {
                        choice.choiceMembers.remove(at: i)
                        choice.choiceMembers.append(sym)
                    }
                    break
                }
            }
            count -= 1
        }
    }

    /// `conf_set_all_new_symbols(def_random)`: each bool or tristate with a prompt and no
    /// value gets y, m or n by `rand() % 100` against the probabilities, and each choice
    /// its members' order, in menu order, one draw after another as conf makes them.
    public func setAllNewSymbolsRandomly(_ config: RandomConfig) {
        let random = GlibcRandom(seed: config.seed)
        for menu in subEntries(rootMenu) {
            guard let sym = menu.symbol, menu.prompt != nil, !sym.hasUserValue,
                  sym.type == .boolean || sym.type == .tristate, !sym.isChoiceMember else { continue }
            if sym.isChoice {
                randomizeChoiceValues(menu, random)
                continue
            }
            let n = random.next() % 100
            var val = Tristate.no
            if sym.type == .tristate {
                if n < config.tristateYes { val = .yes } else if n < config.tristateYes + config.tristateModule { val = .module }
            } else if n < config.boolYes {
                val = .yes
            }
            sym.userTri = val
            sym.hasUserValue = true
        }
        clearAllValid()
    }
}
