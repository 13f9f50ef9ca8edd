import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// A whole Kconfig tree, parsed and ready to resolve configs as the kernel's `conf`
/// does (`scripts/kconfig/conf.c`, `confdata.c`).
public final class KconfigTree {
    let rootMenu: Menu
    /// Named and choice symbols in creation order (the kernel iterates a hash table).
    var symbols: [Symbol] = []
    private let table = SymbolTable()
    private let constTable = SymbolTable(capacity: 1 << 10)
    /// Every symbol of the tree (``Symbol``), y, m and n included.
    let symbolArena = ChunkArena<Symbol.Record>()
    let symbolYes: Symbol
    let symbolMod: Symbol
    let symbolNo: Symbol
    /// Every expression node of the tree.
    let arena = ExprArena()
    /// Every property of the tree (``Property``).
    let propertyArena = ChunkArena<Property.Record>()
    /// Every menu entry of the tree (``Menu``).
    let menuArena = ChunkArena<Menu.Record>()
    var modulesSymbol: Symbol?
    var modulesValue = Tristate.no
    var dependencyWarnings = 0
    /// How many choice dependency checks are running (DependencyCheck.swift).
    var choiceChecks = 0
    let preprocessor: Preprocessor
    /// Everything conf would print, in order.
    public private(set) var standardOutput = ""
    public internal(set) var standardError = ""
    /// The prefix of written symbols (`CONFIG_`, or the `CONFIG_` environment variable).
    public var prefix = "CONFIG_"
    var changed = true
    var confWarnings = 0
    /// Bumped whenever symbol values are invalidated; cached expression values older
    /// than it are recomputed (`expr_invalidate_all()`).
    var epoch = 0
    /// How strictly choice members with prompts in other entries are checked; it depends
    /// on the tree's own conf (read from its scripts/kconfig/parser.y; the newest by
    /// default). 7.x: "choice value must not have a prompt in another entry"; 6.12 only
    /// rejects prompts outside the choice group, so a member defined twice is fine.
    enum ChoicePromptRule { case anotherEntry, outsideGroup }
    var choicePromptRule = ChoicePromptRule.anotherEntry

    func stderr(_ text: String) { standardError += text }
    /// What the post-parse checks print (``checkAfterParse()``), kept apart from
    /// ``standardError`` so that they can run on a thread of their own.
    var checkReport = ""
    func report(_ text: String) { checkReport += text }
    func stdout(_ text: String) { standardOutput += text }
    func resetOutput(stdout: String, stderr: String) { (standardOutput, standardError) = (stdout, stderr) }

    private init(preprocessor: Preprocessor) {
        self.preprocessor = preprocessor
        symbolYes = Symbol(in: symbolArena, name: "y", isConst: true)
        symbolMod = Symbol(in: symbolArena, name: "m", isConst: true)
        symbolNo = Symbol(in: symbolArena, name: "n", isConst: true)
        rootMenu = Menu(in: menuArena, type: .menu, symbol: nil, parent: nil, file: "", line: 0)
        for (s, t) in [(symbolYes, Tristate.yes), (symbolMod, .module), (symbolNo, .no)] {
            s.type = .tristate
            s.currTri = t
            s.currVal = t.description
            s.valid = true
        }
    }

    /// The constant symbol a one-byte name `y`, `m` or `n` always means (symbol.c's
    /// `sym_lookup()` and `sym_find()` test for them first).
    private func yesModNo(_ name: some Collection<UInt8>) -> Symbol? {
        guard name.count == 1 else { return nil }
        switch name.first {
        case UInt8(ascii: "y"): return symbolYes
        case UInt8(ascii: "m"): return symbolMod
        case UInt8(ascii: "n"): return symbolNo
        default: return nil
        }
    }

    /// `sym_lookup()`, by the name's bytes (the parser's words are not made into Strings
    /// for this; only a new symbol's name is).
    func lookup(bytes name: UnsafeBufferPointer<UInt8>, const: Bool = false) -> Symbol {
        if let s = yesModNo(name) { return s }
        if const {
            if let s = constTable[bytes: name] { return s }
            let s = Symbol(in: symbolArena, name: String(decoding: name, as: UTF8.self), isConst: true)
            constTable.insert(s, named: name)
            symbols.append(s)
            return s
        }
        if let s = table[bytes: name] { return s }
        let s = Symbol(in: symbolArena, name: String(decoding: name, as: UTF8.self))
        table.insert(s, named: name)
        symbols.append(s)
        return s
    }

    func newChoiceSymbol() -> Symbol {
        let s = Symbol(in: symbolArena, name: nil)
        symbols.append(s)
        return s
    }

