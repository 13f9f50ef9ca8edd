import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// A recursive-descent port of `scripts/kconfig/parser.y` (7.2 grammar, which also
/// accepts 6.12 trees), building the menu tree and symbol table as `menu.c` does.
final class Parser {
    let lexer: Lexer
    let tree: KconfigTree
    private var lookahead: Token?
    private var currentEntry: Menu
    private var currentMenu: Menu
    private var currentChoice: Menu?
    private(set) var errors = 0
    let readFile: (String) throws(KernelKitError) -> [UInt8]

    init(lexer: Lexer, tree: KconfigTree, readFile: @escaping (String) throws(KernelKitError) -> [UInt8]) {
        self.lexer = lexer
        self.tree = tree
        self.currentEntry = tree.rootMenu
        self.currentMenu = tree.rootMenu
        self.readFile = readFile
    }

    // MARK: tokens

    private func peek() throws -> Token {
        if let t = lookahead { return t }
        let t = try lexer.next()
        lookahead = t
        return t
    }

    private func take() throws -> Token {
        let t = try peek()
        lookahead = nil
        return t
    }

    private var file: String { lexer.filename }
    private var line: Int { lexer.statementLine }

    private func error(_ message: String) {
        errors += 1
        tree.stderr("\(file):\(line): \(message)\n")
    }

    /// Thrown after bison-style error recovery: unwinds to the enclosing statement list,
    /// as the grammar's `stmt_list error T_EOL` rules do.
    struct Recovered: Error {}
    /// Thrown when the input ends inside a menu, choice or if block.
    struct Aborted: Error {}

    /// A syntax error: bison's "syntax error" (yyerror), then the message of the error
    /// rule that recovers ("invalid statement", or `unknown statement "X"`), then the rest
    /// of the statement is skipped up to its end of line.
    private func recover(_ ruleMessage: String = "invalid statement") throws -> Never {
        error("syntax error")
        while true {
            let t = try peek()
            if t == .eof { throw Aborted() }
            lookahead = nil
            if t == .eol { break }
        }
        error(ruleMessage)
        throw Recovered()
    }

    private func expectEOL() throws {
        let t = try peek()
        if t == .eol {
            lookahead = nil
            return
        }
        if t == .eof {
            // The last statement of the top file has no newline: bison wanted T_EOL.
            error("syntax error")
            throw Aborted()
        }
        try recover()
    }

    /// A word naming a symbol (parser.y's `nonconst_symbol`), looked up as the rule is
    /// reduced, before the tokens after it are read.
    private func symbolWord() throws -> Symbol? {
        guard try peek() == .word else { return nil }
        lookahead = nil
        return lexer.withText { tree.lookup(bytes: $0) }
    }

    private func quoted() throws -> String? {
        if try peek() == .wordQuote {
            lookahead = nil
            return lexer.text
        }
        return nil
    }

    // MARK: menu building (menu.c)

    private func addEntry(_ symbol: Symbol?, _ type: MenuType) {
        let menu = Menu(in: tree.menuArena, type: type, symbol: symbol, parent: currentMenu, file: file, line: line)
        currentMenu.children.append(menu)
        currentEntry = menu
        symbol?.menus.append(menu)
    }

    private func beginChildren() -> Menu {
        currentMenu = currentEntry
        return currentMenu
    }

    private func endChildren() {
        currentMenu = currentMenu.parent ?? tree.rootMenu
    }

    private func addProperty(_ type: PropertyType, _ expr: Expr?, _ dep: Expr?) -> Property {
        let prop = Property(in: tree.propertyArena, type: type, expr: expr, visible: dep, menu: currentEntry,
                            file: file, line: line)
        currentEntry.symbol?.properties.append(prop)
        return prop
    }

    private func addPrompt(_ type: PropertyType, _ text: String, _ dep: Expr?) {
        let prop = addProperty(type, nil, dep)
        // menu_add_prompt(): `while (isspace(*prompt)) prompt++`, isspace() of the C
        // locale: space, \t, \n, \v, \f, \r (not Unicode's wider class).
        func isCSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
        var text = Substring(text)
        if let first = text.utf8.first, isCSpace(first) {
            warn(prop, "leading whitespace ignored")
            text = Substring(text.utf8.drop(while: isCSpace))
        }
        if currentEntry.prompt != nil { warn(prop, "prompt redefined") }
        if type == .prompt {
            var m = currentEntry.parent
            while let menu = m {
                if let v = menu.visibility { prop.visibleExpr = tree.arena.and(prop.visibleExpr, v) }
                m = menu.parent
            }
        }
        currentEntry.prompt = prop
        prop.text = String(text)
    }

