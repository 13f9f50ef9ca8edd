import KernelKitCore

/// Reading and writing .config files the way `scripts/kconfig/confdata.c` does, and the
/// resolution modes of `scripts/kconfig/conf.c`.
extension KconfigTree {
    private func confWarning(_ file: String, _ line: Int, _ message: String) {
        stderr("\(file):\(line):warning: \(message)\n")
        confWarnings += 1
    }

    /// `conf_read_simple(name, S_DEF_USER)`: loads user values from a .config or fragment.
    public func readUserValues(bytes: [UInt8], name: String) {
        confWarnings = 0
        for sym in symbols {
            sym.hasUserValue = false
            sym.userLocation = nil
            sym.userVal = ""
            sym.userTri = .no
            sym.valid = false
        }
        epoch += 1
        let prefix = Array(self.prefix.utf8)
        // Through one buffer, and a name is looked up by its bytes: a config has thousands
        // of lines, and copying each line, its name and its value into arrays and strings
        // was a third of reading it.
        bytes.withUnsafeBufferPointer { all in
            var lineno = 0
            var start = 0
            while start < all.count {
                let end = all.firstOffset(of: 0x0A, in: start..<all.count) ?? all.count
                let next = end + 1
                lineno += 1
                var lineEnd = end
                if end < all.count, lineEnd > start, all[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                // C strings stop at a NUL.
                if let nul = all.firstOffset(of: 0, in: start..<lineEnd) { lineEnd = nul }
                let line = UnsafeBufferPointer(rebasing: all[start..<lineEnd])
                start = next
                if line.isEmpty { continue }
                let nameBytes: UnsafeBufferPointer<UInt8>
                let value: UnsafeBufferPointer<UInt8>? // nil: `is not set`, the value n
                if line[0] == UInt8(ascii: "#") {
                    guard line.count > 1, line[1] == 0x20 else { continue }
                    let p = UnsafeBufferPointer(rebasing: line[2...])
                    guard p.starts(with: prefix) else { continue }
                    let rest = UnsafeBufferPointer(rebasing: p[prefix.count...])
                    guard let sp = rest.firstIndex(of: 0x20) else { continue }
                    guard rest[(sp + 1)...].elementsEqual("is not set".utf8) else { continue }
                    nameBytes = UnsafeBufferPointer(rebasing: rest[..<sp])
                    value = nil
                } else {
                    guard line.starts(with: prefix) else {
                        confWarning(name, lineno, "unexpected data: \(String(decoding: line, as: UTF8.self))")
                        continue
                    }
                    let rest = UnsafeBufferPointer(rebasing: line[prefix.count...])
                    guard let eq = rest.firstIndex(of: UInt8(ascii: "=")) else {
                        confWarning(name, lineno, "unexpected data: \(String(decoding: line, as: UTF8.self))")
                        continue
                    }
                    nameBytes = UnsafeBufferPointer(rebasing: rest[..<eq])
                    value = UnsafeBufferPointer(rebasing: rest[(eq + 1)...])
                }
                guard let sym = symbol(named: nameBytes) else {
                    if environmentValue("KCONFIG_WARN_UNKNOWN_SYMBOLS") != nil {
                        confWarning(name, lineno, "unknown symbol: \(String(decoding: nameBytes, as: UTF8.self))")
                    }
                    changed = true
                    continue
                }
                if sym.hasUserValue {
                    confWarning(name, lineno, "override: reassigning to symbol \(String(decoding: nameBytes, as: UTF8.self))")
                }
                if !setUserValue(sym, value, file: name, line: lineno) { continue }
                sym.userLocation = (name, lineno)
                if let choice = choiceMenu(of: sym), let i = choice.choiceMembers.firstIndex(where: { $0 == sym }) {
                    // list_move(): the last assignment read goes to the front, so it wins.
                    choice.choiceMembers.remove(at: i)
                    choice.choiceMembers.insert(sym, at: 0)
                }
            }
        }
    }

    /// `conf_set_sym_val()`, from the value's bytes (a tristate needs only the first; nil
    /// is the `n` of `is not set`); false when the value was rejected.
    private func setUserValue(_ sym: Symbol, _ bytes: UnsafeBufferPointer<UInt8>?, file: String, line: Int) -> Bool {
        let text = { bytes.map { String(decoding: $0, as: UTF8.self) } ?? "n" }
        switch sym.type {
        case .tristate, .boolean:
            let first = bytes.map { $0.first } ?? UInt8(ascii: "n")
            if sym.type == .tristate && first == UInt8(ascii: "m") {
                sym.userTri = .module
            } else if first == UInt8(ascii: "y") {
                sym.userTri = .yes
            } else if first == UInt8(ascii: "n") {
                sym.userTri = .no
            } else {
                confWarning(file, line, "symbol value '\(text())' invalid for \(sym.name ?? "")")
                return false
            }
            sym.hasUserValue = true
            return true
        default:
            return setUserValue(sym, text(), file: file, line: line)
        }
    }

    /// The rest of `conf_set_sym_val()`: a string, int or hex value.
    private func setUserValue(_ sym: Symbol, _ p: String, file: String, line: Int) -> Bool {
        guard sym.type != .unknown else { return true }
        var value = p
        if sym.type == .string {
            guard p.first == "\"" else { return true }
            var out = ""
            var closed = false
            var it = p.dropFirst().makeIterator()
            while let c = it.next() {
                if c == "\"" { closed = true; break }
                if c == "\\" {
                    if let n = it.next() { out.append(n) } else { break }
                } else {
                    out.append(c)
                }
            }
            if !closed {
                confWarning(file, line, "invalid string found")
                return false
            }
            value = out
        }
        guard Self.stringValid(sym.type, value) else {
            confWarning(file, line, "symbol value '\(value)' invalid for \(sym.name ?? "")")
            return false
        }
        sym.userVal = value
        sym.hasUserValue = true
        return true
    }

    /// `sym_string_valid()`.
    static func stringValid(_ type: SymbolType, _ s: String) -> Bool {
        let b = Array(s.utf8)
        func digit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        func xdigit(_ c: UInt8) -> Bool { digit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) }
        switch type {
        case .string: return true
        case .int:
            var i = 0
            if i < b.count && b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < b.count, digit(b[i]) else { return false }
            if b[i] == 0x30 && i + 1 < b.count { return false }
            return b[(i + 1)...].allSatisfy(digit)
        case .hex:
            var i = 0
            if b.count >= 2 && b[0] == 0x30 && (b[1] == UInt8(ascii: "x") || b[1] == UInt8(ascii: "X")) { i = 2 }
            guard i < b.count else { return false }
            return b[i...].allSatisfy(xdigit)
        case .boolean, .tristate:
            return ["y", "Y", "m", "M", "n", "N"].contains(b.first.map { String(UnicodeScalar($0)) } ?? "")
        case .unknown: return false
        }
    }