    /// `sym_find()`: a defined (non-constant) symbol.
    func symbol(named name: String) -> Symbol? {
        yesModNo(name.utf8) ?? table[name]
    }

    /// ``symbol(named:)`` from a name's bytes.
    func symbol(named name: UnsafeBufferPointer<UInt8>) -> Symbol? {
        yesModNo(name) ?? table[bytes: name]
    }

    // MARK: loading

    /// Parses the tree rooted at `kconfig` (relative to `srctree`), as `conf_parse()` does.
    ///
    /// - Parameters:
    ///   - srctree: the kernel source directory; `source` paths and `$(shell,…)` commands
    ///     are relative to it, as when `make` runs conf in-tree.
    ///   - environment: the environment conf sees (see ``KconfigEnvironment``).
    ///   - deferChecks: leave out the dependency-loop and sanity checks that conf runs
    ///     after parsing; the caller runs them with ``alongsideChecks(_:)``.
    ///   - readFile: where the Kconfig files come from, by full path; nil for the file
    ///     system, read ahead of the parser on a second thread (``SourcePrefetch``). The
    ///     fuzz targets give an in-memory tree, so that `source` works there.
    ///
    /// Parsing recurses once per nesting level (conf's own limits: 10,000 for its bison
    /// stack, 1,000 variable expansions), so it runs on a large stack whichever thread
    /// calls it (``PosixThread/onLargeStack(_:)-generic``).
    public static func load(srctree: String, kconfig: String = "Kconfig", environment: [String: String],
                            shell: ((String) -> String)? = nil, parseOnly: Bool = false,
                            deferChecks: Bool = false,
                            readFile: ((String) throws(KernelKitError) -> [UInt8])? = nil)
                            throws(KernelKitError) -> KconfigTree {
        try PosixThread.onLargeStack { () throws(KernelKitError) -> KconfigTree in
            try loadHere(srctree: srctree, kconfig: kconfig, environment: environment, shell: shell,
                         parseOnly: parseOnly, deferChecks: deferChecks, readFile: readFile)
        }
    }

    private static func loadHere(srctree: String, kconfig: String, environment: [String: String],
                                 shell: ((String) -> String)?, parseOnly: Bool, deferChecks: Bool,
                                 readFile: ((String) throws(KernelKitError) -> [UInt8])?)
                                 throws(KernelKitError) -> KconfigTree {
        let pre = Preprocessor(environment: environment,
                               shell: shell ?? { Preprocessor.runShell($0, environment: environment, directory: srctree) },
                               stdout: { _ in }, stderr: { _ in })
        let tree = KconfigTree(preprocessor: pre)
        // One stream each for everything the lexer, preprocessor and parser print, in order.
        pre.stdout = { [unowned tree] in tree.stdout($0) }
        pre.stderr = { [unowned tree] in tree.stderr($0) }
        if let p = environment["CONFIG_"] { tree.prefix = p }
        let prefetch = readFile == nil ? SourcePrefetch(srctree: srctree, root: kconfig, environment: environment) : nil
        defer { prefetch?.finish() }
        func read(_ name: String) throws(KernelKitError) -> [UInt8] {
            let path = name.hasPrefix("/") ? name : "\(srctree)/\(name)"
            do {
                if let readFile { return try readFile(path) }
                if let bytes = prefetch?.take(path) { return bytes }
                return try InputFile.readBytes(path)
            } catch {
                // conf's words (zconf_initscan()), at the file, with the reason kept.
                throw KernelKitError(error.code == .fileNotFound ? .fileNotFound : error.code, "can't find file \(name)",
                                     at: SourceLocation(file: path, line: 0),
                                     underlying: ConfStreams(stdout: "", stderr: "can't find file \(name)"))
            }
        }
        let bytes = try read(kconfig)
        let lexer = Lexer(file: kconfig, bytes: bytes, srctree: srctree, preprocessor: pre,
                          warn: { [unowned tree] in tree.stderr($0) })
        // Weak: the lexer holds the preprocessor, and the tree keeps the preprocessor after
        // parsing; a strong capture made a cycle that leaked both at every load (the
        // fuzzer's leak checker found it).
        pre.location = { [weak lexer] in (lexer?.filename ?? kconfig, lexer?.lineno ?? 0) }
        let parser = Parser(lexer: lexer, tree: tree, readFile: read)
        func failure(_ message: String) -> KernelKitError {
            ConfStreams.error(tree.standardError + message, stdout: tree.standardOutput,
                              file: lexer.filename, line: lexer.lineno)
        }
        do {
            try parser.parseInput()
        } catch let e as KernelKitError {
            throw failure(e.message)
        } catch let f as Preprocessor.Failure {
            throw failure(f.message + "\n")
        } catch {
            throw failure("\(lexer.filename):\(lexer.lineno): \(error)\n")
        }
        prefetch?.finish()
        if parser.errors > 0 { throw failure("") }
        if parseOnly { return tree }
        if tree.modulesSymbol == nil { tree.modulesSymbol = tree.symbolNo }
        if tree.rootMenu.prompt == nil {
            let p = Property(in: tree.propertyArena, type: .menu, expr: nil, visible: nil, menu: tree.rootMenu,
                             file: kconfig, line: 0)
            p.text = "Main menu"
            tree.rootMenu.prompt = p
        }
        if let parser = try? read("scripts/kconfig/parser.y") {
            if String(decoding: parser, as: UTF8.self).contains("prompt outside its choice group") {
                tree.choicePromptRule = .outsideGroup
            }
        }
        tree.finalize(tree.rootMenu, insideChoice: false, simplifier: ExprSimplifier(
            tree, warn: { [unowned tree] in tree.stdout($0) }))
        tree.linkChoiceMenus()
        if deferChecks { return tree }
        let errors = tree.checkAfterParse()
        tree.standardError += tree.checkReport
        tree.checkReport = ""
        if errors > 0 { throw tree.checkFailure() }
        return tree
    }

