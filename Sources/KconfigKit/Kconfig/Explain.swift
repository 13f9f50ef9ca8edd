/// Explaining a symbol: what it is (`show`) and why it has its value (`why`).
extension KconfigTree {
    /// The menu path of a menu entry: the prompts of the menus above it.
    func menuPath(_ menu: Menu) -> [String] {
        var path = [String]()
        var m = menu.parent
        while let p = m, p != rootMenu {
            if let text = p.prompt?.text { path.insert(text, at: 0) }
            m = p.parent
        }
        return path
    }

    /// `kernelkit config show`: type, prompts, definitions, dependencies, selects, help.
    public func describe(_ name: String) -> String? {
        guard let sym = symbol(named: name), !sym.menus.isEmpty else { return nil }
        calcValue(sym)
        var out = "Symbol: \(name) [=\(sym.stringValue)]\nType  : \(sym.type.name)\n"
        if sym.isTransitional { out += "Transitional: its old value is read and moved to its successor, never written\n" }
        for menu in sym.menus {
            out += "Defined at \(menu.file):\(menu.line)\n"
            if let prompt = menu.prompt, let text = prompt.text {
                out += "  Prompt: \(text)\n"
            }
            if let dep = menu.dep { out += "  Depends on: \(ExprPrinter.string(dep))\n" }
            let path = menuPath(menu)
            if !path.isEmpty { out += "  Location: " + path.joined(separator: " > ") + "\n" }
        }
        for (type, title) in [(PropertyType.default, "Default"), (.select, "Selects"), (.imply, "Implies"), (.range, "Range")] {
            for prop in sym.properties where prop.type == type {
                var line = "\(title): \(ExprPrinter.string(prop.expr))"
                if let cond = prop.menu.dep.map({ _ in prop.visibleExpr }) ?? prop.visibleExpr {
                    line += " if \(ExprPrinter.string(cond))"
                }
                out += line + "  (\(prop.file):\(prop.line))\n"
            }
        }
        out += ExprPrinter.reverseDependencies(sym.revDep.expr, value: .yes, title: "Selected by [y]:\n", tree: self)
        out += ExprPrinter.reverseDependencies(sym.revDep.expr, value: .module, title: "Selected by [m]:\n", tree: self)
        out += ExprPrinter.reverseDependencies(sym.implied.expr, value: .yes, title: "Implied by [y]:\n", tree: self)
        if let help = sym.menus.compactMap(\.help).first {
            out += "\n" + help + (help.hasSuffix("\n") ? "" : "\n")
        }
        return out
    }

    /// Where a symbol's current value comes from.
    public enum Origin: Sendable, Equatable {
        case user(file: String, line: Int)
        case defaultValue(file: String, line: Int)
        case selected(by: [String])
        case implied(by: [String])
        case choice(file: String, line: Int)
        case noPrompt
        case notVisible
        case unset
    }

    func origin(of sym: Symbol) -> Origin {
        calcValue(sym)
        if let choice = choiceMenu(of: sym) { return .choice(file: choice.file, line: choice.line) }
        if sym.revDep.tri != .no && sym.revDep.tri >= sym.currTri && (sym.type == .boolean || sym.type == .tristate) {
            return .selected(by: activeTerms(sym.revDep.expr))
        }
        if sym.visible != .no, sym.hasUserValue, let (f, l) = sym.userLocation { return .user(file: f, line: l) }
        if sym.implied.tri != .no && sym.implied.tri == sym.currTri { return .implied(by: activeTerms(sym.implied.expr)) }
        if let prop = sym.properties.first(where: { $0.type == .default && value($0.visibleExpr) != .no }),
           sym.currTri != .no || !(sym.type == .boolean || sym.type == .tristate) {
            return .defaultValue(file: prop.file, line: prop.line)
        }
        if sym.properties.contains(where: { $0.text != nil }) && sym.visible == .no { return .notVisible }
        if !sym.properties.contains(where: { $0.text != nil }) { return .noPrompt }
        return .unset
    }

    /// The symbols whose `select`/`imply` terms are currently true.
    private func activeTerms(_ e: Expr?) -> [String] {
        var out = [String]()
        func walk(_ e: Expr) {
            if case .or(let a, let b) = e.unwrapped.node { walk(a); walk(b); return }
            if value(e) != .no, case .and(let s, _) = e.unwrapped.node, case .symbol(let sym) = s.unwrapped.node, let n = sym.name { out.append(n) }
        }
        if let e { walk(e) }
        return out
    }

