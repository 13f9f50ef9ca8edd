/// The help screen of a menu entry, as `menu_get_ext_help()` and `get_symbol_str()` in
/// `scripts/kconfig/menu.c` build it: conf prints it for `?` and for helpnewconfig, and
/// menuconfig shows it. Byte for byte, so that helpnewconfig equals conf's.
extension KconfigTree {
    /// `menu_get_ext_help()`: the help text (or conf's "no help" line), then the symbol's
    /// details.
    func extendedHelp(_ menu: Menu) -> String {
        var out = ""
        if let help = menu.help {
            if let name = menu.symbol?.name { out += "\(prefix)\(name):\n\n" }
            out += help + "\n"
        } else {
            out += "There is no help available for this option.\n"
        }
        if let sym = menu.symbol { out += symbolDetails(sym) }
        return out
    }

    /// `get_symbol_str()` without jump keys.
    func symbolDetails(_ sym: Symbol) -> String {
        calcValue(sym)
        var out = ""
        if let name = sym.name {
            out += "Symbol: \(name) [=\(sym.stringValue)]\nType  : \(sym.type.name)\n"
            if sym.type == .int || sym.type == .hex, let prop = rangeProperty(sym) {
                out += "Range : " + printed(prop.expr) + "\n"
            }
        }
        // Definitions with prompts first, then the ones without.
        for menu in sym.menus {
            guard let prompt = menu.prompt else { continue }
            out += "Defined at \(menu.file):\(menu.line)\n"
            out += promptDetails(prompt)
        }
        for menu in sym.menus where menu.prompt == nil {
            out += "Defined at \(menu.file):\(menu.line)\n"
            out += dependencyLine(menu.dep, "  Depends on: ")
        }
        out += propertyList(sym, .select, "Selects: ")
        if let rev = sym.revDep.expr {
            for (v, title) in [(Tristate.yes, "Selected by [y]:\n"), (.module, "Selected by [m]:\n"), (.no, "Selected by [n]:\n")] {
                calcSymbols(in: rev)
                out += ExprPrinter.reverseDependencies(rev, value: v, title: title, tree: self)
            }
        }
        out += propertyList(sym, .imply, "Implies: ")
        if let implied = sym.implied.expr {
            for (v, title) in [(Tristate.yes, "Implied by [y]:\n"), (.module, "Implied by [m]:\n"), (.no, "Implied by [n]:\n")] {
                calcSymbols(in: implied)
                out += ExprPrinter.reverseDependencies(implied, value: v, title: title, tree: self)
            }
        }
        return out + "\n\n"
    }

    /// Symbol values are current when conf prints them (conf_read() computed them all);
    /// here they are computed on demand first.
    private func calcSymbols(in e: Expr?) {
        guard let e else { return }
        switch e.unwrapped.node {
        case .symbol(let s): calcValue(s)
        case .not(let a): calcSymbols(in: a)
        case .and(let a, let b), .or(let a, let b):
            calcSymbols(in: a)
            calcSymbols(in: b)
        case .compare(_, let a, let b), .range(let a, let b):
            calcValue(a)
            calcValue(b)
        case .cached: break
        }
    }

    private func printed(_ e: Expr?) -> String {
        calcSymbols(in: e)
        return ExprPrinter.string(e)
    }

    /// `get_dep_str()`: nothing for a dependency that is y.
    private func dependencyLine(_ e: Expr?, _ prefix: String) -> String {
        if let e, case .symbol(let s) = e.unwrapped.node, s == symbolYes { return "" }
        guard let e else { return "" }
        return prefix + printed(e) + "\n"
    }

    /// `get_symbol_props_str()`: the targets of every select (or imply), joined by &&.
    private func propertyList(_ sym: Symbol, _ type: PropertyType, _ prefix: String) -> String {
        let props = sym.properties.filter { $0.type == type }
        if props.isEmpty { return "" }
        return prefix + props.map { printed($0.expr) }.joined(separator: " && ") + "\n"
    }

    /// `get_prompt_str()`: the prompt, its dependencies, its visibility where that differs,
    /// and its location in the menus.
    private func promptDetails(_ prop: Property) -> String {
        var out = "  Prompt: \(prop.text ?? "(null)")\n"
        out += dependencyLine(prop.menu.dep, "  Depends on: ")
        let simplifier = ExprSimplifier(self, warn: { _ in })
        if !simplifier.eq(prop.menu.dep, prop.visibleExpr) {
            out += dependencyLine(prop.visibleExpr, "  Visible if: ")
        }
        // At most the eight innermost levels, as the C array holds.
        var path = [Menu]()
        var m: Menu? = prop.menu
        while let menu = m, menu != rootMenu, path.count < 8 {
            path.append(menu)
            m = menu.parent
        }
        out += "  Location:\n"
        for (j, menu) in path.reversed().enumerated() {
            out += String(repeating: " ", count: 2 * j + 4) + "-> " + (menu.prompt?.text ?? menu.symbol?.name ?? "(null)")
            if let s = menu.symbol {
                calcValue(s)
                out += " (\(s.name ?? "<choice>") [=\(s.stringValue)])"
            }
            out += "\n"
        }
        return out
    }
}
