import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// The Kconfig macro language (Documentation/kbuild/kconfig-macro-language.rst), ported
/// from `scripts/kconfig/preprocess.c`: recursive (`=`), simple (`:=`) and appending
/// (`+=`) variables, user-defined functions with `$(1)`…, the built-in functions, and
/// environment variables.
final class Preprocessor {
    enum Flavor { case recursive, simple, append }

    struct Variable {
        var value: String
        var flavor: Flavor
        var expansionCount = 0
    }

    /// A fatal preprocessor error (`pperror()`), already worded as the kernel words it.
    struct Failure: Error {
        var message: String
    }

    private var variables: [String: Variable] = [:]
    /// The environment conf would see.
    var environment: [String: String]
    /// Environment variables referenced so far, for `auto.conf.cmd`.
    private(set) var referencedEnvironment: [(String, String)] = []
    /// Runs `$(shell,…)` commands; replaceable so that probes can be cached.
    var shell: (String) -> String
    /// Where `$(info,…)` and `$(warning-if,…)` output goes.
    var stdout: (String) -> Void
    var stderr: (String) -> Void
    /// The current file and line, for `$(filename)`, `$(lineno)` and messages.
    var location: () -> (String, Int) = { ("", 0) }

    init(environment: [String: String], shell: @escaping (String) -> String,
         stdout: @escaping (String) -> Void, stderr: @escaping (String) -> Void) {
        self.environment = environment
        self.shell = shell
        self.stdout = stdout
        self.stderr = stderr
    }

    /// The longest text one expansion may produce. conf has no limit, and a variable that
    /// reaches itself through another (`Y = $(X)`, then `X += $(Y)`) doubles with every
    /// `+=`: thirty such lines ask conf for gigabytes (the kconfig fuzz target found it).
    /// No real tree comes near this: `$(shell,…)` output is capped at 4095 bytes
    /// (`do_shell()`), and the longest values, compiler flags, are well under a kilobyte.
    static let maxExpansion = 4 << 20

    private func tooLong() -> Failure {
        fail("expansion longer than 4 MiB (a variable that reaches itself through another doubles with each '+=')")
    }

    private func fail(_ message: String) -> Failure {
        let (file, line) = location()
        return Failure(message: "\(file):\(line): \(message)")
    }

    // MARK: variables

    /// `variable_add()`.
    func add(name: String, value: String, flavor: Flavor) throws {
        var flavor = flavor
        if var v = variables[name] {
            if flavor == .append {
                // For defined variables, += inherits the existing flavor.
                let newValue = v.flavor == .simple ? try expand(value) : value
                if v.value.utf8.count + 1 + newValue.utf8.count > Self.maxExpansion { throw tooLong() }
                v.value += " " + newValue
                variables[name] = v
                return
            }
            v.flavor = flavor
            v.value = flavor == .simple ? try expand(value) : value
            variables[name] = v
            return
        }
        // For undefined variables, += assumes the recursive flavor.
        if flavor == .append { flavor = .recursive }
        variables[name] = Variable(value: flavor == .simple ? try expand(value) : value, flavor: flavor)
    }

    private func expandVariable(_ name: String, _ args: [String]) throws -> String? {
        guard var v = variables[name] else { return nil }
        if args.isEmpty && v.expansionCount > 0 {
            throw fail("Recursive variable '\(name)' references itself (eventually)")
        }
        if v.expansionCount > 1000 { throw fail("Too deep recursive expansion") }
        v.expansionCount += 1
        variables[name] = v
        defer { variables[name]!.expansionCount -= 1 }
        if v.flavor == .recursive { return try expand(v.value, args: args) }
        return v.value
    }

    private func expandFunction(_ name: String, _ args: [String]) throws -> String? {
        let table: [String: (Int, Int)] = [
            "error-if": (2, 2), "filename": (0, 0), "info": (1, 1), "lineno": (0, 0),
            "shell": (1, 1), "warning-if": (2, 2),
        ]
        guard let (minArgs, maxArgs) = table[name] else { return nil }
        if args.count < minArgs { throw fail("too few function arguments passed to '\(name)'") }
        if args.count > maxArgs { throw fail("too many function arguments passed to '\(name)'") }
        switch name {
        case "error-if":
            if args[0] == "y" { throw fail(args[1]) }
            return ""
        case "filename": return location().0
        case "info":
            stdout(args[0] + "\n")
            return ""
        case "lineno": return String(location().1)
        case "shell": return shell(args[0])
        default: // warning-if
            if args[0] == "y" {
                let (file, line) = location()
                stderr("\(file):\(line): \(args[1])\n")
            }
            return ""
        }
    }

