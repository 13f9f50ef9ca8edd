/// The line-oriented questions of `make oldconfig` and `make oldaskconfig`, ported from
/// `conf()`, `conf_sym()`, `conf_string()`, `conf_choice()` and `check_conf()` in
/// `scripts/kconfig/conf.c`: the same prompts, the same answers accepted, and, when
/// standard input is not a terminal, the same echo of each answer.
final class InteractiveConf {
    enum Mode { case oldaskconfig, oldconfig }

    let tree: KconfigTree
    var mode: Mode
    /// The next answer line (with its newline), nil at end of input.
    private let answers: () -> String?
    private let inputIsTerminal: Bool
    /// Called with each piece of output as it is produced, for a live terminal session.
    var echo: ((String) -> Void)?
    private var indent = 1
    private var line = ""
    private var rootEntry: Menu?
    private var restarts = 0
    private(set) var output = ""

    init(tree: KconfigTree, mode: Mode, answers: @escaping () -> String?, inputIsTerminal: Bool = false) {
        self.tree = tree
        self.mode = mode
        self.answers = answers
        self.inputIsTerminal = inputIsTerminal
    }

    /// Answers taken from a buffer, line by line.
    convenience init(tree: KconfigTree, mode: Mode, input: [UInt8]) {
        var position = 0
        self.init(tree: tree, mode: mode, answers: {
            guard position < input.count else { return nil }
            var end = position
            while end < input.count && input[end] != 0x0A { end += 1 }
            if end < input.count { end += 1 }
            defer { position = end }
            return String(decoding: input[position..<end], as: UTF8.self)
        })
    }

    private func out(_ s: String) {
        output += s
        echo?(s)
    }
    private func spaces(_ n: Int) -> String { n > 0 ? String(repeating: " ", count: n) : "" }
    /// printf("%*c", n, c): the character right-aligned in a field of n.
    private func padded(_ c: Character, _ n: Int) -> String { spaces(n - 1) + String(c) }

    /// `xfgets()`: one line of input, echoed when input is not a terminal.
    private func readLine() {
        if let next = answers() {
            line = next
        } else {
            tree.stderr("\nError in reading or end of file.\n")
        }
        if !inputIsTerminal { out(line) }
    }

