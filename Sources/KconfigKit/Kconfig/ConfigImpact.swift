import KernelKitCore

/// What a change to a kernel tree does to configs: each config resolved through the old
/// tree and through the new one (one loaded tree per arch and side), and the options
/// whose resolved value differs, as `scripts/diffconfig` would list them between
/// `make` on the two trees.
public struct ConfigImpact: Sendable {
    /// One config on one arch.
    public struct Item: Sendable {
        public var arch: String
        /// The defconfig's name (`x86_64_defconfig`) or the config file given.
        public var config: String
        public var diff: ConfigDiff?
        /// Why a changed option has its new value (`config why` on the new tree), by name.
        public var why: [String: String] = [:]
        public var error: KernelKitError?

        public init(arch: String, config: String, diff: ConfigDiff? = nil, error: KernelKitError? = nil) {
            (self.arch, self.config, self.diff, self.error) = (arch, config, diff, error)
        }
    }

    /// A config to compare: a defconfig of the tree (`arch/DIR/configs/NAME`, resolved as
    /// `make NAME`) or a file (resolved as `make olddefconfig`).
    public enum Input: Sendable {
        case defconfig(archDirectory: String, name: String)
        case file(String)

        public var label: String {
            switch self {
            case .defconfig(_, let name): name
            case .file(let path): path
            }
        }
        var mode: KconfigResolver.Mode {
            switch self {
            case .defconfig(let dir, let name): .defconfig(.file("arch/\(dir)/configs/\(name)"))
            case .file(let path): .olddefconfig(.file(path))
            }
        }
    }

    public var items: [Item]

    /// Resolves `inputs` on `arch` through `old` and `new` (resolvers for the same arch
    /// on the two trees). A config that fails on either side is an item with its error.
    /// With `why`, each changed, added or removed option is explained on the new tree.
    public static func compare(arch: String, inputs: [Input], old: KconfigResolver, new: KconfigResolver,
                               why: Bool = false) throws(KernelKitError) -> [Item] {
        let modes = inputs.map(\.mode)
        let before = try old.resolveBatch(modes)
        // The new tree stays loaded for the explanations, each from the state it had
        // after loading, as a fresh `config why` process would see it.
        let newTree = try new.loadTree(deferChecks: false)
        let loaded = newTree.snapshot()
        let after = new.resolveBatch(modes, on: newTree, loaded: loaded)
        var items = [Item]()
        for (i, input) in inputs.enumerated() {
            var item = Item(arch: arch, config: input.label)
            guard let a = before[i].result, let b = after[i].result else {
                item.error = before[i].error ?? after[i].error
                items.append(item)
                continue
            }
            do {
                let oldFile = try ConfigFile(text: a.config, path: "old/\(input.label)")
                let newFile = try ConfigFile(text: b.config, path: "new/\(input.label)")
                let diff = ConfigDiff(old: oldFile, new: newFile)
                item.diff = diff
                if why, !diff.changes.isEmpty {
                    // The explanation reads the input (the defconfig as the new tree has
                    // it, or the file), so that each origin is what set the value: a
                    // default, a select, unmet dependencies, or the config itself.
                    let bytes: [UInt8]
                    switch input {
                    case .defconfig(let dir, let name): bytes = try InputFile.readBytes("\(new.srctree)/arch/\(dir)/configs/\(name)")
                    case .file(let path): bytes = try InputFile.readBytes(path)
                    }
                    for c in diff.changes {
                        newTree.restore(loaded)
                        if let e = newTree.explain(c.name, configBytes: bytes, configName: input.label, wanted: nil) {
                            item.why[c.name] = e.text()
                        } else {
                            item.why[c.name] = "CONFIG_\(c.name) is not defined in the new tree\n"
                        }
                    }
                }
            } catch {
                item.error = error
            }
            items.append(item)
        }
        return items
    }

    public init(items: [Item]) { self.items = items }

