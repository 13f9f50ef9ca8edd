import KernelKitCore

/// The difference between two configs, by option.
///
/// Unlike `scripts/diffconfig`, which folds "is not set" into `n` and loses where each
/// value came from, this keeps three states per side (absent, not set, set) and the
/// line of each entry. `=n` and "is not set" are the same setting to the kernel, so a
/// move between them is not a change.
public struct ConfigDiff: Sendable {
    public enum Kind: String, Sendable {
        case removed, added, changed
    }

    /// A tristate value moving between n, m and y.
    public struct TristateMove: Hashable, Sendable, CustomStringConvertible {
        public var from: Tristate
        public var to: Tristate
        /// `y->m`: the form used in JSON and on terminals that cannot show arrows.
        public var description: String { "\(from)->\(to)" }
        public var arrow: String { "\(from)→\(to)" }
    }

    public struct Change: Sendable {
        public var name: String
        public var kind: Kind
        public var old: ConfigFile.Entry?
        public var new: ConfigFile.Entry?
        /// Set when both sides are tristates (absent counts as n here only when the other
        /// side is present and a tristate, so y→absent is a removal, not a move).
        public var move: TristateMove?
    }

    public let oldPath: String
    public let newPath: String
    public let oldCount: Int
    public let newCount: Int
    /// All changes, sorted by symbol name (byte order, as diffconfig sorts).
    public let changes: [Change]

    public init(old: ConfigFile, new: ConfigFile) {
        oldPath = old.path
        newPath = new.path
        oldCount = old.count
        newCount = new.count
        var changes = [Change]()
        for entry in old.effectiveEntries {
            if let other = new[entry.name] {
                if !Self.sameSetting(entry.value, other.value) {
                    var move: TristateMove? = nil
                    if let a = entry.value.tristate, let b = other.value.tristate {
                        move = TristateMove(from: a, to: b)
                    }
                    changes.append(Change(name: entry.name, kind: .changed, old: entry, new: other, move: move))
                }
            } else {
                changes.append(Change(name: entry.name, kind: .removed, old: entry, new: nil, move: nil))
            }
        }
        for entry in new.effectiveEntries where old[entry.name] == nil {
            changes.append(Change(name: entry.name, kind: .added, old: nil, new: entry, move: nil))
        }
        changes.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        self.changes = changes
    }

    static func sameSetting(_ a: ConfigValue, _ b: ConfigValue) -> Bool {
        if a.isUnset && b.isUnset { return true }
        return a.configText.utf8.elementsEqual(b.configText.utf8)
    }

    public var removed: [Change] { changes.filter { $0.kind == .removed } }
    public var added: [Change] { changes.filter { $0.kind == .added } }
    public var changed: [Change] { changes.filter { $0.kind == .changed } }

    /// How many changes each tristate move accounts for, in a fixed order.
    public var moveCounts: [(TristateMove, Int)] {
        var counts = [TristateMove: Int]()
        for change in changes { if let m = change.move { counts[m, default: 0] += 1 } }
        return Self.moveOrder.compactMap { m in counts[m].map { (m, $0) } }
    }

    /// The order moves are listed in: the ones reviewers care most about first.
    static let moveOrder: [TristateMove] = [
        TristateMove(from: .yes, to: .module), TristateMove(from: .module, to: .yes),
        TristateMove(from: .yes, to: .no), TristateMove(from: .module, to: .no),
        TristateMove(from: .no, to: .yes), TristateMove(from: .no, to: .module),
    ]
}

// MARK: - Rendering

