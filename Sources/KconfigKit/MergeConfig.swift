import KernelKitCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `scripts/kconfig/merge_config.sh -m`: merges config fragments into a base config
/// without resolving them through Kconfig.
///
/// The algorithm is the script's, step for step, because its output depends on text
/// matching rather than on Kconfig meaning:
/// - the options a fragment sets are the lines matching `^CONFIG_X=` or
///   `^# CONFIG_X is not set$` (the script's two sed expressions);
/// - an option counts as already present when `grep -w` finds its name anywhere in the
///   merged text so far, comments included, and the previous and new values compared are
///   *every* line that mentions it;
/// - the old lines are deleted with `sed "/CONFIG_X[ =]/d"`, which also deletes any other
///   line containing that text;
/// - an empty line is appended before each fragment (`echo >> $TMP_FILE`).
/// Messages are those the script prints, through the same `echo` (see ``ShellEcho``).
public struct MergeConfig: Sendable {
    public struct Options: Sendable {
        /// `-r`: list redundant entries.
        public var listRedundant = false
        /// `-y`: a fragment's `m` never demotes a previous `y`.
        public var builtinWins = false
        /// `-s`: fail if a fragment redefines any value.
        public var strict = false
        /// `-Q`: no messages about overridden options.
        public var quiet = false
        public init(listRedundant: Bool = false, builtinWins: Bool = false, strict: Bool = false, quiet: Bool = false) {
            self.listRedundant = listRedundant
            self.builtinWins = builtinWins
            self.strict = strict
            self.quiet = quiet
        }
    }

    /// A redefinition the merge saw, for callers that want more than the messages.
    public struct Redefinition: Sendable {
        public var symbol: String
        public var fragment: String
        public var previous: String
        public var new: String
        /// True when `-y` kept the previous `y`.
        public var keptBuiltin: Bool
    }

    public var options: Options
    /// The symbol prefix (`CONFIG_`, or the `CONFIG_` environment variable).
    public var prefix: String

    public init(options: Options = Options(), prefix: String = ConfigFile.environmentPrefix) {
        self.options = options
        self.prefix = prefix
    }

    /// The result of a merge.
    public struct Result: Sendable {
        /// The merged config's bytes, exactly as the script's temporary file holds them.
        public var config: [UInt8]
        /// Everything the script prints on standard output, in order.
        public var messages: [UInt8]
        public var redefinitions: [Redefinition]
        /// Set when `-s` was given and a fragment redefined a value: the script then
        /// prints its message, exits 1 and writes no output.
        public var strictViolated: Bool
    }

    /// A named input: the path as the user gave it (it appears in messages) and its bytes.
    public struct Input: Sendable {
        public var path: String
        public var bytes: [UInt8]
        public init(path: String, bytes: [UInt8]) {
            self.path = path
            self.bytes = bytes
        }

        /// Reads and validates a config file: it must be text and parse as a .config.
        public static func read(_ path: String, prefix: String) throws(KernelKitError) -> Input {
            let bytes = try InputFile.readText(path)
            _ = try ConfigFile(bytes: bytes, path: path, prefix: prefix)
            return Input(path: path, bytes: bytes)
        }
    }