    private func checkFailure() -> KernelKitError {
        ConfStreams.error(standardError, stdout: standardOutput, file: "", line: 0)
    }

    /// Runs conf_parse()'s post-parse checks (``checkAfterParse()``) on a second thread
    /// while `body` reads and resolves a config, for a tree loaded with `deferChecks`.
    ///
    /// The checks walk every dependency once (a tenth of a warm olddefconfig) and only
    /// read the menu structure; they write nothing but their own flags (`checking`,
    /// `checked`, the cached dependencies' `depsChecked`) and ``checkReport``, none of
    /// which reading, evaluating or writing a config touches. The result is what the
    /// sequential order gives: if the checks fail, their error (with only what was
    /// printed before them) is thrown and `body`'s work is dropped, as conf exits before
    /// reading the config; if not, their report goes before what `body` printed.
    public func alongsideChecks<T>(_ body: () throws(KernelKitError) -> T) throws(KernelKitError) -> T {
        let before = (stderr: standardError, stdout: standardOutput)
        let outcome = CheckOutcome(self)
        let checks = PosixThread { outcome.errors = outcome.tree.checkAfterParse() }
        checks.startOrRun()
        let result = Result { () throws(KernelKitError) -> T in try body() }
        checks.join()
        if outcome.errors > 0 {
            standardError = before.stderr + checkReport
            standardOutput = before.stdout
            throw checkFailure()
        }
        standardError = before.stderr + checkReport + standardError.dropFirst(before.stderr.utf8.count)
        checkReport = ""
        return try result.get()
    }

    /// The checks' thread's view of the tree and its verdict (see ``alongsideChecks(_:)``
    /// for why sharing the tree is safe).
    private final class CheckOutcome: @unchecked Sendable {
        let tree: KconfigTree
        var errors = 0
        init(_ tree: KconfigTree) { self.tree = tree }
    }

    // MARK: menu_finalize (menu.c)

    /// `rewrite_m()`: a bare `m` in a dependency means `m && MODULES`.
    private func rewriteM(_ e: Expr?) -> Expr? {
        guard let e else { return nil }
        switch e.node {
        case .not(let a): return arena.not(rewriteM(a)!)
        case .or(let a, let b): return arena.or(rewriteM(a)!, rewriteM(b)!)
        case .and(let a, let b): return arena.and(rewriteM(a)!, rewriteM(b)!)
        case .symbol(let s) where s == symbolMod: return arena.and(e, arena.symbol(modulesSymbol ?? symbolNo))
        case .cached(let c): return rewriteM(c.expr)
        default: return e
        }
    }