    func environmentValue(_ name: String) -> String? { preprocessor.environment[name] }

    /// `conf_read()`: reads a config and computes every symbol.
    public func readConfig(bytes: [UInt8], name: String) {
        changed = false
        readUserValues(bytes: bytes, name: name)
        if let m = modulesSymbol { calcValue(m) }
        for sym in symbols {
            calcValue(sym)
            if sym.isChoice { continue }
            if sym.hasUserValue && sym.write {
                switch sym.type {
                case .boolean, .tristate: if sym.userTri == sym.currTri { continue }
                default: if sym.currVal == sym.userVal { continue }
                }
            } else if !sym.hasUserValue && !sym.write {
                continue
            }
            changed = true
        }
        if confWarnings > 0 { changed = true }
    }

    /// How `conf_set_all_new_symbols()` fills symbols without a value.
    public enum NewSymbolMode: Sendable { case yes, module, no, defaults }

    /// `conf_set_all_new_symbols()`.
    public func setAllNewSymbols(_ mode: NewSymbolMode) {
        for menu in subEntries(rootMenu) {
            guard let sym = menu.symbol, menu.prompt != nil, !sym.hasUserValue,
                  sym.type == .boolean || sym.type == .tristate, !sym.isChoiceMember else { continue }
            if sym.isChoice { continue }
            let val: Tristate
            switch mode {
            case .yes: val = .yes
            case .module: val = .module
            case .no: val = .no
            case .defaults: continue
            }
            sym.userTri = val
            sym.hasUserValue = true
        }
        clearAllValid()
    }

