/// The expression rewriting of `scripts/kconfig/expr.c` (identical in 6.12 and 7.2):
/// `expr_transform()`, `expr_eliminate_dups()`, `expr_eliminate_eq()`, `expr_eq()` and
/// the symbol tests that automatic submenus use.
///
/// conf applies these while it finalises menus, so they decide what `Depends on:` lines
/// print and which entries nest under which (the oldconfig question layout). They do
/// not change any value. The port keeps the C functions' shapes and names, so that a
/// difference can be traced line by line.
///
/// A shared subexpression (`.cached`) is kept as the same node when a rewrite leaves it
/// unchanged, so that its value stays computed once per epoch; `mutations` counts every
/// rewrite and tells whether anything below a node changed.
final class ExprSimplifier {
    private let yes: Symbol, mod: Symbol, no: Symbol
    /// Where rewritten expressions go: the tree's.
    private let arena: ExprArena
    /// `trans_count` in expr.c.
    private var transCount = 0
    /// Every rewrite, never reset: unchanged subtrees keep their nodes.
    private var mutations = 0
    /// conf prints its warnings about bool symbols tested for `m` to standard output.
    private let warn: (String) -> Void

    init(_ tree: KconfigTree, warn: @escaping (String) -> Void) {
        self.yes = tree.symbolYes
        self.mod = tree.symbolMod
        self.no = tree.symbolNo
        self.arena = tree.arena
        self.warn = warn
    }

    private enum Kind { case and, or }

    private func kind(_ e: Expr) -> Kind? {
        switch e.unwrapped.node {
        case .and: .and
        case .or: .or
        default: nil
        }
    }

    private func operands(_ e: Expr) -> (Expr, Expr) {
        switch e.unwrapped.node {
        case .and(let l, let r), .or(let l, let r): (l, r)
        default: fatalError("operands of a leaf")
        }
    }

    private func make(_ k: Kind, _ l: Expr, _ r: Expr) -> Expr {
        k == .and ? arena.and(l, r) : arena.or(l, r)
    }

    private func isSymbol(_ e: Expr, _ s: Symbol) -> Bool {
        if case .symbol(let x) = e.unwrapped.node { return x == s }
        return false
    }

    /// `expr_is_yes()`: a missing expression or the symbol y.
    func isYes(_ e: Expr?) -> Bool {
        guard let e else { return true }
        return isSymbol(e, yes)
    }

    // MARK: expr_eliminate_eq

    /// `__expr_eliminate_eq()`: equal leaves at the same level of `type` become y
    /// (under &&) or n (under ||), to be removed by `expr_eliminate_yn()`.
    private func eliminateEq(_ type: Kind, _ ep1: inout Expr, _ ep2: inout Expr) {
        if kind(ep1) == type {
            var (l, r) = operands(ep1)
            let before = mutations
            eliminateEq(type, &l, &ep2)
            eliminateEq(type, &r, &ep2)
            if mutations != before { ep1 = make(type, l, r) }
            return
        }
        if kind(ep2) == type {
            var (l, r) = operands(ep2)
            let before = mutations
            eliminateEq(type, &ep1, &l)
            eliminateEq(type, &ep1, &r)
            if mutations != before { ep2 = make(type, l, r) }
            return
        }
        if case .symbol(let a) = ep1.unwrapped.node, case .symbol(let b) = ep2.unwrapped.node, a == b,
           a == yes || a == no {
            return
        }
        if !eq(ep1, ep2) { return }
        transCount += 1
        mutations += 1
        let s = type == .or ? no : yes
        ep1 = arena.symbol(s)
        ep2 = arena.symbol(s)
    }

    /// `expr_eliminate_eq()`: removes the operands common to both expressions.
    func eliminateEq(_ ep1: inout Expr, _ ep2: inout Expr) {
        if let k = kind(ep1) { eliminateEq(k, &ep1, &ep2) }
        if typeTag(ep1) != typeTag(ep2), let k = kind(ep2) {
            eliminateEq(k, &ep1, &ep2)
        }
        ep1 = eliminateYN(ep1)
        ep2 = eliminateYN(ep2)
    }

    /// The C `type` field, for the `(*ep1)->type != (*ep2)->type` test.
    private func typeTag(_ e: Expr) -> Int {
        switch e.unwrapped.node {
        case .symbol: 1
        case .not: 2
        case .and: 3
        case .or: 4
        case .compare(let op, _, _):
            switch op {
            case .equal: 5
            case .unequal: 6
            case .less: 7
            case .lessEqual: 8
            case .greater: 9
            case .greaterEqual: 10
            }
        case .range: 11
        case .cached: 0
        }
    }