    private func warn(_ prop: Property, _ message: String) {
        tree.stderr("\(prop.file):\(prop.line):warning: \(message)\n")
    }

    private func setType(_ type: SymbolType) {
        guard let sym = currentEntry.symbol else { return }
        if sym.type == type { return }
        if sym.type == .unknown {
            sym.type = type
            return
        }
        tree.stderr("\(currentEntry.file):\(currentEntry.line):warning: ignoring type redefinition of '\(sym.name ?? "<choice>")' from '\(sym.type.name)' to '\(type.name)'\n")
    }

    /// `expr_trans_compare(cond, E_EQUAL, &symbol_no)`, as `menu_add_dep()` uses it for
    /// `depends on X if COND`.
    static func isNo(_ e: Expr, _ tree: KconfigTree) -> Expr {
        transCompare(e, equal: true, tree.symbolNo, tree)
    }

    /// `expr_trans_compare()` in `scripts/kconfig/expr.c`, reproduced structurally: it is
    /// not value-preserving for tristates (`!A = n` becomes `A != n`, true for A = m), and
    /// conf's results depend on exactly this form.
    static func transCompare(_ e: Expr, equal: Bool, _ sym: Symbol, _ tree: KconfigTree) -> Expr {
        let e = e.unwrapped
        switch e.node {
        case .and(let a, let b), .or(let a, let b):
            let e1 = transCompare(a, equal: true, sym, tree), e2 = transCompare(b, equal: true, sym, tree)
            var isAnd = false
            if case .and = e.node { isAnd = true }
            var r: Expr
            if sym == tree.symbolYes {
                r = isAnd ? tree.arena.and(e1, e2) : tree.arena.or(e1, e2)
            } else if sym == tree.symbolNo {
                r = isAnd ? tree.arena.or(e1, e2) : tree.arena.and(e1, e2)
            } else {
                r = e
            }
            if !equal { r = tree.arena.not(r) }
            return r
        case .not(let a):
            return transCompare(a, equal: !equal, sym, tree)
        case .compare:
            if equal {
                if sym == tree.symbolYes { return e }
                if sym == tree.symbolMod { return tree.arena.symbol(tree.symbolNo) }
                return tree.arena.not(e)
            }
            if sym == tree.symbolYes { return tree.arena.not(e) }
            if sym == tree.symbolMod { return tree.arena.symbol(tree.symbolYes) }
            return e
        case .symbol(let s):
            return tree.arena.compare(equal ? .equal : .unequal, s, sym)
        case .range, .cached:
            return e
        }
    }

    // MARK: grammar

    func parseInput() throws {
        if try peek() == .mainmenu {
            lookahead = nil
            do {
                guard let text = try quoted() else { try recover() }
                addPrompt(.menu, text, nil)
                try expectEOL()
            } catch is Recovered {}
        }
        do {
            try statements(inChoice: false, end: nil)
        } catch is Aborted {
            errors += 1
        }
    }

    /// stmt_list / stmt_list_in_choice, until `end` (or end of input).
    private func statements(inChoice: Bool, end: Token?) throws {
        while true {
            do {
                let t = try peek()
                switch t {
                case .eof:
                    if end != nil {
                        // bison: a syntax error at the end of input, then the destructor
                        // of every open block ("missing end statement for this entry").
                        error("syntax error")
                        throw Aborted()
                    }
                    return
                case .endmenu, .endchoice, .endif:
                    if end != nil { return }
                    try recover()
                case .config: try configStatement(menuconfig: false)
                case .comment: try commentStatement()
                case .if: try ifStatement(inChoice: inChoice)
                case .menuconfig where !inChoice: try configStatement(menuconfig: true)
                case .choice where !inChoice: try choiceStatement()
                case .menu where !inChoice: try menuStatement()
                case .source where !inChoice: try sourceStatement()
                case .word where !inChoice:
                    let name = lexer.text
                    lookahead = nil
                    let flavor: Preprocessor.Flavor
                    switch try peek() {
                    case .equal: flavor = .recursive
                    case .colonEqual: flavor = .simple
                    case .plusEqual: flavor = .append
                    default: try recover("unknown statement \"\(name)\"")
                    }
                    lookahead = nil
                    var value = ""
                    if try peek() == .assignVal {
                        value = lexer.text
                        lookahead = nil
                    }
                    do {
                        try tree.preprocessor.add(name: name, value: value, flavor: flavor)
                    } catch let failure as Preprocessor.Failure {
                        throw KernelKitError(.kconfig, failure.message + "\n")
                    }
                    try expectEOL()
                default:
                    try recover()
                }
            } catch is Recovered {
                continue
            }
        }
    }