    /// Merges `fragments` into `base`, in order.
    ///
    /// - Parameter progress: receives each chunk of standard output as the script would
    ///   print it, so that a failure part-way leaves the same output as the script.
    public func merge(base: Input, fragments: [Input], progress: (([UInt8]) -> Void)? = nil) -> Result {
        var messages = [UInt8]()
        func say(_ words: [ShellEcho.Word]) {
            let line = ShellEcho.echo(words)
            messages += line
            progress?(line)
        }
        func warn(_ words: [ShellEcho.Word]) {
            if !options.quiet { say(words) }
        }
        func lit(_ s: String) -> ShellEcho.Word { .quoted(Array(s.utf8)) }

        say([lit("Using \(base.path) as base")])
        var tmp = base.bytes
        var redefinitions = [Redefinition]()
        var violated = false
        let configWord = Array("CONFIG_".utf8)
        for fragment in fragments {
            say([lit("Merging \(fragment.path)")])
            var merge = fragment.bytes
            for cfg in optionsSet(by: merge) {
                let previousLines = TextLines.grepWord(cfg, in: tmp)
                if previousLines.isEmpty { continue }
                let previous = TextLines.joined(previousLines)
                let new = TextLines.joined(TextLines.grepWord(cfg, in: merge))
                let cfgText = String(decoding: cfg, as: UTF8.self)
                var keepBuiltin = false
                if options.builtinWins,
                   Self.valueAfterConfigPrefix(new, configWord) == Array("m".utf8),
                   Self.valueAfterConfigPrefix(previous, configWord) == Array("y".utf8) {
                    warn([lit("Previous"), lit("value:"), .unquoted(previous)])
                    warn([lit("New"), lit("value:"), .unquoted(new)])
                    warn([lit("-y"), lit("passed,"), lit("will"), lit("not"), lit("demote"), lit("y"), lit("to"), lit("m")])
                    warn([])
                    keepBuiltin = true
                    redefinitions.append(Redefinition(symbol: cfgText, fragment: fragment.path,
                                                      previous: String(decoding: previous, as: UTF8.self),
                                                      new: String(decoding: new, as: UTF8.self), keptBuiltin: true))
                } else if previous != new {
                    warn([lit("Value"), lit("of"), lit(cfgText), lit("is"), lit("redefined"), lit("by"), lit("fragment"),
                          .unquoted(Array(fragment.path.utf8) + [UInt8(ascii: ":")])])
                    warn([lit("Previous"), lit("value:"), .unquoted(previous)])
                    warn([lit("New"), lit("value:"), .unquoted(new)])
                    warn([])
                    if options.strict { violated = true }
                    redefinitions.append(Redefinition(symbol: cfgText, fragment: fragment.path,
                                                      previous: String(decoding: previous, as: UTF8.self),
                                                      new: String(decoding: new, as: UTF8.self), keptBuiltin: false))
                } else if options.listRedundant {
                    warn([lit("Value"), lit("of"), lit(cfgText), lit("is"), lit("redundant"), lit("by"), lit("fragment"),
                          .unquoted(Array(fragment.path.utf8) + [UInt8(ascii: ":")])])
                }
                if keepBuiltin {
                    TextLines.deleteLines(containing: cfg, in: &merge)
                } else {
                    TextLines.deleteLines(containing: cfg, in: &tmp)
                }
            }
            // "In case the previous file lacks a new line at the end": echo >> $TMP_FILE.
            tmp.append(0x0A)
            tmp += merge
        }
        if violated {
            say([lit("The fragment redefined a value and strict mode had been passed.")])
        }
        return Result(config: tmp, messages: messages, redefinitions: redefinitions, strictViolated: violated)
    }

    /// The check merge_config.sh makes after `make alldefconfig`: every option the merged
    /// fragments set must have the same lines (`grep -w`) in the final .config, else
    /// "Value requested for CONFIG_X not in final .config" with the requested and actual lines.
    public func unmetRequests(merged: [UInt8], final: [UInt8]) -> (messages: [UInt8], symbols: [String]) {
        var out = [UInt8]()
        var symbols = [String]()
        for cfg in optionsSet(by: merged) {
            let requested = TextLines.joined(TextLines.grepWord(cfg, in: merged))
            let actual = TextLines.joined(TextLines.grepWord(cfg, in: final))
            if requested == actual { continue }
            let name = String(decoding: cfg, as: UTF8.self)
            symbols.append(name)
            out += ShellEcho.echo([.quoted(Array("Value requested for \(name) not in final .config".utf8))])
            out += ShellEcho.echo([.quoted(Array("Requested value:  ".utf8) + requested)])
            out += ShellEcho.echo([.quoted(Array("Actual value:     ".utf8) + actual)])
            out += ShellEcho.echo([.quoted([])])
        }
        return (out, symbols)
    }

    /// The closing lines the script prints after writing `-m` output to `path`.
    public static func writtenMessage(path: String) -> [UInt8] {
        ShellEcho.echo([.quoted(Array("#".utf8))])
            + ShellEcho.echo([.quoted(Array("# merged configuration written to \(path) (needs make)".utf8))])
            + ShellEcho.echo([.quoted(Array("#".utf8))])
    }

