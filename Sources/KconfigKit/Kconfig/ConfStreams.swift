import KernelKitCore

/// What conf printed before it gave up, byte for byte: the underlying cause of every
/// Kconfig ``KernelKitError``, so that ``ConfProgram`` can reproduce conf's own streams
/// (the kernel's selftests compare them) while the error itself is located like any other.
package struct ConfStreams: Error, Sendable, CustomStringConvertible {
    package var stdout: String
    package var stderr: String

    /// Adds nothing to the error's own line: the message already holds conf's text.
    package var description: String { "" }

    /// The error for a Kconfig tree conf rejects. conf's message starts with `file:line: `
    /// when one statement is at fault (zconf_error() in scripts/kconfig/parser.y, the
    /// preprocessor's pperror()); the error is then located there (the file relative to
    /// the tree, as conf names it, so editors in the tree find it) and its message is the
    /// rest. Reports that span many places (a recursive dependency, a recursive inclusion)
    /// keep their whole text as the message.
    package static func error(_ confText: String, stdout: String, file: String, line: Int) -> KernelKitError {
        var message = Substring(confText)
        while message.hasSuffix("\n") { message = message.dropLast() }
        var location: SourceLocation? = nil
        let prefix = "\(file):\(line): "
        if line > 0, message.hasPrefix(prefix), !message.contains("\n") {
            message = message.dropFirst(prefix.count)
            location = SourceLocation(file: file, line: line)
        }
        return KernelKitError(.kconfig, String(message), at: location,
                              underlying: ConfStreams(stdout: stdout, stderr: confText))
    }
}