    private static func strip(_ s: String) -> String {
        String(s.drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
    }

    /// `conf_askvalue()`: false when nothing is asked (the default stands).
    private func askValue(_ sym: Symbol, _ def: String?) -> Bool {
        if !sym.hasUserValue { out("(NEW) ") }
        line = "\n"
        if !tree.isChangeable(sym) {
            out((def ?? "") + "\n")
            return false
        }
        if mode == .oldconfig && sym.hasUserValue {
            out((def ?? "") + "\n")
            return false
        }
        readLine()
        return true
    }

    /// `print_help()`: the entry's help screen, as menuconfig shows it.
    private func printHelp(_ menu: Menu) {
        out("\n" + tree.extendedHelp(menu) + "\n")
    }

    private func confSym(_ menu: Menu) {
        guard let sym = menu.symbol else { return }
        while true {
            var prompt = spaces(indent - 1) + (menu.prompt?.text ?? "") + " "
            if let name = sym.name { prompt += "(\(name)) " }
            prompt += "["
            let oldval = sym.currTri
            prompt += oldval == .no ? "N" : oldval == .module ? "M" : "Y"
            if oldval != .no && tree.tristateWithinRange(sym, .no) { prompt += "/n" }
            if oldval != .module && tree.tristateWithinRange(sym, .module) { prompt += "/m" }
            if oldval != .yes && tree.tristateWithinRange(sym, .yes) { prompt += "/y" }
            prompt += "/?] "
            out(prompt)
            if !askValue(sym, sym.stringValue) { return }
            let answer = Self.strip(line)
            var newval: Tristate
            switch answer.first {
            case "n", "N":
                guard answer.count == 1 || answer.dropFirst() == "o" else { continue }
                newval = .no
            case "m", "M":
                guard answer.count == 1 else { continue }
                newval = .module
            case "y", "Y":
                guard answer.count == 1 || answer.dropFirst() == "es" else { continue }
                newval = .yes
            case nil:
                newval = oldval
            case "?":
                printHelp(menu)
                continue
            default:
                continue
            }
            if tree.setTristateValue(sym, newval) { return }
            printHelp(menu)
        }
    }

    private func confString(_ menu: Menu) {
        guard let sym = menu.symbol else { return }
        while true {
            out(spaces(indent - 1) + (menu.prompt?.text ?? "") + " (\(sym.name ?? "")) ")
            var def: String? = sym.stringValue
            out("[\(def ?? "")] ")
            if !askValue(sym, def) { return }
            switch line.first {
            case "\n": break
            case "?" where line.dropFirst().first == "\n":
                printHelp(menu)
                def = nil
            default:
                def = String(line.dropLast())
            }
            if let def, tree.setStringValue(sym, def) { return }
        }
    }

    private func confChoice(_ menu: Menu) {
        var isNew = false
        while true {
            out(spaces(indent - 1) + (menu.prompt?.text ?? "") + "\n")
            let defSym = tree.calcChoice(menu)
            var cnt = 0, def = 0
            line = ""
            for child in menu.children {
                if !tree.isVisible(child) { continue }
                guard let cs = child.symbol else {
                    out(padded("*", indent) + " " + (child.prompt?.text ?? "") + "\n")
                    continue
                }
                cnt += 1
                if cs == defSym {
                    def = cnt
                    out(padded(">", indent))
                } else {
                    out(padded(" ", indent))
                }
                out(" \(cnt). \(child.prompt?.text ?? "") (\(cs.name ?? ""))")
                if !cs.hasUserValue {
                    isNew = true
                    out(" (NEW)")
                }
                out("\n")
            }
            out(spaces(indent - 1) + "choice")
            if cnt == 1 {
                out("[1]: 1\n")
            } else {
                out("[1-\(cnt)?]: ")
                if mode == .oldconfig && !isNew {
                    cnt = def
                    out("\(cnt)\n")
                } else {
                    readLine()
                    let answer = Self.strip(line)
                    line = answer
                    if answer.first == "?" {
                        printHelp(menu)
                        continue
                    }
                    if answer.isEmpty {
                        cnt = def
                    } else if let first = answer.first, first.isNumber {
                        cnt = Int(answer.prefix(while: { $0.isNumber })) ?? 0
                    } else {
                        continue
                    }
                }
            }
            var chosen: Menu? = nil
            for child in menu.children where child.symbol != nil && tree.isVisible(child) {
                cnt -= 1
                if cnt == 0 {
                    chosen = child
                    break
                }
            }
            guard let chosen, let sym = chosen.symbol else { continue }
            if line.hasSuffix("?") {
                printHelp(chosen)
                continue
            }
            tree.setChoiceValue(menu, sym)
            return
        }
    }

    /// `conf()`.
    func conf(_ menu: Menu) {
        if !tree.isVisible(menu) { return }
        let sym = menu.symbol
        if let prop = menu.prompt {
            switch prop.type {
            case .menu where mode != .oldaskconfig && rootEntry != menu:
                checkConf(menu)
                return
            case .menu, .comment:
                if let text = prop.text {
                    out(padded("*", indent) + "\n" + padded("*", indent) + " " + text + "\n" + padded("*", indent) + "\n")
                }
            default:
                break
            }
        }
        if let sym {
            if sym.isChoice {
                confChoice(menu)
                return
            }
            switch sym.type {
            case .int, .hex, .string: confString(menu)
            default: confSym(menu)
            }
            indent += 2
        }
        for child in menu.children { conf(child) }
        if sym != nil { indent -= 2 }
    }

    /// `check_conf()` in the asking modes.
    func checkConf(_ menu: Menu) {
        if !tree.isVisible(menu) { return }
        if let sym = menu.symbol, !sym.hasUserValue, tree.isChangeable(sym) {
            if restarts == 0 { out("*\n* Restart config...\n*\n") }
            restarts += 1
            rootEntry = tree.menuOrParentMenu(menu)
            conf(rootEntry!)
        }
        for child in menu.children { checkConf(child) }
    }

    /// What conf's main() does for --oldaskconfig and --oldconfig.
    func run() {
        if mode == .oldaskconfig {
            rootEntry = tree.rootMenu
            conf(tree.rootMenu)
            mode = .oldconfig
        }
        repeat {
            restarts = 0
            checkConf(tree.rootMenu)
        } while restarts > 0
    }
}

extension KconfigTree {
    /// `sym_tristate_within_range()`.
    func tristateWithinRange(_ sym: Symbol, _ val: Tristate) -> Bool {
        let type = effectiveType(sym)
        if sym.visible == .no { return false }
        if type != .boolean && type != .tristate { return false }
        if type == .boolean && val == .module { return false }
        if sym.visible <= sym.revDep.tri { return false }
        return val >= sym.revDep.tri && val <= sym.visible
    }