    /// Where the script writes: `$KCONFIG_CONFIG` if set and non-empty, else
    /// `readlink -m DIR/.config` with `-O DIR`, else `.config`.
    public static func outputPath(outputDirectory: String?) throws(KernelKitError) -> String {
        if let env = getenv("KCONFIG_CONFIG"), env.pointee != 0 { return String(cString: env) }
        guard let dir = outputDirectory else { return ".config" }
        var st = stat()
        guard stat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            // merge_config.sh: "output directory $2 does not exist".
            throw KernelKitError(.usage, "output directory \(dir) does not exist")
        }
        guard let real = realpath(dir, nil) else {
            throw KernelKitError(.usage, "output directory \(dir) cannot be resolved", underlying: SystemError.current)
        }
        defer { free(real) }
        let resolved = String(cString: real)
        return resolved == "/" ? "/.config" : resolved + "/.config"
    }

    /// The options a fragment sets, in order, duplicates kept: the names the script's
    /// `sed -n -e 's/^\(CONFIG_[a-zA-Z0-9_]*\)=.*/\1/p' -e 's/^# \(CONFIG_[a-zA-Z0-9_]*\) is not set$/\1/p'`
    /// prints.
    func optionsSet(by bytes: [UInt8]) -> [[UInt8]] {
        let prefix = Array(self.prefix.utf8)
        let notSet = Array(" is not set".utf8)
        var names = [[UInt8]]()
        for line in TextLines.split(bytes) {
            let text = bytes[line]
            if text.starts(with: prefix) {
                var end = text.startIndex + prefix.count
                while end < text.endIndex && TextLines.isWordByte(text[end]) { end += 1 }
                if end < text.endIndex && text[end] == UInt8(ascii: "=") {
                    names.append(Array(text[text.startIndex..<end]))
                    continue
                }
            }
            if text.starts(with: Array("# ".utf8) + prefix) {
                let start = text.startIndex + 2
                var end = start + prefix.count
                while end < text.endIndex && TextLines.isWordByte(text[end]) { end += 1 }
                if text[end...].elementsEqual(notSet) {
                    names.append(Array(text[start..<end]))
                }
            }
        }
        return names
    }

    /// `${VAL#CONFIG_*=}`: the value with the shortest prefix matching `CONFIG_*=` removed.
    /// The script spells `CONFIG_` literally here, whatever the prefix.
    static func valueAfterConfigPrefix(_ value: [UInt8], _ configWord: [UInt8]) -> [UInt8] {
        guard value.starts(with: configWord),
              let eq = value[configWord.count...].firstIndex(of: UInt8(ascii: "=")) else { return value }
        return Array(value[(eq + 1)...])
    }
}

/// Line-oriented text operations with grep and sed semantics, on bytes.
enum TextLines {
    static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
    }

    /// The ranges of the lines of `bytes`, split at `\n`; a last line without one counts.
    static func split(_ bytes: [UInt8]) -> [Range<Int>] {
        var ranges = [Range<Int>]()
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            ranges.append(start..<end)
            start = end + 1
        }
        return ranges
    }

    /// The line containing offset `i`.
    static func line(around i: Int, in bytes: [UInt8]) -> Range<Int> {
        var start = i
        while start > 0 && bytes[start - 1] != 0x0A { start -= 1 }
        let end = bytes[i...].firstIndex(of: 0x0A) ?? bytes.count
        return start..<end
    }

    /// Offsets of every occurrence of `needle` in `bytes`.
    static func occurrences(of needle: [UInt8], in bytes: [UInt8]) -> [Int] {
        guard let first = needle.first, bytes.count >= needle.count else { return [] }
        var result = [Int]()
        bytes.withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { pin in
                let last = hay.count - pin.count
                var i = 0
                while i <= last {
                    if hay[i] == first {
                        var k = 1
                        while k < pin.count && hay[i + k] == pin[k] { k += 1 }
                        if k == pin.count { result.append(i) }
                    }
                    i += 1
                }
            }
        }
        return result
    }

    /// `grep -w WORD`: the lines in which `word` (word characters only) occurs with a
    /// non-word character or the line's edge on both sides. In order, each line once.
    static func grepWord(_ word: [UInt8], in bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var lines = [ArraySlice<UInt8>]()
        var lastLine: Range<Int>? = nil
        for at in occurrences(of: word, in: bytes) {
            if let last = lastLine, last.contains(at) { continue }
            let before = at > 0 ? bytes[at - 1] : 0x0A
            let afterIndex = at + word.count
            let after = afterIndex < bytes.count ? bytes[afterIndex] : 0x0A
            if isWordByte(before) || isWordByte(after) { continue }
            let range = line(around: at, in: bytes)
            lastLine = range
            lines.append(bytes[range])
        }
        return lines
    }

    /// `$(grep ...)`: the lines joined by newlines, trailing newlines removed.
    static func joined(_ lines: [ArraySlice<UInt8>]) -> [UInt8] {
        var out = [UInt8]()
        for (i, line) in lines.enumerated() {
            if i > 0 { out.append(0x0A) }
            out += line
        }
        while out.last == 0x0A { out.removeLast() }
        return out
    }

    /// `sed -i "/WORD[ =]/d"`: deletes every line containing `word` followed by a space or
    /// `=`, anywhere in the line. A kept last line keeps its missing newline.
    static func deleteLines(containing word: [UInt8], in bytes: inout [UInt8]) {
        var doomed = [Range<Int>]()
        for at in occurrences(of: word, in: bytes) {
            let afterIndex = at + word.count
            guard afterIndex < bytes.count, bytes[afterIndex] == 0x20 || bytes[afterIndex] == 0x3D else { continue }
            if let last = doomed.last, last.contains(at) { continue }
            var range = line(around: at, in: bytes)
            if range.upperBound < bytes.count { range = range.lowerBound..<(range.upperBound + 1) } // with its newline
            doomed.append(range)
        }
        if doomed.isEmpty { return }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var cursor = 0
        for range in doomed {
            out += bytes[cursor..<range.lowerBound]
            cursor = range.upperBound
        }
        out += bytes[cursor...]
        bytes = out
    }
}