    /// `expr_eq()`: structural equality, where && and || operands may come in any order.
    func eq(_ e1: Expr?, _ e2: Expr?) -> Bool {
        guard let e1, let e2 else { return isYes(e1) && isYes(e2) }
        if typeTag(e1) != typeTag(e2) { return false }
        switch (e1.unwrapped.node, e2.unwrapped.node) {
        case (.compare(_, let a1, let b1), .compare(_, let a2, let b2)):
            return a1 == a2 && b1 == b2
        case (.symbol(let a), .symbol(let b)):
            return a == b
        case (.not(let a), .not(let b)):
            return eq(a, b)
        case (.and, .and), (.or, .or):
            let saved = transCount
            var x = e1, y = e2
            eliminateEq(&x, &y)
            transCount = saved
            if case .symbol(let a) = x.unwrapped.node, case .symbol(let b) = y.unwrapped.node { return a == b }
            return false
        default:
            return false
        }
    }

    /// `expr_eliminate_yn()`: `e && n → n`, `e && y → e`, `e || n → e`, `e || y → y`.
    /// As in 7.2's hash-consed expr.c, a simplification found only below the top level
    /// is not kept: the function returns `e` itself then.
    private func eliminateYN(_ e: Expr) -> Expr {
        // A shared node already through eliminate_dups() is a fixed point of this too.
        if case .cached(let c) = e.node, c.simplified { return e }
        switch e.unwrapped.node {
        case .and(let a, let b):
            let l = eliminateYN(a), r = eliminateYN(b)
            if isSymbol(l, no) { mutations += 1; return l }
            if isSymbol(l, yes) { mutations += 1; return r }
            if isSymbol(r, no) { mutations += 1; return r }
            if isSymbol(r, yes) { mutations += 1; return l }
        case .or(let a, let b):
            let l = eliminateYN(a), r = eliminateYN(b)
            if isSymbol(l, no) { mutations += 1; return r }
            if isSymbol(l, yes) { mutations += 1; return l }
            if isSymbol(r, no) { mutations += 1; return l }
            if isSymbol(r, yes) { mutations += 1; return r }
        default: break
        }
        return e
    }

    // MARK: expr_join_or / expr_join_and

    /// The symbol a leaf tests, as `expr_join_or()` and `expr_join_and()` find it; nil
    /// where they give up.
    private func joinSymbols(_ e1: Expr, _ e2: Expr) -> Symbol? {
        func leafOK(_ e: Expr) -> Bool {
            switch e.unwrapped.node {
            case .symbol, .not: return true
            case .compare(let op, _, _): return op == .equal || op == .unequal
            default: return false
            }
        }
        guard leafOK(e1), leafOK(e2) else { return nil }
        let sym1: Symbol
        switch e1.unwrapped.node {
        case .not(let t):
            switch t.unwrapped.node {
            case .symbol(let s): sym1 = s
            case .compare(let op, let s, _) where op == .equal || op == .unequal: sym1 = s
            default: return nil
            }
        case .symbol(let s): sym1 = s
        case .compare(_, let s, _): sym1 = s
        default: return nil
        }
        let sym2: Symbol
        switch e2.unwrapped.node {
        case .not(let t):
            guard case .symbol(let s) = t.unwrapped.node else { return nil }
            sym2 = s
        case .symbol(let s): sym2 = s
        case .compare(_, let s, _): sym2 = s
        default: return nil
        }
        guard sym1 == sym2, sym1.type == .boolean || sym1.type == .tristate else { return nil }
        return sym1
    }

    private enum Leaf { case symbol, not, equal(Symbol), unequal(Symbol), other }

    private func leaf(_ e: Expr) -> Leaf {
        switch e.unwrapped.node {
        case .symbol: .symbol
        case .not: .not
        case .compare(.equal, _, let r): .equal(r)
        case .compare(.unequal, _, let r): .unequal(r)
        default: .other
        }
    }

