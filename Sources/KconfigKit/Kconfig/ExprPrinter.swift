/// Prints expressions as `expr_gstr_print()` in `scripts/kconfig/expr.c` does: every
/// symbol of a known type with its current value (`FOO [=y]`, also `y [=y]`), and
/// parentheses exactly where `expr_compare_type()` puts them (so `!A=B` has none).
enum ExprPrinter {
    /// The C `enum expr_type` order that `expr_compare_type()` walks.
    private enum Token { case none, or, and, not, equal, unequal, ordered, symbol, range }

    private static func token(_ e: Expr) -> Token {
        switch e.unwrapped.node {
        case .or: .or
        case .and: .and
        case .not: .not
        case .compare(.equal, _, _): .equal
        case .compare(.unequal, _, _): .unequal
        case .compare: .ordered
        case .symbol, .cached: .symbol
        case .range: .range
        }
    }

    /// `expr_compare_type()`: whether an operand of type `t2` under `t1` needs parentheses.
    private static func needsParentheses(_ t1: Token, _ t2: Token) -> Bool {
        if t1 == t2 { return false }
        switch t1 {
        case .ordered: return t2 == .equal || t2 == .unequal || t2 == .not || t2 == .and || t2 == .or
        case .equal, .unequal: return t2 == .not || t2 == .and || t2 == .or
        case .not: return t2 == .and || t2 == .or
        case .and: return t2 == .or
        default: return false
        }
    }

    /// `expr_print_gstr_helper()`: the text, then ` [=value]` for a symbol of known type.
    private static func emit(_ out: inout String, _ sym: Symbol?, _ text: String) {
        out += text
        if let sym, sym.type != .unknown { out += " [=\(sym.stringValue)]" }
    }

    private static func side(_ out: inout String, _ s: Symbol) {
        if let name = s.name { emit(&out, s, name) } else { emit(&out, nil, "<choice>") }
    }

    /// `expr_print()`.
    private static func print(_ e: Expr?, _ out: inout String, _ prev: Token) {
        guard let e else { emit(&out, nil, "y"); return }
        let t = token(e)
        let parens = needsParentheses(prev, t)
        if parens { emit(&out, nil, "(") }
        switch e.unwrapped.node {
        case .symbol(let s): side(&out, s)
        case .not(let a):
            emit(&out, nil, "!")
            print(a, &out, .not)
        case .compare(let op, let l, let r):
            side(&out, l)
            let o = switch op {
            case .equal: "="
            case .unequal: "!="
            case .less: "<"
            case .lessEqual: "<="
            case .greater: ">"
            case .greaterEqual: ">="
            }
            emit(&out, nil, o)
            emit(&out, r, r.name ?? "")
        case .or(let a, let b):
            print(a, &out, .or)
            emit(&out, nil, " || ")
            print(b, &out, .or)
        case .and(let a, let b):
            print(a, &out, .and)
            emit(&out, nil, " && ")
            print(b, &out, .and)
        case .range(let a, let b):
            emit(&out, nil, "[")
            emit(&out, a, a.name ?? "")
            emit(&out, nil, " ")
            emit(&out, b, b.name ?? "")
            emit(&out, nil, "]")
        case .cached: break
        }
        if parens { emit(&out, nil, ")") }
    }

    /// `expr_gstr_print()` without a width limit, as conf and the warnings use it.
    static func string(_ e: Expr?) -> String {
        var out = ""
        print(e, &out, .none)
        return out
    }

    /// `expr_gstr_print_revdep()`: the top-level `||` terms whose value is `value`, one
    /// per line, under `title`.
    static func reverseDependencies(_ e: Expr?, value: Tristate, title: String, tree: KconfigTree) -> String {
        guard let e else { return "" }
        var out = ""
        func walk(_ x: Expr) {
            if case .or(let a, let b) = x.unwrapped.node {
                walk(a)
                walk(b)
            } else if tree.value(x) == value {
                if out.isEmpty { out = title }
                out += "  - " + string(x) + "\n"
            }
        }
        walk(e)
        return out
    }
}