    /// The symbols in a dependency that are n (or below `need`) and so hold it down:
    /// for `A && B` every blocking side, for `A || B` both sides (either would do).
    func blockers(_ e: Expr?, need: Tristate = .yes) -> [Symbol] {
        guard let e, value(e) < need else { return [] }
        switch e.unwrapped.node {
        case .and(let a, let b): return blockers(a, need: need) + blockers(b, need: need)
        case .or(let a, let b): return blockers(a, need: need) + blockers(b, need: need)
        case .symbol(let s) where !s.isConst && s.name != nil: return [s]
        case .compare(_, let l, let r): return [l, r].filter { !$0.isConst && $0.type != .unknown && $0.name != nil }
        case .not, .range, .symbol, .cached: return []
        }
    }

    /// The chain of unmet dependencies below `sym`, as indented lines, down to leaves.
    func unmetChain(_ sym: Symbol, need: Tristate, depth: Int = 0, seen: inout Set<Symbol>) -> [String] {
        guard depth < 12, seen.insert(sym).inserted else { return [] }
        var lines = [String]()
        let dep = sym.dirDep.expr ?? sym.properties.first(where: { $0.text != nil })?.visibleExpr
        var listed = Set<Symbol>()
        for b in blockers(dep, need: need) where listed.insert(b).inserted {
            calcValue(b)
            let site = b.menus.first.map { " (\($0.file):\($0.line))" } ?? " (not defined in this tree)"
            lines.append(String(repeating: "  ", count: depth) + "- \(b.name ?? "<choice>") = \(b.stringValue)\(site)")
            lines += unmetChain(b, need: .yes, depth: depth + 1, seen: &seen)
        }
        return lines
    }
}

/// The answer to `kernelkit config why`.
public struct SymbolExplanation: Sendable {
    public var name: String
    public var value: String
    public var origin: KconfigTree.Origin
    /// The symbol's dependencies with the current values, `FOO [=y] && BAR [=n]`.
    public var dependsOn: String?
    /// Unmet dependencies, one per line, indented by depth.
    public var unmetChain: [String]
    /// The wanted value, when one was asked for.
    public var wanted: String?
    /// A minimal set of `CONFIG_X=value` lines that gives the wanted value.
    public var changes: [String]
    /// True when resolving again with `changes` gave the wanted value.
    public var verified: Bool

    /// The report, as the CLI prints it.
    public func text(prefix: String = "CONFIG_") -> String {
        var out = "\(prefix)\(name)=\(value)\n"
        switch origin {
        case .user(let f, let l): out += "  set by the config: \(f):\(l)\n"
        case .defaultValue(let f, let l): out += "  from its default: \(f):\(l)\n"
        case .selected(let by): out += "  selected by: \(by.map { prefix + $0 }.joined(separator: ", "))\n"
        case .implied(let by): out += "  implied by: \(by.map { prefix + $0 }.joined(separator: ", "))\n"
        case .choice(let f, let l): out += "  chosen in the choice at \(f):\(l)\n"
        case .noPrompt: out += "  has no prompt: only defaults and selects set it\n"
        case .notVisible: out += "  its prompt is hidden: its dependencies are not met\n"
        case .unset: out += "  not set, and nothing selects it\n"
        }
        if let dependsOn { out += "  depends on: \(dependsOn)\n" }
        if !unmetChain.isEmpty {
            out += "Dependencies that hold it below \(wanted ?? "y"):\n" + unmetChain.map { "  " + $0 }.joined(separator: "\n") + "\n"
        }
        if let wanted, wanted != value {
            if changes.isEmpty {
                out += "No change of bool or tristate options found that gives \(prefix)\(name)=\(wanted).\n"
            } else {
                out += "To get \(prefix)\(name)=\(wanted), set:\n" + changes.map { "  " + $0 }.joined(separator: "\n") + "\n"
                out += verified ? "  (verified: resolving again with these gives \(prefix)\(name)=\(wanted))\n"
                                : "  (not verified: resolving again with these does not give \(prefix)\(name)=\(wanted))\n"
            }
        }
        return out
    }
}

