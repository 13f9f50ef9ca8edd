/// Recursive-dependency detection, ported from `sym_check_deps()` and friends in
/// `scripts/kconfig/symbol.c`, with the kernel's messages ("error: recursive dependency
/// detected!"), and the sanity checks `conf_parse()` runs on transitional symbols and
/// choice members (`parser.y`).
extension KconfigTree {
    enum DepKind { case dirDep, revDep, implied, value, none }

    struct DepFrame {
        var sym: Symbol
        var kind: DepKind = .none
        var prop: Property?
    }

    private func propTypeName(_ t: PropertyType?) -> String {
        switch t {
        case .prompt: "prompt"
        case .comment: "comment"
        case .menu: "menu"
        case .default: "default"
        case .select: "select"
        case .imply: "imply"
        case .range: "range"
        default: "unknown"
        }
    }

    private func printRecursive(_ lastSymIn: Symbol, _ stack: inout [DepFrame]) {
        var lastSym = lastSymIn
        var pushed = false
        if let choice = choiceMenu(of: lastSym), let cs = choice.symbol {
            stack.append(DepFrame(sym: lastSym))
            pushed = true
            lastSym = cs
        }
        guard let start = stack.firstIndex(where: { $0.sym == lastSym }) else {
            report("unexpected recursive dependency error\n")
            if pushed { stack.removeLast() }
            return
        }
        for i in start..<stack.count {
            let frame = stack[i]
            let sym = frame.sym
            let next = i + 1 < stack.count ? stack[i + 1].sym : lastSym
            let name = sym.name ?? "<choice>"
            if sym == lastSym { report("error: recursive dependency detected!\n") }
            if next.isChoice, let choice = next.menus.first {
                report("\tsymbol \(name) is part of choice block at \(choice.file):\(choice.line)\n")
            } else {
                switch frame.kind {
                case .dirDep: report("\tsymbol \(name) depends on \(next.name ?? "")\n")
                case .revDep: report("\tsymbol \(name) is selected by \(next.name ?? "")\n")
                case .implied: report("\tsymbol \(name) is implied by \(next.name ?? "")\n")
                case .value: report("\tsymbol \(name) \(propTypeName(frame.prop?.type)) value contains \(next.name ?? "")\n")
                case .none: report("\tsymbol \(name) \(propTypeName(frame.prop?.type)) is visible depending on \(next.name ?? "")\n")
                }
            }
        }
        report("For a resolution refer to Documentation/kbuild/kconfig-language.rst\nsubsection \"Kconfig recursive dependency limitations\"\n\n")
        if pushed { stack.removeLast() }
    }

    private func checkExpr(_ e: Expr?, _ stack: inout [DepFrame]) -> Symbol? {
        guard let e else { return nil }
        switch e.node {
        case .or(let a, let b), .and(let a, let b):
            return checkExpr(a, &stack) ?? checkExpr(b, &stack)
        case .not(let a):
            return checkExpr(a, &stack)
        case .cached(let c):
            // A menu's shared dependency is part of every entry below it. Once the check
            // came back empty through it, every symbol in it is checked and, outside a
            // choice (whose members stay "checking" while it runs, as in
            // sym_check_choice_deps()), none can be on the stack again: the same walk
            // would find nothing. conf walks it each time; the verdicts are the same.
            if c.depsChecked && choiceChecks == 0 { return nil }
            let found = checkExpr(c.expr, &stack)
            if found == nil && choiceChecks == 0 { c.depsChecked = true }
            return found
        case .compare(_, let l, let r):
            return checkDeps(l, &stack) ?? checkDeps(r, &stack)
        case .symbol(let s):
            return checkDeps(s, &stack)
        case .range:
            return nil
        }
    }

