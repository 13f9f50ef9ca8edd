/// What `/bin/sh` (dash, on Debian) prints for `echo`, so that merge_config.sh's
/// messages can be reproduced byte for byte.
///
/// merge_config.sh writes `echo Previous  value: $PREV_VAL` with the variable unquoted,
/// so the shell splits the value into fields at spaces, tabs and newlines (runs of them
/// collapse to one space), and dash's `echo` then interprets backslash escapes
/// (`echocmd()` and `conv_escape_str()` in dash's `src/bltin/printf.c`).
/// Pathname expansion of unquoted fields is not reproduced: it depends on the files in
/// the directory merge_config.sh happens to run in.
enum ShellEcho {
    /// One argument word of an `echo` command line.
    enum Word {
        /// Literal text in the script, or a double-quoted expansion: one argument.
        case quoted([UInt8])
        /// An unquoted `$VAR`: split into fields at IFS white space.
        case unquoted([UInt8])
    }

    static func fields(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A }).map(Array.init)
    }

    /// The bytes `echo WORDS...` writes.
    static func echo(_ words: [Word]) -> [UInt8] {
        var args = [[UInt8]]()
        for word in words {
            switch word {
            case .quoted(let b): args.append(b)
            case .unquoted(let b): args.append(contentsOf: fields(b))
            }
        }
        var out = [UInt8]()
        var index = 0
        var trailingNewline = true
        if let first = args.first, first == Array("-n".utf8) {
            trailingNewline = false
            index = 1
        }
        while index < args.count {
            if !appendEscaped(args[index], to: &out) { return out } // \c: stop, no newline
            index += 1
            if index < args.count { out.append(0x20) }
        }
        if trailingNewline { out.append(0x0A) }
        return out
    }

    /// Appends `arg` with dash's echo escapes decoded; false when `\c` stopped output.
    private static func appendEscaped(_ arg: [UInt8], to out: inout [UInt8]) -> Bool {
        func isOctal(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x37 }
        var i = 0
        while i < arg.count {
            let ch = arg[i]
            i += 1
            if ch != UInt8(ascii: "\\") {
                out.append(ch)
                continue
            }
            if i >= arg.count {
                out.append(0x5C) // a trailing backslash prints as itself
                break
            }
            let c = arg[i]
            i += 1
            if c == UInt8(ascii: "c") { return false }
            // "\0nnn": the 0 introduces up to three octal digits.
            var p = i - 1
            if c == UInt8(ascii: "0"), i < arg.count, isOctal(arg[i]) { p = i }
            // conv_escape(p)
            let e = arg[p]
            var value: UInt8
            switch e {
            case UInt8(ascii: "\\"): value = 0x5C; p += 1
            case UInt8(ascii: "a"): value = 0x07; p += 1
            case UInt8(ascii: "b"): value = 0x08; p += 1
            case UInt8(ascii: "f"): value = 0x0C; p += 1
            case UInt8(ascii: "n"): value = 0x0A; p += 1
            case UInt8(ascii: "r"): value = 0x0D; p += 1
            case UInt8(ascii: "t"): value = 0x09; p += 1
            case UInt8(ascii: "v"): value = 0x0B; p += 1
            default:
                if isOctal(arg[p]) {
                    var v = 0
                    var digits = 3
                    repeat {
                        v = (v << 3) + Int(arg[p] - 0x30)
                        p += 1
                        digits -= 1
                    } while p < arg.count && isOctal(arg[p]) && digits > 0
                    value = UInt8(truncatingIfNeeded: v)
                } else {
                    value = 0x5C // not an escape: the backslash stays, the next byte follows
                }
            }
            i = p
            // dash prints the converted argument by length, so an escaped NUL is output.
            out.append(value)
        }
        return true
    }
}
