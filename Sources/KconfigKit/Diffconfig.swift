#if canImport(Glibc)
import Glibc
#endif
/// A faithful re-implementation of the kernel's `scripts/diffconfig` (Python), so that
/// `kernelkit config diff --format diffconfig` is byte-identical to it.
///
/// It reads files as diffconfig's `readconfig()` does, quirks included:
/// - lines end at `\n`, `\r\n` or a lone `\r` (Python's universal newlines);
/// - the last character of every line is dropped (`line[:-1]`), even on a last line
///   with no line end;
/// - a line starting `CONFIG_` sets the name before the first `=` (the prefix is fixed:
///   diffconfig ignores the `CONFIG_` environment variable);
/// - any line ending in ` is not set` sets the name from its 10th character on to `n`.
/// Later lines win. Names are sorted by code point, as Python sorts `str`.
public enum Diffconfig {
    /// The files diffconfig compares when given none: `.config.old` and `.config`, in
    /// `$KBUILD_OUTPUT` when it is set (scripts/diffconfig's `main()`).
    /// (One getenv, not the whole environment: a diff is run in loops.)
    public static func defaultPaths(kbuildOutput: String? = getenv("KBUILD_OUTPUT").map { String(cString: $0) })
        -> (old: String, new: String) {
        if let dir = kbuildOutput { return (dir + "/.config.old", dir + "/.config") }
        return (".config.old", ".config")
    }