    /// Runs a block's body; if the input ends inside it, reports the block as bison's
    /// %destructor does and passes the abort on.
    private func block(_ entry: Menu, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch is Aborted {
            tree.stderr("\(entry.file):\(entry.line): missing end statement for this entry\n")
            throw Aborted()
        }
    }

    private func endStatement(_ expected: Token, _ name: String, opened: Menu) throws -> Bool {
        let t = try take()
        let found: String = switch t {
        case .endmenu: "menu"
        case .endchoice: "choice"
        case .endif: "if"
        default: "?"
        }
        try expectEOL()
        if t != expected {
            error("unexpected '\(found)' within \(name) block")
            return false
        }
        if opened.file != file {
            error("'\(found)' in different file than '\(name)'")
            tree.stderr("\(opened.file):\(opened.line): location of the '\(name)'\n")
            return false
        }
        return true
    }

    private func configStatement(menuconfig: Bool) throws {
        lookahead = nil
        guard let symbol = try symbolWord() else { try recover() }
        try expectEOL()
        addEntry(symbol, menuconfig ? .menu : .normal)
        try configOptions()
        let entry = currentEntry
        if menuconfig {
            if let prompt = entry.prompt { prompt.type = .menu } else { error("menuconfig statement without prompt") }
        }
        if let choice = currentChoice, let sym = entry.symbol {
            if entry.prompt == nil {
                tree.stderr("\(entry.file):\(entry.line): error: choice member must have a prompt\n")
                errors += 1
            }
            if sym.type != .boolean {
                tree.stderr("\(entry.file):\(entry.line): error: choice member must be bool\n")
                errors += 1
            }
            if !sym.isChoiceMember {
                sym.isChoiceMember = true
                choice.choiceMembers.append(sym)
            }
        }
    }

    private func ifExpr() throws -> Expr? {
        if try peek() == .if {
            lookahead = nil
            return try expression()
        }
        return nil
    }

    private func configOptions() throws {
        while true {
            switch try peek() {
            case .bool, .tristate, .int, .hex, .string:
                let t = try take()
                let type: SymbolType = switch t {
                case .bool: .boolean
                case .tristate: .tristate
                case .int: .int
                case .hex: .hex
                default: .string
                }
                if let text = try quoted() { addPrompt(.prompt, text, try ifExpr()) }
                try expectEOL()
                setType(type)
            case .prompt:
                lookahead = nil
                guard let text = try quoted() else { try recover() }
                addPrompt(.prompt, text, try ifExpr())
                try expectEOL()
            case .transitional:
                lookahead = nil
                try expectEOL()
                currentEntry.symbol?.isTransitional = true
            case .default, .defBool, .defTristate:
                let t = try take()
                let e = try expression()
                _ = addProperty(.default, e, try ifExpr())
                if t == .defBool { setType(.boolean) }
                if t == .defTristate { setType(.tristate) }
                try expectEOL()
            case .select, .imply:
                let t = try take()
                guard let symbol = try symbolWord() else { try recover() }
                _ = addProperty(t == .select ? .select : .imply, tree.arena.symbol(symbol), try ifExpr())
                try expectEOL()
            case .range:
                lookahead = nil
                let a = try symbolOperand(), b = try symbolOperand()
                guard let a, let b else { try recover() }
                _ = addProperty(.range, tree.arena.range(a, b), try ifExpr())
                try expectEOL()
            case .modules:
                lookahead = nil
                try expectEOL()
                if let existing = tree.modulesSymbol {
                    error("symbol '\(currentEntry.symbol?.name ?? "")' redefines option 'modules' already defined by symbol '\(existing.name ?? "")'")
                }
                tree.modulesSymbol = currentEntry.symbol
            case .depends: try dependsOn()
            case .help: try helpOption()
            default: return
            }
        }
    }

    private func dependsOn() throws {
        lookahead = nil
        guard try peek() == .on else { try recover() }
        lookahead = nil
        let e = try expression()
        let condition = try ifExpr()
        try expectEOL()
        guard let e else { return }
        var dep = e
        if let condition { dep = tree.arena.or(e, Self.isNo(condition, tree)) }
        currentEntry.dep = tree.arena.and(currentEntry.dep, dep)
    }

    private func helpOption() throws {
        lookahead = nil
        guard try peek() == .eol else { try recover() }
        lookahead = nil
        lexer.startHelp()
        guard try take() == .helpText, let help = lexer.help else { return }
        let name = currentEntry.symbol?.name ?? "<choice>"
        if currentEntry.helpSource != nil { error("'\(name)' defined with more than one help text") }
        if help.isBlank {
            error("'\(name)' defined with blank help text")
        }
        currentEntry.helpSource = help
    }