extension ConfigDiff {
    /// The `json` format; its schema, `kernelkit.config-diff/1`, is documented in docs/config-diff.md.
    public func json() -> JSONValue {
        func side(_ entry: ConfigFile.Entry?) -> JSONValue {
            guard let entry else { return .object([("state", "absent")]) }
            var members: [(String, JSONValue)] = [
                ("state", entry.value == .notSet ? "not-set" : "set"),
                ("value", .string(entry.value.configText)),
            ]
            if case .string(let s) = entry.value { members.append(("string", .string(s))) }
            members.append(("line", .int(entry.location.line)))
            return .object(members)
        }
        let items: [JSONValue] = changes.map { change in
            var members: [(String, JSONValue)] = [
                ("name", .string(change.name)),
                ("kind", .string(change.kind.rawValue)),
                ("old", side(change.old)),
                ("new", side(change.new)),
            ]
            if let move = change.move { members.append(("move", .string(move.description))) }
            return .object(members)
        }
        let moves: [(String, JSONValue)] = moveCounts.map { ($0.0.description, .int($0.1)) }
        return .object([
            ("schema", "kernelkit.config-diff/1"),
            ("old", .object([("path", .string(oldPath)), ("options", .int(oldCount))])),
            ("new", .object([("path", .string(newPath)), ("options", .int(newCount))])),
            ("summary", .object([
                ("removed", .int(removed.count)),
                ("added", .int(added.count)),
                ("changed", .int(changed.count)),
                ("moves", .object(moves)),
            ])),
            ("changes", .array(items)),
        ])
    }

    /// The `text` format: a summary, then removed, added and changed options, with the
    /// changed ones grouped by tristate move so that demotions and removals of built-ins
    /// stand out. `color` adds ANSI colours (the CLI asks for them only on a terminal).
    public func text(color: Bool = false, prefix: String = "CONFIG_") -> String {
        let red = color ? "\u{1B}[31m" : "", green = color ? "\u{1B}[32m" : ""
        let yellow = color ? "\u{1B}[33m" : "", bold = color ? "\u{1B}[1m" : "", reset = color ? "\u{1B}[0m" : ""
        var out = "--- \(oldPath) (\(oldCount) options)\n+++ \(newPath) (\(newCount) options)\n"
        var summary = "\(removed.count) removed, \(added.count) added, \(changed.count) changed"
        let moves = moveCounts
        if !moves.isEmpty {
            summary += " (" + moves.map { "\($0.0.arrow) \($0.1)" }.joined(separator: ", ") + ")"
        }
        out += summary + "\n"
        if changes.isEmpty { return out }
        let width = min(48, (changes.map { $0.name.count }.max() ?? 0) + prefix.count + 2)
        func pad(_ s: String) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }
        func show(_ entry: ConfigFile.Entry?) -> String {
            guard let entry else { return "(absent)" }
            return entry.value == .notSet ? "is not set" : entry.value.configText
        }
        let removed = removed, added = added
        if !removed.isEmpty {
            out += "\n\(bold)Removed (\(removed.count))\(reset)\n"
            for c in removed { out += "  \(red)-\(pad(prefix + c.name))\(show(c.old))\(reset)\n" }
        }
        if !added.isEmpty {
            out += "\n\(bold)Added (\(added.count))\(reset)\n"
            for c in added { out += "  \(green)+\(pad(prefix + c.name))\(show(c.new))\(reset)\n" }
        }
        let changed = changed
        if !changed.isEmpty {
            out += "\n\(bold)Changed (\(changed.count))\(reset)\n"
            for move in Self.moveOrder {
                let group = changed.filter { $0.move == move }
                if group.isEmpty { continue }
                let note = switch (move.from, move.to) {
                case (.yes, .module): "built-in demoted to module"
                case (.module, .yes): "module made built-in"
                case (.yes, .no): "built-in disabled"
                case (.module, .no): "module disabled"
                case (.no, .yes): "enabled built-in"
                default: "enabled as module"
                }
                out += "  \(yellow)\(move.arrow)\(reset) \(note) (\(group.count))\n"
                for c in group { out += "    ~\(pad(prefix + c.name))\(show(c.old)) → \(show(c.new))\n" }
            }
            let others = changed.filter { $0.move == nil }
            if !others.isEmpty {
                out += "  values (\(others.count))\n"
                for c in others { out += "    ~\(pad(prefix + c.name))\(show(c.old)) → \(show(c.new))\n" }
            }
        }
        return out
    }
}