    static func show(_ e: ConfigFile.Entry?) -> JSONValue {
        guard let e else { return .null }
        return .string(e.value == .notSet ? "n" : e.value.configText)
    }

    /// `kernelkit.config-impact/1`.
    public func json(oldTree: String, newTree: String) -> JSONValue {
        let configs: [JSONValue] = items.map { item in
            var members: [(String, JSONValue)] = [("arch", .string(item.arch)), ("config", .string(item.config))]
            if let diff = item.diff {
                members.append(("changes", .array(diff.changes.map { c in
                    var m: [(String, JSONValue)] = [("option", .string(c.name)), ("old", Self.show(c.old)), ("new", Self.show(c.new))]
                    if let move = c.move { m.append(("move", .string(move.description))) }
                    if let w = item.why[c.name] { m.append(("why", .string(w))) }
                    return .object(m)
                })))
            }
            if let e = item.error { members.append(("error", .string("\(e)"))) }
            return .object(members)
        }
        let changed = items.filter { !($0.diff?.changes.isEmpty ?? true) }.count
        return .object([
            ("schema", "kernelkit.config-impact/1"),
            ("old", .string(oldTree)), ("new", .string(newTree)),
            ("summary", .object([("configs", .int(items.count)), ("changed", .int(changed)),
                                 ("failed", .int(items.filter { $0.error != nil }.count))])),
            ("configs", .array(configs)),
        ])
    }

    /// Per arch, each config with its changes; tristate moves named, as `config diff`
    /// names them, so that built-ins lost or demoted stand out.
    public func text(color: Bool = false, prefix: String = "CONFIG_") -> String {
        let bold = color ? "\u{1B}[1m" : "", yellow = color ? "\u{1B}[33m" : "", red = color ? "\u{1B}[31m" : ""
        let green = color ? "\u{1B}[32m" : "", reset = color ? "\u{1B}[0m" : ""
        var out = ""
        var arches: [String] = []
        for i in items where !arches.contains(i.arch) { arches.append(i.arch) }
        for arch in arches {
            let group = items.filter { $0.arch == arch }
            let changed = group.filter { !($0.diff?.changes.isEmpty ?? true) }
            out += "\(bold)\(arch)\(reset): \(group.count) configs, \(changed.count) changed\n"
            for item in group {
                if let e = item.error { out += "  \(red)\(item.config): \(e)\(reset)\n"; continue }
                guard let diff = item.diff, !diff.changes.isEmpty else { continue }
                var summary = "\(diff.changed.count) changed, \(diff.added.count) added, \(diff.removed.count) removed"
                let moves = diff.moveCounts
                if !moves.isEmpty { summary += " (" + moves.map { "\($0.0.arrow) \($0.1)" }.joined(separator: ", ") + ")" }
                out += "  \(item.config): \(summary)\n"
                for c in diff.changes {
                    let old = Self.show(c.old).stringValue ?? "(absent)", new = Self.show(c.new).stringValue ?? "(absent)"
                    let line: String
                    switch c.kind {
                    case .removed: line = "\(red)-\(prefix)\(c.name) \(old)\(reset)"
                    case .added: line = "\(green)+\(prefix)\(c.name) \(new)\(reset)"
                    case .changed:
                        let move = c.move.map { " \(yellow)[\($0.arrow)]\(reset)" } ?? ""
                        line = " \(prefix)\(c.name) \(old) -> \(new)\(move)"
                    }
                    out += "    \(line)\n"
                    if let w = item.why[c.name] {
                        out += w.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n") + "\n"
                    }
                }
            }
        }
        let changed = items.filter { !($0.diff?.changes.isEmpty ?? true) }.count
        out += "\(items.count) configs on \(arches.count) arches: \(changed) changed, \(items.count - changed - items.filter { $0.error != nil }.count) unchanged, \(items.filter { $0.error != nil }.count) failed\n"
        return out
    }
}