    /// `conf_append_changed_input_warning()`: with KCONFIG_WARN_CHANGED_INPUT set, conf
    /// lists the user values that Kconfig changed.
    private func changedInputWarning(_ sym: Symbol, _ text: inout String) {
        guard sym.hasUserValue, sym.type != .unknown else { return }
        let user: String
        let changed: Bool
        switch sym.type {
        case .boolean, .tristate:
            user = sym.userTri.description
            changed = sym.userTri != sym.currTri
        default:
            user = sym.userVal
            changed = user != sym.currVal
        }
        guard changed else { return }
        if text.isEmpty { text = "warning: user-provided values changed by Kconfig:\n" }
        text += "  \(prefix)\(sym.name ?? ""): \(user) -> \(sym.stringValue)\n"
    }

    private var warnChangedInput: Bool { !(environmentValue("KCONFIG_WARN_CHANGED_INPUT") ?? "").isEmpty }

    /// `conf_write()`: the .config text conf would write.
    public func writeConfig() -> String {
        var out = "#\n# Automatically generated file; DO NOT EDIT.\n# \(rootMenu.prompt?.text ?? "")\n#\n"
        if !changed { clearAllValid() }
        var needNewline = false
        var changedInput = ""
        let warnChanged = warnChangedInput
        func visit(_ menu: Menu) {
            if let sym = menu.symbol {
                if !sym.isChoice && !sym.written {
                    calcValue(sym)
                    if warnChanged { changedInputWarning(sym, &changedInput) }
                    sym.written = true
                    if sym.write {
                        if needNewline {
                            out += "\n"
                            needNewline = false
                        }
                        if let line = configLine(sym) { out += line + "\n" }
                    }
                }
            } else if isVisible(menu) {
                out += "\n#\n# \(menu.prompt?.text ?? "")\n#\n"
                needNewline = false
            }
            for child in menu.children { visit(child) }
            if menu.symbol == nil && menu.prompt?.type == .menu && isVisible(menu) {
                out += "# end of \(menu.prompt?.text ?? "")\n"
                needNewline = true
            }
        }
        for menu in rootMenu.children { visit(menu) }
        for sym in symbols { sym.written = false }
        stderr(changedInput)
        return out
    }
}

extension KconfigTree {
    /// `conf_write_autoconf()`'s include/config/auto.conf and include/generated/autoconf.h
    /// (confdata.c), as `make syncconfig` writes them after the .config.
    ///
    /// Both list the symbols conf would write, in the order of `for_all_symbols()`: the
    /// buckets of its 16,384-entry hash table (FNV-1a of the name, `hash_str()` in
    /// scripts/include/hash.h) in order, each bucket newest symbol first
    /// (`hlist_add_head`), which is creation order reversed. n is left out of both;
    /// auto.conf writes strings unquoted, autoconf.h as C strings, hex with `0x`.
    public func writeAutoconf() -> (autoConf: String, header: String) {
        for sym in symbols { calcValue(sym) }
        let title = rootMenu.prompt?.text ?? ""
        var conf = "#\n# Automatically generated file; DO NOT EDIT.\n# \(title)\n#\n"
        var header = "/*\n * Automatically generated file; DO NOT EDIT.\n * \(title)\n */\n"
        func bucket(_ name: String) -> Int { Int(FNV1a.hash32(name) & ((1 << 14) - 1)) }
        // (bucket, creation index) of every named, written symbol.
        var ordered: [(bucket: Int, index: Int, sym: Symbol)] = []
        for (i, sym) in symbols.enumerated() where sym.write && sym.type != .unknown {
            guard let name = sym.name else { continue }
            ordered.append((bucket(name), i, sym))
        }
        ordered.sort { $0.bucket != $1.bucket ? $0.bucket < $1.bucket : $0.index > $1.index }
        for (_, _, sym) in ordered {
            let name = sym.name ?? ""
            let value = sym.stringValue
            switch sym.type {
            case .boolean, .tristate:
                if value.hasPrefix("n") { continue }
                conf += "\(prefix)\(name)=\(value)\n"
                header += "#define \(prefix)\(name)\(value.hasPrefix("m") ? "_MODULE" : "") 1\n"
            case .hex:
                conf += "\(prefix)\(name)=\(value)\n"
                let hasPrefix = value.hasPrefix("0x") || value.hasPrefix("0X")
                header += "#define \(prefix)\(name) \(hasPrefix ? "" : "0x")\(value)\n"
            case .string:
                conf += "\(prefix)\(name)=\(value)\n"
                header += "#define \(prefix)\(name) \(ConfigValue.quote(value))\n"
            case .int:
                conf += "\(prefix)\(name)=\(value)\n"
                header += "#define \(prefix)\(name) \(value)\n"
            case .unknown:
                continue
            }
        }
        return (conf, header)
    }
}