    /// diffconfig's view of a file: name to value text.
    public static func readconfig(_ bytes: [UInt8]) -> [String: String] {
        var result = [String: String]()
        result.reserveCapacity(bytes.count / 36)
        let config = Array("CONFIG_".utf8)
        let notSet = Array(" is not set".utf8)
        bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            let count = buffer.count
            while start < count {
                var end = start
                while end < count && buffer[end] != 0x0A && buffer[end] != 0x0D { end += 1 }
                var next = end
                if end < count {
                    next = end + 1
                    if buffer[end] == 0x0D && next < count && buffer[next] == 0x0A { next += 1 }
                }
                // Python sees the line with a "\n" appended when a line end was there;
                // line[:-1] drops that, or else the line's last code point.
                var lineEnd = end
                if end == count {
                    lineEnd = dropLastScalar(buffer, start: start, end: end)
                }
                let line = UnsafeBufferPointer(rebasing: buffer[start..<lineEnd])
                if line.starts(with: config) {
                    let rest = UnsafeBufferPointer(rebasing: line[config.count...])
                    // Python raises ValueError on a CONFIG_ line with no "="; such input is
                    // rejected by ConfigFile before it gets here, and is skipped if not.
                    if let eq = rest.firstIndex(of: UInt8(ascii: "=")) {
                        let name = String(decoding: UnsafeBufferPointer(rebasing: rest[..<eq]), as: UTF8.self)
                        let value = String(decoding: UnsafeBufferPointer(rebasing: rest[(eq + 1)...]), as: UTF8.self)
                        result[name] = value
                    }
                }
                if line.count >= notSet.count,
                   UnsafeBufferPointer(rebasing: line[(line.count - notSet.count)...]).elementsEqual(notSet) {
                    // d[line[9:-11]] = "n", with Python's slicing by code points, which
                    // clamps to an empty name when the line is short.
                    let nameStart = offsetOfScalar(9, in: line)
                    let nameEnd = line.count - notSet.count
                    let name = nameStart < nameEnd
                        ? String(decoding: UnsafeBufferPointer(rebasing: line[nameStart..<nameEnd]), as: UTF8.self)
                        : ""
                    result[name] = "n"
                }
                start = next
            }
        }
        return result
    }

    private static func dropLastScalar(_ buffer: UnsafeBufferPointer<UInt8>, start: Int, end: Int) -> Int {
        var i = end
        if i == start { return i }
        i -= 1
        while i > start && buffer[i] & 0xC0 == 0x80 { i -= 1 }
        return i
    }

    private static func offsetOfScalar(_ n: Int, in line: UnsafeBufferPointer<UInt8>) -> Int {
        var scalars = 0
        var i = 0
        while i < line.count && scalars < n {
            i += 1
            while i < line.count && line[i] & 0xC0 == 0x80 { i += 1 }
            scalars += 1
        }
        return i
    }

    private static func codePointOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// The output of `diffconfig OLD NEW` (or `diffconfig -m OLD NEW` with `mergeStyle`).
    public static func diff(old: [String: String], new: [String: String], mergeStyle: Bool) -> String {
        var out = ""
        func emit(_ op: Character, _ name: String, _ value: String?, _ newValue: String?) {
            if mergeStyle {
                // print_config(): `if new_value:` is false for None and for "".
                guard let newValue, !newValue.isEmpty else { return }
                if newValue == "n" {
                    out += "# CONFIG_\(name) is not set\n"
                } else {
                    out += "CONFIG_\(name)=\(newValue)\n"
                }
            } else {
                switch op {
                case "-": out += "-\(name) \(value ?? "None")\n"
                case "+": out += "+\(name) \(newValue ?? "None")\n"
                default: out += " \(name) \(value ?? "None") -> \(newValue ?? "None")\n"
                }
            }
        }
        var removed = [String]()
        var changed = [String]()
        var added = [String]()
        for (name, value) in old {
            if let newValue = new[name] {
                // Python compares code points; Swift's == would equate canonically equivalent text.
                if !newValue.utf8.elementsEqual(value.utf8) { changed.append(name) }
            } else {
                removed.append(name)
            }
        }
        for name in new.keys where old[name] == nil { added.append(name) }
        for name in removed.sorted(by: codePointOrder) { emit("-", name, old[name], nil) }
        for name in changed.sorted(by: codePointOrder) { emit(">", name, old[name], new[name]) }
        for name in added.sorted(by: codePointOrder) { emit("+", name, nil, new[name]) }
        return out
    }

    /// diffconfig of two parsed files.
    public static func diff(old: ConfigFile, new: ConfigFile, mergeStyle: Bool) -> String {
        String(decoding: output(old: old, new: new, mergeStyle: mergeStyle).bytes, as: UTF8.self)
    }

    /// diffconfig's output for two parsed files, as bytes, and whether the files differ
    /// at all (`-m` output omits removals, so it cannot tell that by itself).
    ///
    /// When both files are "plain" (see ``isPlain(_:)``), diffconfig's view of each is
    /// exactly the model's effective entries with their raw value text, so the diff is
    /// computed from the parsed files' indexes and printed from their bytes: no strings or
    /// dictionaries are built, which matters in a process that lives for a few
    /// milliseconds. Otherwise it falls back to re-reading the bytes with diffconfig's own
    /// rules.
    public static func output(old: ConfigFile, new: ConfigFile, mergeStyle: Bool) -> (bytes: [UInt8], differs: Bool) {
        guard isPlain(old), isPlain(new) else {
            let a = readconfig(old.storage), b = readconfig(new.storage)
            let text = diff(old: a, new: b, mergeStyle: mergeStyle)
            let differs = mergeStyle ? !diff(old: a, new: b, mergeStyle: false).isEmpty : !text.isEmpty
            return (Array(text.utf8), differs)
        }
        var removed = [Int](), changed = [(Int, Int)](), added = [Int]()
        // One pass of lookups, old names in the new file; what the new file has that no old
        // name matched is what was added.
        var matched = [Bool](repeating: false, count: new.entries.count)
        old.compareEffective(with: new) { i, j, same in
            if let j {
                matched[j] = true
                if !same { changed.append((i, j)) }
            } else {
                removed.append(i)
            }
        }
        for j in new.effectiveIndices where !matched[j] { added.append(j) }
        let differs = !(removed.isEmpty && changed.isEmpty && added.isEmpty)
        // Python sorts the names as str, by code point, which for UTF-8 is byte order
        // (and names are [A-Za-z0-9_] here anyway).
        old.sortByName(&removed) { $0 }
        old.sortByName(&changed) { $0.0 }
        new.sortByName(&added) { $0 }

        var out = [UInt8]()
        out.reserveCapacity(64 * (removed.count + changed.count + added.count))
        func put(_ s: StaticString) {
            s.withUTF8Buffer { out.append(contentsOf: $0) }
        }
        func putEntry(_ file: ConfigFile, _ i: Int) {
            // print_config(): `if new_value:` skips None and ""; "n" prints as "is not set".
            let value = file.rawValue(of: i)
            if value.isEmpty { return }
            if value.count == 1 && value.first == UInt8(ascii: "n") {
                put("# CONFIG_")
                out.append(contentsOf: file.nameBytes(of: i))
                put(" is not set\n")
            } else {
                put("CONFIG_")
                out.append(contentsOf: file.nameBytes(of: i))
                put("=")
                out.append(contentsOf: value)
                put("\n")
            }
        }
        if mergeStyle {
            for (_, j) in changed { putEntry(new, j) }
            for j in added { putEntry(new, j) }
            return (out, differs)
        }
        // "-NAME OLD", " NAME OLD -> NEW", "+NAME NEW".
        func putLine(_ mark: StaticString, _ file: ConfigFile, _ i: Int, then newValue: Int? = nil) {
            put(mark)
            out.append(contentsOf: file.nameBytes(of: i))
            put(" ")
            out.append(contentsOf: file.rawValue(of: i))
            if let j = newValue {
                put(" -> ")
                out.append(contentsOf: new.rawValue(of: j))
            }
            put("\n")
        }
        for i in removed { putLine("-", old, i) }
        for (i, j) in changed { putLine(" ", old, i, then: j) }
        for j in added { putLine("+", new, j) }
        return (out, differs)
    }

    /// True when diffconfig reads `file` exactly as the model does: the `CONFIG_` prefix,
    /// no carriage returns, a final newline, and no line ending in " is not set" other
    /// than the "# CONFIG_X is not set" entries (diffconfig takes any such line as one).
    public static func isPlain(_ file: ConfigFile) -> Bool { file.readsAsDiffconfigDoes }

    /// diffconfig of two files' bytes.
    public static func diff(old: [UInt8], new: [UInt8], mergeStyle: Bool) -> String {
        diff(old: readconfig(old), new: readconfig(new), mergeStyle: mergeStyle)
    }
}
