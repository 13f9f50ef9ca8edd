/// A Kconfig expression (`struct expr` in `scripts/kconfig/expr.h`).
indirect enum Expr {
    case symbol(Symbol)
    case not(Expr)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case compare(Comparison, Symbol, Symbol)
    case range(Symbol, Symbol)
    /// A shared subexpression (a menu's dependency, which every entry below it repeats)
    /// whose value is kept until symbol values are invalidated, as `expr_calc_value()`
    /// keeps every expression's value between `expr_invalidate_all()` calls.
    case cached(ExprCache)

    /// The expression inside any cache wrapper (the simplifier asks this of every node).
    @inline(__always)
    var unwrapped: Expr {
        if case .cached(let c) = self { return c.inner }
        return self
    }

    enum Comparison: Sendable {
        case equal, unequal, less, lessEqual, greater, greaterEqual
    }

    /// `expr_alloc_and()`: a missing side is "yes".
    static func and(_ a: Expr?, _ b: Expr?) -> Expr? {
        guard let a else { return b }
        guard let b else { return a }
        return .and(a, b)
    }

    /// `expr_alloc_or()`.
    static func or(_ a: Expr?, _ b: Expr?) -> Expr? {
        guard let a else { return b }
        guard let b else { return a }
        return .or(a, b)
    }
}

/// The cached value of a shared subexpression, valid for one evaluation epoch.
final class ExprCache {
    let expr: Expr
    var epoch = -1
    var value = Tristate.no
    /// Already through `expr_eliminate_dups()`: a fixed point of it.
    var simplified = false
    /// The dependency-loop check found nothing through `expr` (see `checkExpr`).
    var depsChecked = false
    /// `expr` without any cache wrappers (a cached dependency can wrap another).
    let inner: Expr
    init(_ expr: Expr) {
        self.expr = expr
        var e = expr
        while case .cached(let c) = e { e = c.expr }
        inner = e
    }
}
