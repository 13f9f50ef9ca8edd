/// Symbol evaluation, ported from `scripts/kconfig/symbol.c` (7.2) and `expr.c`:
/// visibility, defaults, select and imply, choices with the 6.11+ semantics, ranges and
/// transitional symbols. Evaluation is lazy and memoised per symbol, as in the kernel.
extension KconfigTree {
    /// `sym_get_type()`: tristates are booleans while modules are off.
    func effectiveType(_ sym: Symbol) -> SymbolType {
        sym.type == .tristate && modulesValue == .no ? .boolean : sym.type
    }

    static func and(_ a: Tristate, _ b: Tristate) -> Tristate { min(a, b) }
    static func or(_ a: Tristate, _ b: Tristate) -> Tristate { max(a, b) }
    static func not(_ a: Tristate) -> Tristate { Tristate(rawValue: 2 - a.rawValue)! }

    /// `expr_calc_value()`; a missing expression is yes.
    func value(_ e: Expr?) -> Tristate {
        guard let e else { return .yes }
        switch e.node {
        case .symbol(let s):
            calcValue(s)
            return s.currTri
        case .and(let a, let b): return Self.and(value(a), value(b))
        case .or(let a, let b): return Self.or(value(a), value(b))
        case .not(let a): return Self.not(value(a))
        case .cached(let c):
            if c.epoch == epoch { return c.value }
            let v = value(c.expr)
            c.value = v
            c.epoch = epoch
            return v
        case .range: return .no
        case .compare(let op, let l, let r):
            calcValue(l)
            calcValue(r)
            let s1 = l.stringValue, s2 = r.stringValue
            var res: Int
            if l.type != .string || r.type != .string,
               let a = Self.parseNumber(s1, l.type), let b = Self.parseNumber(s2, r.type) {
                // expr_parse_string(): compare as numbers when both sides are numbers,
                // unsigned if either is (hex), else signed.
                switch (a, b) {
                case (.signed(let x), .signed(let y)): res = x == y ? 0 : (x < y ? -1 : 1)
                default:
                    let x = a.unsigned, y = b.unsigned
                    res = x == y ? 0 : (x < y ? -1 : 1)
                }
            } else {
                res = s1.utf8.lexicographicallyPrecedes(s2.utf8) ? -1 : (s1 == s2 ? 0 : 1)
            }
            let truth: Bool = switch op {
            case .equal: res == 0
            case .unequal: res != 0
            case .less: res < 0
            case .lessEqual: res <= 0
            case .greater: res > 0
            case .greaterEqual: res >= 0
            }
            return truth ? .yes : .no
        }
    }

    enum Number {
        case signed(Int64), unsignedValue(UInt64)
        var unsigned: UInt64 {
            switch self {
            case .signed(let v): UInt64(bitPattern: v)
            case .unsignedValue(let v): v
            }
        }
    }

    /// `expr_parse_string()`: how a value compares, by the symbol's type; nil when it
    /// compares as a string (not a whole number).
    static func parseNumber(_ s: String, _ type: SymbolType) -> Number? {
        switch type {
        case .boolean, .tristate:
            return .signed(s == "n" ? 0 : s == "m" ? 1 : s == "y" ? 2 : -1)
        case .int:
            return cNumber(s, base: 10).map { .signed($0) }
        case .hex:
            return cNumber(s, base: 16).map { .unsignedValue(UInt64(bitPattern: $0)) }
        default:
            return cNumber(s, base: 0).map { .signed($0) }
        }
    }