    private func expandEnvironment(_ name: String) -> String? {
        if name.isEmpty { return nil }
        if let seen = referencedEnvironment.first(where: { $0.0 == name }) { return seen.1 }
        guard let value = environment[name] else { return nil }
        referencedEnvironment.append((name, value))
        return value
    }

    // MARK: expansion

    /// `eval_clause()`: the text between `$(` and its `)`.
    private func evalClause(_ clause: [UInt8], args: [String]) throws -> String {
        let text = String(decoding: clause, as: UTF8.self)
        if let n = Int(text), n > 0, n <= args.count, text.allSatisfy(\.isNumber) { return args[n - 1] }
        var parts = [[UInt8]]()
        var nest = 0
        var start = 0
        for (i, c) in clause.enumerated() {
            if nest == 0 && c == UInt8(ascii: ",") {
                parts.append(Array(clause[start..<i]))
                start = i + 1
            } else if c == UInt8(ascii: "(") {
                nest += 1
            } else if c == UInt8(ascii: ")") {
                nest -= 1
            }
        }
        parts.append(Array(clause[start...]))
        if parts.count > 16 { throw fail("too many function arguments") }
        let name = try expand(String(decoding: parts[0], as: UTF8.self), args: args)
        let newArgs = try parts.dropFirst().map { try expand(String(decoding: $0, as: UTF8.self), args: args) }
        if let v = try expandVariable(name, newArgs) { return v }
        if let f = try expandFunction(name, newArgs) { return f }
        if newArgs.isEmpty, let e = expandEnvironment(name) { return e }
        return ""
    }

    /// `expand_dollar_with_args()`: `bytes[i]` is just after a `$`. Returns the
    /// expansion and the index after what it consumed.
    func expandDollar(_ bytes: [UInt8], at i: Int, args: [String] = []) throws -> (String, Int) {
        guard i < bytes.count, bytes[i] == UInt8(ascii: "(") else { return ("$", i) }
        var q = i + 1
        var nest = 0
        while q < bytes.count {
            if bytes[q] == UInt8(ascii: "(") {
                nest += 1
            } else if bytes[q] == UInt8(ascii: ")") {
                if nest == 0 { break }
                nest -= 1
            }
            q += 1
        }
        if q >= bytes.count {
            throw fail("unterminated reference to '\(String(decoding: bytes[(i + 1)...], as: UTF8.self))': missing ')'")
        }
        return (try evalClause(Array(bytes[(i + 1)..<q]), args: args), q + 1)
    }

    /// `__expand_string()`: expands from `start` until `isEnd` says stop (outside
    /// references). Returns the text and the index where it stopped.
    func expand(_ bytes: [UInt8], from start: Int, args: [String] = [], isEnd: (UInt8?) -> Bool) throws -> (String, Int) {
        var out = [UInt8]()
        var p = start
        while true {
            if p < bytes.count && bytes[p] == UInt8(ascii: "$") {
                let (expansion, next) = try expandDollar(bytes, at: p + 1, args: args)
                out.append(contentsOf: expansion.utf8)
                if out.count > Self.maxExpansion { throw tooLong() }
                p = next
                continue
            }
            if isEnd(p < bytes.count ? bytes[p] : nil) { break }
            out.append(bytes[p])
            p += 1
        }
        return (String(decoding: out, as: UTF8.self), p)
    }

    func expand(_ text: String, args: [String] = []) throws -> String {
        try expand(Array(text.utf8), from: 0, args: args, isEnd: { $0 == nil }).0
    }

    /// `expand_one_token()`: expands through word characters and references.
    func expandToken(_ bytes: [UInt8], from start: Int) throws -> (String, Int) {
        try expand(bytes, from: start, isEnd: { c in
            guard let c else { return true }
            return !(Lexer.isWordByte(c) && c != UInt8(ascii: "$"))
        })
    }

    /// Runs a command as popen() does (`sh -c`), with conf's post-processing in
    /// `do_shell()`: at most 4095 bytes, trailing newlines removed, other newlines made spaces.
    /// `quiet` discards what it prints on standard error (speculative probe runs).
    static func runShell(_ command: String, environment: [String: String], directory: String, quiet: Bool = false) -> String {
        // Run in the tree, as conf runs there under make: one shell changes directory,
        // then runs the command as its own line (so the command parses as it would alone).
        let quotedDirectory = "'" + directory.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
        let script = "cd -- \(quotedDirectory) || exit 1\n\(command)"
        var output = Subprocess.run(["/bin/sh", "-c", script], environment: environment, discardStandardError: quiet).output
        if output.count >= 4096 { output = Array(output[0..<4095]) }
        while output.last == 0x0A { output.removeLast() }
        for i in output.indices where output[i] == 0x0A { output[i] = 0x20 }
        return String(decoding: output, as: UTF8.self)
    }
}