extension KconfigTree {
    /// `sym_is_changeable()`.
    func isChangeable(_ sym: Symbol) -> Bool { !sym.isChoice && sym.visible > sym.revDep.tri }

    /// `sym_get_string_default()`: the value the symbol would have with no user setting.
    func stringDefault(_ sym: Symbol) -> String {
        calcVisibility(sym)
        if let m = modulesSymbol { calcValue(m) }
        var val = Tristate.no
        var str = ""
        if let prop = sym.properties.first(where: { p in
            guard p.type == .default else { return false }
            p.visibleTri = value(p.visibleExpr)
            return p.visibleTri != .no
        }) {
            switch sym.type {
            case .boolean, .tristate:
                val = Self.and(value(prop.expr), prop.visibleTri)
            default:
                if let ds = prop.symbol {
                    calcValue(ds)
                    str = ds.currVal
                }
            }
        }
        val = Self.or(val, sym.revDep.tri)
        if val == .module && !sym.isChoiceMember && (modulesSymbol?.currTri ?? .no) == .no { val = .yes }
        if sym.type == .boolean && val == .module { val = .yes }
        if val < sym.implied.tri { val = sym.implied.tri }
        switch sym.type {
        case .boolean, .tristate: return val.description
        case .int: return str.isEmpty ? "0" : str
        case .hex: return str.isEmpty ? "0x0" : str
        default: return str
        }
    }

    /// The `.config` line for a symbol (`__print_symbol()`); nil for unknown types.
    /// `unsetAsComment` is OUTPUT_N_AS_UNSET (.config files); false is OUTPUT_N (listnewconfig).
    func configLine(_ sym: Symbol, unsetAsComment: Bool = true) -> String? {
        let name = sym.name ?? ""
        switch sym.type {
        case .unknown: return nil
        case .boolean, .tristate:
            if sym.currTri == .no && unsetAsComment { return "# \(prefix)\(name) is not set" }
            return "\(prefix)\(name)=\(sym.currTri)"
        case .string: return "\(prefix)\(name)=\(ConfigValue.quote(sym.currVal))"
        case .int, .hex: return "\(prefix)\(name)=\(sym.currVal)"
        }
    }

    /// `conf_write_defconfig()`: the minimal defconfig (make savedefconfig).
    public func writeDefconfig() -> String {
        clearAllValid()
        var out = ""
        var changedInput = ""
        let warnChanged = warnChangedInput
        for menu in subEntries(rootMenu) {
            guard let sym = menu.symbol, !sym.isChoice, !sym.written else { continue }
            calcValue(sym)
            if warnChanged { changedInputWarning(sym, &changedInput) }
            sym.written = true
            guard sym.write else { continue }
            sym.write = false
            if !isChangeable(sym) { continue }
            if sym.stringValue == stringDefault(sym) { continue }
            if let choice = choiceMenu(of: sym), let ds = choiceDefault(choice), ds == sym, sym.currTri == .yes { continue }
            if let line = configLine(sym) { out += line + "\n" }
        }
        for sym in symbols { sym.written = false }
        stderr(changedInput)
        return out
    }

    /// `check_conf()` in listnewconfig mode: the visible, changeable symbols that the
    /// config read had no value for, with the value they get.
    public func listNewConfig() -> String {
        var out = ""
        func visit(_ menu: Menu) {
            if !isVisible(menu) { return }
            if let sym = menu.symbol, !sym.hasUserValue, isChangeable(sym), sym.name != nil,
               let line = configLine(sym, unsetAsComment: false) {
                out += line + "\n"
            }
            for child in menu.children { visit(child) }
        }
        visit(rootMenu)
        return out
    }

    /// `check_conf()` in helpnewconfig mode: the same symbols as listnewconfig, each
    /// with its help screen between `-----` lines.
    public func helpNewConfig() -> String {
        var out = ""
        func visit(_ menu: Menu) {
            if !isVisible(menu) { return }
            if let sym = menu.symbol, !sym.hasUserValue, isChangeable(sym) {
                out += "-----\n\n" + extendedHelp(menu) + "\n-----\n"
            }
            for child in menu.children { visit(child) }
        }
        visit(rootMenu)
        return out
    }
}
