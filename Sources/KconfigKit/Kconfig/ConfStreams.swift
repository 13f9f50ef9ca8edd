import KernelKitCore

/// What conf printed before it gave up, byte for byte: the underlying cause of every
/// Kconfig ``KernelKitError``, so that ``ConfProgram`` can reproduce conf's own streams
/// (the kernel's selftests compare them) while the error itself is located like any other.
package struct ConfStreams: Error, Sendable, CustomStringConvertible {
    package var stdout: String
    package var stderr: String

    /// Adds nothing to the error's own line: the message already holds conf's text.
    package var description: String { "" }

    /// The error for a Kconfig tree conf rejects, as one line: conf's report can span
    /// lines ("Kconfig:6: syntax error" then "Kconfig:3: missing end statement for this
    /// entry"; a recursive dependency's chain), and a CLI error is one line. Its first
    /// `file:line: ` (zconf_error() in scripts/kconfig/parser.y, the preprocessor's
    /// pperror()) locates the error, the file relative to the tree as conf names it, so
    /// editors in the tree find it; else the place the lexer stopped (`file`, `line`),
    /// when known. The rest, lines joined with "; ", is the message; warnings printed
    /// before the error are left out of it. conf's own bytes stay in the underlying
    /// ``ConfStreams``.
    package static func error(_ confText: String, stdout: String, file: String, line: Int) -> KernelKitError {
        // Warnings are dropped as bytes, before any line becomes a String: a tree full of
        // bad characters can make conf's report thousands of warning lines long. The scan
        // runs over the string's contiguous UTF-8 (a native String's storage): the generic
        // split over `String.UTF8View` spent a third of the Kconfig fuzz target's time here.
        var lines = [String]()
        var text = confText
        text.withUTF8 { bytes in
            let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
            var start = 0
            while start < bytes.count {
                let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
                var lo = start, hi = end
                start = end + 1
                if isWarning(UnsafeBufferPointer(rebasing: bytes[lo..<hi])) { continue }
                while lo < hi, bytes[lo] == space || bytes[lo] == tab { lo += 1 }
                while hi > lo, bytes[hi - 1] == space || bytes[hi - 1] == tab { hi -= 1 }
                let line = UnsafeBufferPointer(rebasing: bytes[lo..<hi])
                if !line.isEmpty { lines.append(String(decoding: line, as: UTF8.self)) }
            }
        }
        var location: SourceLocation? = line > 0 && !file.isEmpty ? SourceLocation(file: file, line: line) : nil
        if let first = lines.first, let at = located(first) {
            location = at.location
            lines[0] = at.rest
        }
        if let first = lines.first, first.hasPrefix("error: ") { lines[0] = String(first.dropFirst(7)) }
        var message = ""
        for l in lines {
            if !message.isEmpty { message += message.hasSuffix(":") || message.hasSuffix(".") || message.hasSuffix("!") ? " " : "; " }
            message += l
        }
        return KernelKitError(.kconfig, message, at: location, underlying: ConfStreams(stdout: stdout, stderr: confText))
    }

    /// Whether a line of conf's report holds ":warning: " (a `file:line:warning: …` line).
    private static func isWarning(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        let marker = ":warning: ".utf8
        guard line.count >= marker.count else { return false }
        for i in 0...(line.count - marker.count) where line[i] == UInt8(ascii: ":") {
            if line[i..<(i + marker.count)].elementsEqual(marker) { return true }
        }
        return false
    }

    /// "FILE:LINE: rest" split, or nil when the line does not start so.
    private static func located(_ text: String) -> (location: SourceLocation, rest: String)? {
        guard let sep = text.firstRange(of: ": ") else { return nil }
        let head = text[..<sep.lowerBound]
        guard let colon = head.lastIndex(of: ":"), let n = Int(head[head.index(after: colon)...]), n > 0,
              colon > head.startIndex else { return nil }
        return (SourceLocation(file: String(head[..<colon]), line: n), String(text[sep.upperBound...]))
    }
}