    /// `_menu_finalize()`: propagates dependencies down the menu tree, rewriting them as
    /// conf does, links select and imply, creates the automatic submenus and flattens
    /// `if` blocks. `container` holds `parent` at `index` (nil for the root).
    private func finalize(_ parent: Menu, insideChoice: Bool, simplifier s: ExprSimplifier,
                          container: Menu? = nil, index: Int = 0) {
        let sym = parent.symbol
        if !parent.children.isEmpty {
            for menu in parent.children {
                var basedep = s.transform(rewriteM(menu.dep))
                basedep = s.eliminateDups(arena.and(parent.dep, basedep))
                // Every entry below repeats its menu's dependency: evaluate it once per epoch.
                if let b = basedep { basedep = arena.cached(b, simplified: true) }
                menu.dep = basedep
                if let ms = menu.symbol {
                    for prop in ms.properties where prop.menu == menu {
                        finalizeProperty(prop, basedep, symbol: ms, simplifier: s)
                    }
                } else if let prompt = menu.prompt, prompt.menu == menu {
                    // A menu, comment or if without a symbol: its prompt is its only property
                    // (not put in an array of one: that was an allocation per menu).
                    finalizeProperty(prompt, basedep, symbol: nil, simplifier: s)
                }
            }
            // A child may take the siblings after it as its submenu, so walk by index.
            var i = 0
            while i < parent.children.count {
                finalize(parent.children[i], insideChoice: sym?.isChoice ?? false, simplifier: s,
                         container: parent, index: i)
                i += 1
            }
        } else if !insideChoice, let sym {
            if let container { autoSubmenu(parent, sym, container: container, index: index, simplifier: s) }
            sym.dirDep.expr = arena.or(sym.dirDep.expr, parent.dep)
        }
        // Flatten `if` blocks, and undo the automatic submenus of promptless symbols: a
        // menu without prompt text gives its children to its parent. As in C, children
        // moved up are examined in turn.
        var i = 0
        while i < parent.children.count {
            let menu = parent.children[i]
            if !menu.children.isEmpty && menu.prompt?.text == nil {
                for child in menu.children { child.parent = parent }
                parent.children.insert(contentsOf: menu.children, at: i + 1)
                menu.children = []
            }
            i += 1
        }
        if let sym, !sym.warned {
            if sym.type == .unknown {
                stderr("\(parent.file):\(parent.line):warning: config symbol defined without type\n")
            }
            sym.warned = true
        }
    }

    /// A property's part of `_menu_finalize()`: its visibility gains the menu's dependency,
    /// and a select or imply adds to the target's reverse dependency.
    private func finalizeProperty(_ prop: Property, _ basedep: Expr?, symbol ms: Symbol?, simplifier s: ExprSimplifier) {
        var dep = s.transform(rewriteM(prop.visibleExpr))
        dep = s.eliminateDups(arena.and(basedep, dep))
        prop.visibleExpr = dep
        if (prop.type == .select || prop.type == .imply), let es = prop.symbol, let ms {
            let term = arena.and(arena.symbol(ms), dep)
            if prop.type == .select {
                es.revDep.expr = arena.or(es.revDep.expr, term)
            } else {
                es.implied.expr = arena.or(es.implied.expr, term)
            }
        }
    }

    /// The automatic submenu of `_menu_finalize()`: the entries right after a symbol that
    /// depend on it nest below it, which is how oldconfig indents and orders its questions.
    private func autoSubmenu(_ parent: Menu, _ sym: Symbol, container: Menu, index: Int, simplifier s: ExprSimplifier) {
        // sym's own visibility, as `!= n` tests: needed only for the superset test below,
        // so computed on first use (the C computes it up front; it has no side effects).
        var basedepCache: Expr?? = nil
        func basedep() -> Expr? {
            if let b = basedepCache { return b }
            let b = s.eliminateDups(s.transform(s.transCompareUnequalNo(parent.prompt?.visibleExpr, self)))
            basedepCache = .some(b)
            return b
        }
        var j = index + 1
        var taken = [Menu]()
        while j < container.children.count {
            let menu = container.children[j]
            var dep = menu.prompt != nil ? menu.prompt?.visibleExpr : menu.dep
            if !s.contains(dep, sym) { break }
            if !s.dependsOn(dep, sym) {
                // Also a dependency when `dep` contains sym and is a superset of sym's own
                // dependencies, e.g. `(sym || Q) && R` when sym depends on R.
                dep = s.transCompareUnequalNo(dep, self)
                var d = s.eliminateDups(s.transform(dep)) ?? arena.symbol(symbolYes)
                var d2 = basedep() ?? arena.symbol(symbolYes)
                s.eliminateEq(&d, &d2)
                if !s.isYes(d2) { break }
            }
            finalize(menu, insideChoice: false, simplifier: s, container: container, index: j)
            menu.parent = parent
            taken.append(menu)
            j += 1
        }
        if !taken.isEmpty {
            parent.children = taken
            container.children.removeSubrange(index + 1 ..< j)
        }
    }

    // MARK: visibility

    /// `menu_is_visible()`.
    func isVisible(_ menu: Menu) -> Bool {
        guard let prompt = menu.prompt else { return false }
        if let v = menu.visibility, value(v) == .no { return false }
        let visible: Tristate
        if let sym = menu.symbol {
            calcValue(sym)
            visible = prompt.visibleTri
        } else {
            prompt.visibleTri = value(prompt.visibleExpr)
            visible = prompt.visibleTri
        }
        if visible != .no { return true }
        guard let sym = menu.symbol, sym.currTri != .no else { return false }
        return menu.children.contains { isVisible($0) }
    }
}
