/// A Kconfig expression (`struct expr` in `scripts/kconfig/expr.h`).
indirect enum Expr: Sendable {
    case symbol(Symbol)
    case not(Expr)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case compare(Comparison, Symbol, Symbol)
    case range(Symbol, Symbol)
    /// `expr == n` for a compound condition (what `expr_trans_compare()` distributes).
    case isNo(Expr)

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