    /// `sym_set_tristate_value()`.
    func setTristateValue(_ sym: Symbol, _ val: Tristate) -> Bool {
        let old = sym.currTri
        if !tristateWithinRange(sym, val) { return false }
        sym.userTri = val
        sym.hasUserValue = true
        if old != val { clearAllValid() }
        return true
    }

    /// `sym_set_string_value()`.
    func setStringValue(_ sym: Symbol, _ value: String) -> Bool {
        switch sym.type {
        case .boolean, .tristate:
            switch value.first {
            case "y", "Y": return setTristateValue(sym, .yes)
            case "m", "M": return setTristateValue(sym, .module)
            case "n", "N": return setTristateValue(sym, .no)
            default: return false
            }
        default: break
        }
        guard Self.stringValid(sym.type, value) else { return false }
        if sym.type == .int || sym.type == .hex, let prop = sym.properties.first(where: {
            $0.type == .range && { p in p.visibleTri = self.value(p.visibleExpr); return p.visibleTri != .no }($0)
        }), case .range(let lo, let hi) = prop.expr?.node {
            let base = sym.type == .int ? 10 : 16
            let v = Self.strtoll(value, base: base)
            calcValue(lo)
            calcValue(hi)
            let l = Self.strtoll(lo.currVal, base: lo.type == .int ? 10 : lo.type == .hex ? 16 : base)
            let h = Self.strtoll(hi.currVal, base: hi.type == .int ? 10 : hi.type == .hex ? 16 : base)
            if v < l || v > h { return false }
        }
        var newValue = value
        if sym.type == .hex && !(value.hasPrefix("0x") || value.hasPrefix("0X")) { newValue = "0x" + value }
        if sym.hasUserValue && sym.userVal == newValue { return true }
        sym.hasUserValue = true
        sym.userVal = newValue
        clearAllValid()
        return true
    }

    /// `choice_set_value()`.
    func setChoiceValue(_ choice: Menu, _ sym: Symbol) {
        var changed = false
        for menu in subEntries(choice) {
            guard let s = menu.symbol, s.visible != .no else { continue }
            let val: Tristate = s == sym ? .yes : .no
            if s.currTri != val { changed = true }
            s.userTri = val
            s.hasUserValue = true
            if let i = choice.choiceMembers.firstIndex(where: { $0 == s }) {
                choice.choiceMembers.remove(at: i)
                choice.choiceMembers.insert(s, at: 0)
            }
        }
        if changed { clearAllValid() }
    }

    /// `menu_get_menu_or_parent_menu()`.
    func menuOrParentMenu(_ menu: Menu) -> Menu {
        var m = menu
        while m != rootMenu {
            if m.prompt?.type == .menu { break }
            guard let p = m.parent else { break }
            m = p
        }
        return m
    }
}
