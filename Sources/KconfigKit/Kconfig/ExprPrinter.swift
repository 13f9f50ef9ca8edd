/// Prints expressions as `expr_gstr_print()` in `scripts/kconfig/expr.c` does: symbols
/// with their current value (`FOO [=y]`), `!`, `&&`, `||` and comparisons, with
/// parentheses only where precedence needs them.
enum ExprPrinter {
    private static func precedence(_ e: Expr) -> Int {
        switch e.unwrapped {
        case .or: 1
        case .and: 2
        case .compare, .isNo: 3
        case .not: 4
        case .symbol, .range: 5
        case .cached: 5
        }
    }

    private static func name(_ s: Symbol) -> String {
        let n = s.name ?? "<choice>"
        if s.isConst && s.name != "y" && s.name != "m" && s.name != "n" { return "\"\(n)\"" }
        return n
    }

    private static func withValue(_ s: Symbol) -> String {
        if s.isConst || s.type == .unknown { return name(s) }
        return "\(name(s)) [=\(s.stringValue)]"
    }

    static func string(_ e: Expr?, parent: Int = 0) -> String {
        guard let wrapped = e else { return "y" }
        let e = wrapped.unwrapped
        let p = precedence(e)
        let text: String
        switch e {
        case .symbol(let s): text = withValue(s)
        case .not(let a): text = "!" + string(a, parent: 4)
        case .and(let a, let b): text = string(a, parent: 2) + " && " + string(b, parent: 2)
        case .or(let a, let b): text = string(a, parent: 1) + " || " + string(b, parent: 1)
        case .isNo(let a): text = string(a, parent: 3) + "=n"
        case .range(let a, let b): text = "[\(name(a)) \(name(b))]"
        case .cached(let c): text = string(c.expr, parent: parent)
        case .compare(let op, let a, let b):
            let o = switch op {
            case .equal: "="
            case .unequal: "!="
            case .less: "<"
            case .lessEqual: "<="
            case .greater: ">"
            case .greaterEqual: ">="
            }
            text = withValue(a) + o + withValue(b)
        }
        return p < parent ? "(\(text))" : text
    }

    /// `expr_gstr_print_revdep()`: the selects that give `value`, one per line.
    static func reverseDependencies(_ e: Expr?, value: Tristate, title: String, tree: KconfigTree) -> String {
        guard let e else { return "" }
        var terms = [Expr]()
        func collect(_ x: Expr) {
            if case .or(let a, let b) = x.unwrapped { collect(a); collect(b) } else { terms.append(x) }
        }
        collect(e)
        var out = ""
        for t in terms where tree.value(t) == value {
            if out.isEmpty { out = title }
            out += "  - " + string(t) + "\n"
        }
        return out
    }
}