    /// `expr_join_or()`: `e1 || e2` as one leaf, or nil.
    private func joinOr(_ e1: Expr, _ e2: Expr) -> Expr? {
        if eq(e1, e2) { return e1 }
        guard let sym = joinSymbols(e1, e2) else { return nil }
        let l1 = leaf(e1), l2 = leaf(e2)
        if sym.type == .tristate, case .equal(let a) = l1, case .equal(let b) = l2 {
            // (a='y') || (a='m') -> (a!='n'), and the other two pairs alike.
            if (a == yes && b == mod) || (a == mod && b == yes) { return arena.compare(.unequal, sym, no) }
            if (a == yes && b == no) || (a == no && b == yes) { return arena.compare(.unequal, sym, mod) }
            if (a == mod && b == no) || (a == no && b == mod) { return arena.compare(.unequal, sym, yes) }
        }
        if sym.type == .boolean {
            // a || !a -> y
            func notSym(_ e: Expr) -> Bool {
                if case .not(let t) = e.unwrapped.node, case .symbol = t.unwrapped.node { return true }
                return false
            }
            if (notSym(e1) && { if case .symbol = l2 { true } else { false } }())
                || (notSym(e2) && { if case .symbol = l1 { true } else { false } }()) {
                return arena.symbol(yes)
            }
        }
        return nil
    }

    /// `expr_join_and()`: `e1 && e2` as one leaf, or nil.
    private func joinAnd(_ e1: Expr, _ e2: Expr) -> Expr? {
        if eq(e1, e2) { return e1 }
        guard let sym = joinSymbols(e1, e2) else { return nil }
        let l1 = leaf(e1), l2 = leaf(e2)
        func symAnd(_ x: Leaf, _ y: Leaf, _ test: (Leaf) -> Bool) -> Bool {
            if case .symbol = x, test(y) { return true }
            if case .symbol = y, test(x) { return true }
            return false
        }
        // (a) && (a='y') -> (a='y')
        if symAnd(l1, l2, { if case .equal(let s) = $0 { s == self.yes } else { false } }) {
            return arena.compare(.equal, sym, yes)
        }
        // (a) && (a!='n') -> (a)
        if symAnd(l1, l2, { if case .unequal(let s) = $0 { s == self.no } else { false } }) {
            return arena.symbol(sym)
        }
        // (a) && (a!='m') -> (a='y')
        if symAnd(l1, l2, { if case .unequal(let s) = $0 { s == self.mod } else { false } }) {
            return arena.compare(.equal, sym, yes)
        }
        if sym.type == .tristate {
            // (a='b') && (a!='c') -> 'b'='c' ? 'n' : a='b'
            if case .equal(let b) = l1, case .unequal(let c) = l2, c.isConst, b.isConst {
                return !(b == c) ? arena.compare(.equal, sym, b) : arena.symbol(no)
            }
            if case .unequal(let c) = l1, case .equal(let b) = l2, c.isConst, b.isConst {
                return !(b == c) ? arena.compare(.equal, sym, b) : arena.symbol(no)
            }
            if case .unequal(let a) = l1, case .unequal(let b) = l2 {
                // (a!='y') && (a!='n') -> (a='m'), and the other two pairs alike.
                if (a == yes && b == no) || (a == no && b == yes) { return arena.compare(.equal, sym, mod) }
                if (a == yes && b == mod) || (a == mod && b == yes) { return arena.compare(.equal, sym, no) }
                if (a == mod && b == no) || (a == no && b == mod) { return arena.compare(.equal, sym, yes) }
            }
        }
        return nil
    }

    // MARK: expr_eliminate_dups

    /// `expr_eliminate_dups1()`: compares every leaf of one side with every leaf of the
    /// other and joins the pairs that `expr_join_or()`/`expr_join_and()` can join.
    private func eliminateDups1(_ type: Kind, _ ep1: inout Expr, _ ep2: inout Expr) {
        if kind(ep1) == type {
            var (l, r) = operands(ep1)
            let before = mutations
            eliminateDups1(type, &l, &ep2)
            eliminateDups1(type, &r, &ep2)
            if mutations != before { ep1 = make(type, l, r) }
            return
        }
        if kind(ep2) == type {
            var (l, r) = operands(ep2)
            let before = mutations
            eliminateDups1(type, &ep1, &l)
            eliminateDups1(type, &ep1, &r)
            if mutations != before { ep2 = make(type, l, r) }
            return
        }
        let joined = type == .or ? joinOr(ep1, ep2) : joinAnd(ep1, ep2)
        if let joined {
            ep1 = arena.symbol(type == .or ? no : yes)
            ep2 = joined
            transCount += 1
            mutations += 1
        }
    }