extension MergeConfig {
    /// Where and how `merge_config.sh` resolves the merged file without `-m`:
    /// `make KCONFIG_ALLCONFIG=<merged> alldefconfig` (allnoconfig with `-n`) in a tree.
    public struct Resolution: Sendable {
        public var srctree: String
        /// make's `ARCH=`.
        public var arch: String
        public var allno: Bool
        public var dummyTools: Bool
        public init(srctree: String, arch: String, allno: Bool = false, dummyTools: Bool = false) {
            self.srctree = srctree
            self.arch = arch
            self.allno = allno
            self.dummyTools = dummyTools
        }
    }

    /// The whole of `merge_config.sh [-m] [-O DIR] BASE FRAGMENT…`: creates a missing
    /// base (as the script does), merges, writes the output atomically, and without `-m`
    /// resolves it through `resolution` and reports every requested value that did not
    /// survive. What the script prints on standard output goes to `stdout` as it comes;
    /// conf's standard error and the note about a created base go to `stderr`.
    ///
    /// - Returns: the exit status: 0, or 1 when strict mode found a redefinition or a
    ///   requested value was dropped.
    public func run(base: String, fragments: [String], outputDirectory: String?, resolution: Resolution?,
                    stdout: ([UInt8]) -> Void, stderr: (String) -> Void) throws(KernelKitError) -> Int32 {
        let output = try Self.outputPath(outputDirectory: outputDirectory)
        if access(base, R_OK) != 0 && access(base, F_OK) != 0 {
            stderr("The base file '\(base)' does not exist. Creating one...")
            try AtomicFile.write([], to: base)
        }
        let baseInput = try Input.read(base, prefix: prefix)
        var inputs = [Input]()
        for path in fragments {
            do {
                inputs.append(try Input.read(path, prefix: prefix))
            } catch where error.code == .fileNotFound {
                // merge_config.sh's own words.
                throw KernelKitError(.fileNotFound, "The merge file '\(path)' does not exist.  Exit.",
                                     at: SourceLocation(file: path, line: 0))
            }
        }
        let result = withoutActuallyEscaping(stdout) { merge(base: baseInput, fragments: inputs, progress: $0) }
        if result.strictViolated { return 1 }
        guard let resolution else {
            try AtomicFile.write(result.config, to: output)
            stdout(Self.writtenMessage(path: output))
            return 0
        }
        let resolver = KconfigResolver(srctree: resolution.srctree, arch: resolution.arch,
                                       overrides: try KconfigResolver.makeVariables([], dummyToolsIn: resolution.dummyTools ? resolution.srctree : nil),
                                       probeCacheDirectory: ProbeCache.defaultDirectory)
        let resolved = try resolver.resolve(resolution.allno ? .allnoconfig : .alldefconfig,
                                            allConfig: (name: output, bytes: result.config))
        if !resolved.stderr.isEmpty { stderr(resolved.stderr) }
        let final = Array(resolved.config.utf8)
        try AtomicFile.write(final, to: output)
        // conf names the file as it was told it: $KCONFIG_CONFIG, or .config in the output directory.
        let written = getenv("KCONFIG_CONFIG").map { String(cString: $0) } ?? ".config"
        stdout(Array("#\n# configuration written to \(written)\n#\n".utf8))
        let check = unmetRequests(merged: result.config, final: final)
        stdout(check.messages)
        return check.symbols.isEmpty ? 0 : 1
    }
}