    private func checkSymbolDeps(_ sym: Symbol, _ stack: inout [DepFrame]) -> Symbol? {
        stack.append(DepFrame(sym: sym))
        defer { stack.removeLast() }
        let top = stack.count - 1
        stack[top].kind = .dirDep
        if let s = checkExpr(sym.dirDep.expr, &stack) { return s }
        stack[top].kind = .revDep
        if let s = checkExpr(sym.revDep.expr, &stack) { return s }
        stack[top].kind = .implied
        if let s = checkExpr(sym.implied.expr, &stack) { return s }
        stack[top].kind = .none
        for prop in sym.properties where prop.type != .select && prop.type != .imply {
            stack[top].prop = prop
            if let s = checkExpr(prop.visibleExpr, &stack) { return s }
            if prop.type != .default || sym.isChoice { continue }
            stack[top].kind = .value
            if let s = checkExpr(prop.expr, &stack) { return s }
            stack[top].kind = .none
        }
        return nil
    }

    private func checkChoiceDeps(_ choice: Symbol, _ stack: inout [DepFrame]) -> Symbol? {
        stack.append(DepFrame(sym: choice))
        defer { stack.removeLast() }
        guard let choiceMenu = choice.menus.first else { return nil }
        choiceChecks += 1
        defer { choiceChecks -= 1 }
        let members = subEntries(choiceMenu).compactMap(\.symbol)
        for m in members {
            m.checking = true
            m.checked = true
        }
        choice.checking = true
        choice.checked = true
        var found = checkSymbolDeps(choice, &stack)
        choice.checking = false
        if found == nil {
            for m in members {
                found = checkSymbolDeps(m, &stack)
                if found != nil { break }
            }
        }
        for m in members { m.checking = false }
        if let f = found, self.choiceMenu(of: f) == choiceMenu { found = choice }
        return found
    }

    /// `sym_check_deps()`: the symbol that closes a dependency loop, or nil.
    func checkDeps(_ sym: Symbol, _ stack: inout [DepFrame]) -> Symbol? {
        if sym.checking {
            printRecursive(sym, &stack)
            return sym
        }
        if sym.checked { return nil }
        if let choice = choiceMenu(of: sym), let cs = choice.symbol {
            stack.append(DepFrame(sym: sym))
            defer { stack.removeLast() }
            return checkDeps(cs, &stack)
        }
        if sym.isChoice { return checkChoiceDeps(sym, &stack) }
        sym.checking = true
        sym.checked = true
        let found = checkSymbolDeps(sym, &stack)
        sym.checking = false
        return found
    }

    /// The checks `conf_parse()` runs after `menu_finalize()`; returns the error count.
    func checkAfterParse() -> Int {
        var errors = 0
        var stack: [DepFrame] = []
        for menu in subEntries(rootMenu) {
            if let sym = menu.symbol, checkDeps(sym, &stack) != nil { errors += 1 }
            if let sym = menu.symbol, sym.isTransitional {
                // transitional_check_sanity(): only help is allowed.
                if menu.dep != nil || menu.visibility != nil {
                    report("\(menu.file):\(menu.line): error: transitional symbols can only have help sections\n")
                    errors += 1
                } else if let prop = sym.properties.first(where: { $0.type != .comment }) {
                    report("\(prop.file):\(prop.line): error: transitional symbols can only have help sections\n")
                    errors += 1
                }
            }
            if let sym = menu.symbol, sym.isChoice {
                for child in subEntries(menu) {
                    guard let cs = child.symbol else { continue }
                    for prop in cs.properties {
                        if prop.type == .default {
                            report("\(prop.file):\(prop.line): error: defaults for choice values not supported\n")
                            errors += 1
                        }
                        guard prop.menu != child && prop.type == .prompt else { continue }
                        switch choicePromptRule {
                        case .anotherEntry:
                            report("\(prop.file):\(prop.line): error: choice value must not have a prompt in another entry\n")
                            errors += 1
                        case .outsideGroup where prop.menu.parent != child.parent:
                            report("\(prop.file):\(prop.line): error: choice value has a prompt outside its choice group\n")
                            errors += 1
                        case .outsideGroup:
                            break
                        }
                    }
                }
            }
        }
        return errors
    }
}