    /// `expr_eliminate_dups()`: joins duplicate and redundant operands until nothing
    /// changes. A shared node that was simplified before is a fixed point.
    func eliminateDups(_ e: Expr?) -> Expr? {
        guard var e else { return nil }
        if case .cached(let c) = e.node, c.simplified { return e }
        let oldCount = transCount
        repeat {
            transCount = 0
            if let k = kind(e) {
                let (a, b) = operands(e)
                let before = mutations
                var l = eliminateDups(a)!, r = eliminateDups(b)!
                eliminateDups1(k, &l, &r)
                if mutations != before { e = make(k, l, r) }
            }
            e = eliminateYN(e)
        } while transCount != 0
        transCount = oldCount
        return e
    }

    // MARK: expr_transform

    /// `expr_transform()`: comparisons of bool symbols become symbol tests, and
    /// negations move inwards (De Morgan), as conf rewrites every dependency.
    func transform(_ e: Expr?) -> Expr? {
        guard var e else { return nil }
        switch e.unwrapped.node {
        case .compare, .symbol: break
        case .not(let a): e = arena.not(transform(a)!)
        case .and(let a, let b): e = arena.and(transform(a)!, transform(b)!)
        case .or(let a, let b): e = arena.or(transform(a)!, transform(b)!)
        case .range, .cached: break
        }
        switch e.unwrapped.node {
        case .compare(.equal, let s, let r) where s.type == .boolean:
            if r == no { return arena.not(arena.symbol(s)) }
            if r == mod {
                warn("boolean symbol \(s.name ?? "(null)") tested for 'm'? test forced to 'n'\n")
                return arena.symbol(no)
            }
            if r == yes { return arena.symbol(s) }
        case .compare(.unequal, let s, let r) where s.type == .boolean:
            if r == no { return arena.symbol(s) }
            if r == mod {
                warn("boolean symbol \(s.name ?? "(null)") tested for 'm'? test forced to 'y'\n")
                return arena.symbol(yes)
            }
            // A!=y -> !A. (expr.c passes the comparison's symbol where an expression
            // belongs here; the intent, kept here, is the negated symbol.)
            if r == yes { return arena.not(arena.symbol(s)) }
        case .not(let inner):
            switch inner.unwrapped.node {
            case .not(let x): return x
            case .compare(let op, let a, let b):
                let flipped: Expr.Comparison = switch op {
                case .equal: .unequal
                case .unequal: .equal
                case .lessEqual: .greater
                case .greaterEqual: .less
                case .less: .greaterEqual
                case .greater: .lessEqual
                }
                return arena.compare(flipped, a, b)
            case .or(let a, let b):
                return transform(arena.and(arena.not(a), arena.not(b)))!
            case .and(let a, let b):
                return transform(arena.or(arena.not(a), arena.not(b)))!
            case .symbol(let s):
                if s == yes { return arena.symbol(no) }
                if s == mod { return arena.symbol(mod) }
                if s == no { return arena.symbol(yes) }
            default: break
            }
        default: break
        }
        return e
    }

    // MARK: symbol tests

    /// `expr_contains_symbol()`.
    func contains(_ dep: Expr?, _ sym: Symbol) -> Bool {
        guard let dep else { return false }
        switch dep.unwrapped.node {
        case .and(let a, let b), .or(let a, let b): return contains(a, sym) || contains(b, sym)
        case .symbol(let s): return s == sym
        case .compare(_, let a, let b): return a == sym || b == sym
        case .not(let a): return contains(a, sym)
        default: return false
        }
    }

    /// `expr_depends_symbol()`: `dep` is false whenever `sym` is n.
    func dependsOn(_ dep: Expr?, _ sym: Symbol) -> Bool {
        guard let dep else { return false }
        switch dep.unwrapped.node {
        case .and(let a, let b): return dependsOn(a, sym) || dependsOn(b, sym)
        case .symbol(let s): return s == sym
        case .compare(.equal, let s, let r): return s == sym && (r == yes || r == mod)
        case .compare(.unequal, let s, let r): return s == sym && r == no
        default: return false
        }
    }
}

extension ExprSimplifier {
    /// `expr_trans_compare(e, E_UNEQUAL, &symbol_no)`; a missing expression gives `!n`.
    func transCompareUnequalNo(_ e: Expr?, _ tree: KconfigTree) -> Expr? {
        guard let e else { return arena.not(arena.symbol(tree.symbolNo)) }
        return Parser.transCompare(e, equal: false, tree.symbolNo, tree)
    }
}