    /// strtoll/strtoull requiring the whole string to be consumed and to end in a hex digit.
    static func cNumber(_ s: String, base: Int) -> Int64? {
        var t = Substring(s.drop(while: { $0 == " " || $0 == "\t" || $0 == "\n" }))
        var negative = false
        if t.first == "-" || t.first == "+" {
            negative = t.first == "-"
            t = t.dropFirst()
        }
        var b = base
        if (b == 0 || b == 16), t.hasPrefix("0x") || t.hasPrefix("0X"), let c = t.dropFirst(2).first, c.isHexDigit {
            t = t.dropFirst(2)
            b = 16
        } else if b == 0 {
            b = t.hasPrefix("0") ? 8 : 10
        }
        guard !t.isEmpty, let last = s.last, last.isHexDigit else { return nil }
        var v: UInt64 = 0
        for c in t {
            guard let d = c.hexDigitValue, d < b else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: UInt64(b))
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil } // ERANGE
            v = a
        }
        let signed = Int64(bitPattern: v)
        return negative ? 0 &- signed : signed
    }

    /// `sym_get_choice_menu()`: set for every symbol after menu finalisation.
    ///
    /// Looked up, not walked each time: evaluation asks it of every bool and tristate and
    /// the dependency checks of every symbol they visit, each a walk up the menu tree
    /// (2% of a warm olddefconfig). The menus do not move after finalisation, so the
    /// answer is fixed, and the checks' thread only reads it.
    @inline(__always)
    func choiceMenu(of sym: Symbol) -> Menu? { sym.choiceMenu }

    /// Sets every symbol's ``Symbol/choiceMenu`` (see ``choiceMenu(of:)``).
    func linkChoiceMenus() {
        for sym in symbols { sym.choiceMenu = findChoiceMenu(of: sym) }
        for sym in [symbolYes, symbolMod, symbolNo] { sym.choiceMenu = findChoiceMenu(of: sym) }
    }

    private func findChoiceMenu(of sym: Symbol) -> Menu? {
        guard var menu = sym.menus.first(where: { $0.prompt != nil }) else { return nil }
        repeat {
            guard let p = menu.parent else { return nil }
            menu = p
        } while menu.symbol == nil
        if let s = menu.symbol, s.isChoice { return menu }
        return nil
    }

    private func defaultProperty(_ sym: Symbol) -> Property? {
        for prop in sym.properties where prop.type == .default {
            prop.visibleTri = value(prop.visibleExpr)
            if prop.visibleTri != .no { return prop }
        }
        return nil
    }

    /// `sym_get_range_prop()`: the first range whose condition holds.
    func rangeProperty(_ sym: Symbol) -> Property? {
        for prop in sym.properties where prop.type == .range {
            prop.visibleTri = value(prop.visibleExpr)
            if prop.visibleTri != .no { return prop }
        }
        return nil
    }

    /// strtoll() with a base: the longest valid prefix, 0 if none.
    static func strtoll(_ s: String, base: Int) -> Int64 {
        var t = Substring(s.drop(while: { $0 == " " || $0 == "\t" || $0 == "\n" }))
        var negative = false
        if t.first == "-" || t.first == "+" {
            negative = t.first == "-"
            t = t.dropFirst()
        }
        if base == 16, t.hasPrefix("0x") || t.hasPrefix("0X") { t = t.dropFirst(2) }
        var v: Int64 = 0
        for c in t {
            guard let d = c.hexDigitValue, d < base else { break }
            let (m, o1) = v.multipliedReportingOverflow(by: Int64(base))
            let (a, o2) = m.addingReportingOverflow(Int64(d))
            if o1 || o2 { return negative ? Int64.min : Int64.max }
            v = a
        }
        return negative ? -v : v
    }

    private func rangeValue(_ sym: Symbol, base: Int) -> Int64 {
        calcValue(sym)
        let b = sym.type == .int ? 10 : sym.type == .hex ? 16 : base
        return Self.strtoll(sym.currVal, base: b)
    }

    /// `sym_validate_range()`.
    private func validateRange(_ sym: Symbol) {
        let base: Int
        switch sym.type {
        case .int: base = 10
        case .hex: base = 16
        default: return
        }
        guard let prop = rangeProperty(sym), case .range(let low, let high) = prop.expr?.node else { return }
        let v = Self.strtoll(sym.currVal, base: base)
        var rangeSym = low
        if v >= rangeValue(low, base: base) {
            rangeSym = high
            if v <= rangeValue(high, base: base) { return }
        }
        sym.currVal = rangeSym.currVal
    }

    /// `sym_calc_visibility()`.
    func calcVisibility(_ sym: Symbol) {
        if sym.isTransitional {
            sym.visible = .yes
            return
        }
        var tri = Tristate.no
        for prop in sym.properties where prop.text != nil {
            prop.visibleTri = value(prop.visibleExpr)
            tri = Self.or(tri, prop.visibleTri)
        }
        if tri == .module && (sym.type != .tristate || modulesValue == .no) { tri = .yes }
        sym.visible = tri
        if sym.isChoiceMember { return }
        tri = sym.dirDep.expr == nil ? .yes : value(sym.dirDep.expr)
        if tri == .module && effectiveType(sym) == .boolean { tri = .yes }
        sym.dirDep.tri = tri
        tri = sym.revDep.expr == nil ? .no : value(sym.revDep.expr)
        if tri == .module && effectiveType(sym) == .boolean { tri = .yes }
        sym.revDep.tri = tri
        tri = sym.implied.expr == nil ? .no : value(sym.implied.expr)
        if tri == .module && effectiveType(sym) == .boolean { tri = .yes }
        sym.implied.tri = tri
    }

    /// `sym_choice_default()`.
    func choiceDefault(_ choice: Menu) -> Symbol? {
        guard let csym = choice.symbol else { return nil }
        for prop in csym.properties where prop.type == .default {
            prop.visibleTri = value(prop.visibleExpr)
            if prop.visibleTri == .no { continue }
            if let def = prop.symbol, def.visible != .no { return def }
        }
        for menu in subEntries(choice) { if let s = menu.symbol, s.visible != .no { return s } }
        return nil
    }

    /// `menu_for_each_sub_entry()`: the subtree below `root`, depth first.
    func subEntries(_ root: Menu) -> [Menu] {
        var out = [Menu]()
        func walk(_ m: Menu) {
            for c in m.children {
                out.append(c)
                walk(c)
            }
        }
        walk(root)
        return out
    }

    /// `sym_calc_choice()`: the 6.11+ choice semantics.
    @discardableResult
    func calcChoice(_ choice: Menu) -> Symbol? {
        var result: Symbol? = nil
        for sym in choice.choiceMembers {
            calcVisibility(sym)
            if sym.visible == .no { continue }
            if sym.hasUserValue && sym.userTri == .yes {
                result = sym
                break
            }
        }
        if result == nil {
            result = choiceDefault(choice)
            if let r = result, r.hasUserValue, r.userTri == .no { result = nil }
        }
        if result == nil {
            for menu in subEntries(choice) {
                guard let sym = menu.symbol, sym.visible != .no, !sym.hasUserValue else { continue }
                result = sym
                break
            }
        }
        if result == nil {
            for sym in choice.choiceMembers.reversed() where sym.visible != .no {
                result = sym
                break
            }
        }
        for menu in subEntries(choice) {
            guard let sym = menu.symbol, sym.visible != .no else { continue }
            sym.currTri = sym == result ? .yes : .no
            sym.valid = true
            sym.write = true
        }
        return result
    }

    private func warnUnmetDependency(_ sym: Symbol) {
        var text = "\nWARNING: unmet direct dependencies detected for \(sym.name ?? "")\n"
        text += "  Depends on [\(sym.dirDep.tri == .module ? "m" : "n")]: \(ExprPrinter.string(sym.dirDep.expr))\n"
        text += ExprPrinter.reverseDependencies(sym.revDep.expr, value: .yes, title: "  Selected by [y]:\n", tree: self)
        text += ExprPrinter.reverseDependencies(sym.revDep.expr, value: .module, title: "  Selected by [m]:\n", tree: self)
        stderr(text)
        dependencyWarnings += 1
    }

    /// `sym_calc_value()`.
    func calcValue(_ sym: Symbol) {
        if sym.valid { return }
        sym.valid = true
        let oldVal = sym.currVal, oldTri = sym.currTri
        var newVal: String
        var newTri = Tristate.no
        switch sym.type {
        case .int: newVal = "0"
        case .hex: newVal = "0x0"
        case .string: newVal = ""
        case .boolean, .tristate: newVal = "n"
        case .unknown:
            sym.currVal = sym.name ?? ""
            sym.currTri = .no
            return
        }
        sym.write = false
        calcVisibility(sym)
        if sym.visible != .no { sym.write = true }
        sym.currVal = newVal
        sym.currTri = newTri
        var prop: Property? = nil
        switch effectiveType(sym) {
        case .boolean, .tristate:
            if let choice = choiceMenu(of: sym) {
                calcChoice(choice)
                newTri = sym.currTri
            } else {
                var fromUser = false
                if sym.visible != .no && sym.hasUserValue {
                    newTri = Self.and(sym.userTri, sym.visible)
                    fromUser = true
                }
                if !fromUser {
                    if sym.revDep.tri != .no { sym.write = true }
                    if !sym.isChoice {
                        prop = defaultProperty(sym)
                        if let prop {
                            newTri = Self.and(value(prop.expr), prop.visibleTri)
                            if newTri != .no { sym.write = true }
                        }
                        if sym.implied.tri != .no {
                            sym.write = true
                            newTri = Self.or(newTri, sym.implied.tri)
                            newTri = Self.and(newTri, sym.dirDep.tri)
                        }
                    }
                }
                if sym.dirDep.tri < sym.revDep.tri { warnUnmetDependency(sym) }
                newTri = Self.or(newTri, sym.revDep.tri)
            }
            if newTri == .module && effectiveType(sym) == .boolean { newTri = .yes }
        case .string, .hex, .int:
            if sym.visible != .no && sym.hasUserValue {
                newVal = sym.userVal
                break
            }
            prop = defaultProperty(sym)
            if let prop, let ds = prop.symbol {
                sym.write = true
                calcValue(ds)
                newVal = ds.currVal
            }
        case .unknown:
            break
        }
        if let prop, !sym.hasUserValue, let ds = prop.symbol, ds.isTransitional, ds.hasUserValue {
            // A value taken from a transitional symbol's old setting counts as the user's.
            sym.userVal = newVal
            sym.userTri = newTri
            sym.hasUserValue = true
        }
        sym.currVal = newVal
        sym.currTri = newTri
        validateRange(sym)
        if sym == modulesSymbol && (oldTri != sym.currTri || oldVal != sym.currVal) {
            modulesValue = sym.currTri
        }
        if sym.isChoice || sym.isTransitional { sym.write = false }
    }

    /// `sym_clear_all_valid()`.
    func clearAllValid() {
        for sym in symbols { sym.valid = false }
        epoch += 1
        if let m = modulesSymbol { calcValue(m) }
    }
}