extension KconfigTree {
    /// Explains `name` in the config last read (`configBytes`), and when `wanted` is given
    /// finds a minimal set of option changes that gives it, verified by resolving again.
    public func explain(_ name: String, configBytes: [UInt8], configName: String, wanted: String?) -> SymbolExplanation? {
        guard let sym = symbol(named: name), !sym.menus.isEmpty else { return nil }
        readConfig(bytes: configBytes, name: configName)
        calcValue(sym)
        let value = sym.stringValue
        let origin = origin(of: sym)
        var seen = Set<Symbol>()
        let need: Tristate = wanted.flatMap { Tristate($0) } ?? .yes
        let chain = (sym.dirDep.tri < need || sym.visible == .no) ? unmetChain(sym, need: need, seen: &seen) : []
        var explanation = SymbolExplanation(name: name, value: value, origin: origin,
                                            dependsOn: sym.dirDep.expr.map { ExprPrinter.string($0) },
                                            unmetChain: chain, wanted: wanted, changes: [], verified: false)
        guard let wanted, wanted != value else { return explanation }
        // Candidates: the symbol itself, every symbol blocking it (recursively), and for a
        // lower value the active selectors.
        var candidates: [(Symbol, String)] = [(sym, wanted)]
        var visited = Set<Symbol>([sym])
        var queue = [sym]
        while let s = queue.popLast() {
            let dep = s.dirDep.expr ?? s.properties.first(where: { $0.text != nil })?.visibleExpr
            for b in blockers(dep, need: s == sym ? need : .yes)
            where (b.type == .boolean || b.type == .tristate) && visited.insert(b).inserted {
                candidates.append((b, "y"))
                queue.append(b)
            }
        }
        if need < sym.currTri {
            for selector in activeTerms(sym.revDep.expr).compactMap({ symbol(named: $0) }) {
                candidates.append((selector, "n"))
            }
        }
        // Trial resolutions must not add their warnings to what the user sees.
        let quiet = standardError
        defer { standardError = quiet }
        func gives(_ set: [(Symbol, String)]) -> Bool {
            var extra = "\n"
            for (s, v) in set { extra += (v == "n" ? "# \(prefix)\(s.name ?? "") is not set" : "\(prefix)\(s.name ?? "")=\(v)") + "\n" }
            readConfig(bytes: configBytes + Array(extra.utf8), name: configName)
            calcValue(sym)
            return sym.stringValue == wanted
        }
        var chosen = candidates
        if gives(chosen) {
            // Drop each change that is not needed, keeping the result.
            var i = chosen.count - 1
            while i >= 0 {
                var trial = chosen
                trial.remove(at: i)
                if gives(trial) { chosen = trial }
                i -= 1
            }
            explanation.verified = gives(chosen)
        }
        explanation.changes = chosen.map { (s, v) in v == "n" ? "# \(prefix)\(s.name ?? "") is not set" : "\(prefix)\(s.name ?? "")=\(v)" }
        readConfig(bytes: configBytes, name: configName)
        return explanation
    }
}

/// A value a fragment asked for and the resolved config does not have.
public struct DroppedRequest: Sendable {
    public var name: String
    public var requested: String
    /// nil when the symbol does not exist in the tree at all.
    public var actual: String?
    /// The unmet dependencies that hold it back, one per line, indented by depth.
    public var chain: [String]
    /// Its dependencies with the current values, `CC_IS_CLANG [=n] && …`.
    public var dependsOn: String? = nil
    public var exists: Bool { actual != nil }
}

extension KconfigTree {
    /// Reads `configBytes` (a base with fragments merged in) and reports each requested
    /// `(symbol, value)` whose resolved value differs: unknown symbols, and values that
    /// unmet dependencies drop, with the chain of dependencies that holds each back.
    public func droppedRequests(configBytes: [UInt8], configName: String,
                                requests: [(name: String, value: String)]) -> [DroppedRequest] {
        readConfig(bytes: configBytes, name: configName)
        var out = [DroppedRequest]()
        for (name, value) in requests {
            guard let sym = symbol(named: name), !sym.menus.isEmpty else {
                out.append(DroppedRequest(name: name, requested: value, actual: nil, chain: []))
                continue
            }
            calcValue(sym)
            let actual = sym.stringValue
            if actual == value || (value == "n" && actual == "") { continue }
            var seen = Set<Symbol>()
            let need = Tristate(value) ?? .yes
            let chain = (sym.dirDep.tri < need || sym.visible == .no) ? unmetChain(sym, need: need, seen: &seen) : []
            out.append(DroppedRequest(name: name, requested: value, actual: actual, chain: chain,
                                      dependsOn: sym.dirDep.expr.map { ExprPrinter.string($0) }))
        }
        return out
    }
}