    private func choiceStatement() throws {
        lookahead = nil
        try expectEOL()
        let sym = tree.newChoiceSymbol()
        addEntry(sym, .choice)
        setType(.boolean)
        let entry = currentEntry
        choiceOptions: while true {
            switch try peek() {
            case .prompt, .bool:
                lookahead = nil
                guard let text = try quoted() else {
                    // 6.12 also accepts a bare `bool` in a choice.
                    try expectEOL()
                    continue
                }
                addPrompt(.prompt, text, try ifExpr())
                try expectEOL()
            case .default:
                lookahead = nil
                guard let symbol = try symbolWord() else { try recover() }
                _ = addProperty(.default, tree.arena.symbol(symbol), try ifExpr())
                try expectEOL()
            case .depends: try dependsOn()
            case .help: try helpOption()
            default: break choiceOptions
            }
        }
        if entry.prompt == nil {
            tree.stderr("\(entry.file):\(entry.line): error: choice must have a prompt\n")
            errors += 1
        }
        let opened = beginChildren()
        let saved = currentChoice
        currentChoice = entry
        try block(entry) { try statements(inChoice: true, end: .endchoice) }
        currentChoice = saved
        if try endStatement(.endchoice, "choice", opened: opened) { endChildren() }
    }

    private func ifStatement(inChoice: Bool) throws {
        lookahead = nil
        let e = try expression()
        try expectEOL()
        addEntry(nil, .if)
        if let e { currentEntry.dep = tree.arena.and(currentEntry.dep, e) }
        let opened = beginChildren()
        try block(opened) { try statements(inChoice: inChoice, end: .endif) }
        if try endStatement(.endif, "if", opened: opened) { endChildren() }
    }

    private func menuStatement() throws {
        lookahead = nil
        guard let text = try quoted() else { try recover() }
        try expectEOL()
        addEntry(nil, .menu)
        addPrompt(.menu, text, nil)
        menuOptions: while true {
            switch try peek() {
            case .visible:
                lookahead = nil
                let e = try ifExpr()
                try expectEOL()
                currentEntry.visibility = tree.arena.and(currentEntry.visibility, e)
            case .depends: try dependsOn()
            default: break menuOptions
            }
        }
        let opened = beginChildren()
        try block(opened) { try statements(inChoice: false, end: .endmenu) }
        if try endStatement(.endmenu, "menu", opened: opened) { endChildren() }
    }

    private func commentStatement() throws {
        lookahead = nil
        guard let text = try quoted() else { try recover() }
        try expectEOL()
        addEntry(nil, .comment)
        addPrompt(.comment, text, nil)
        while try peek() == .depends { try dependsOn() }
    }

    private func sourceStatement() throws {
        lookahead = nil
        guard let name = try quoted() else { try recover() }
        // The EOL is consumed without reading ahead: the next token comes from the new file.
        if try peek() != .eol { try recover() }
        lookahead = nil
        let bytes: [UInt8]
        do {
            bytes = try readFile(name)
        } catch {
            throw KernelKitError(.kconfig, "\(file):\(line): can't open file \"\(name)\"\n", underlying: error)
        }
        try lexer.pushFile(name, bytes: bytes)
    }

    // MARK: expressions

    private func symbolOperand() throws -> Symbol? {
        switch try peek() {
        case .word:
            return try symbolWord()
        case .wordQuote:
            lookahead = nil
            return lexer.withText { tree.lookup(bytes: $0, const: true) }
        default:
            return nil
        }
    }

    func expression() throws -> Expr? {
        guard var left = try andExpression() else { return nil }
        while try peek() == .or {
            lookahead = nil
            guard let right = try andExpression() else { return nil }
            left = tree.arena.or(left, right)
        }
        return left
    }

    private func andExpression() throws -> Expr? {
        guard var left = try unary() else { return nil }
        while try peek() == .and {
            lookahead = nil
            guard let right = try unary() else { return nil }
            left = tree.arena.and(left, right)
        }
        return left
    }

    private func unary() throws -> Expr? {
        switch try peek() {
        case .not:
            lookahead = nil
            return try unary().map { tree.arena.not($0) }
        case .openParen:
            lookahead = nil
            let e = try expression()
            guard try peek() == .closeParen else { try recover() }
            lookahead = nil
            return e
        default:
            guard let a = try symbolOperand() else { try recover() }
            let op: Expr.Comparison? = switch try peek() {
            case .equal: .equal
            case .unequal: .unequal
            case .less: .less
            case .lessEqual: .lessEqual
            case .greater: .greater
            case .greaterEqual: .greaterEqual
            default: nil
            }
            guard let op else { return tree.arena.symbol(a) }
            lookahead = nil
            guard let b = try symbolOperand() else { try recover() }
            return tree.arena.compare(op, a, b)
        }
    }
}
