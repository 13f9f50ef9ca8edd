/// A place in an input file that a diagnostic points at.
///
/// Lines and columns are 1-based, as compilers and the kernel's own tools print them
/// (`scripts/kconfig/confdata.c` prints `file:line:`), so an editor can jump to them.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int?

    public init(file: String, line: Int, column: Int? = nil) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`, `file:line`, or just `file` for whole-file problems (line 0).
    public var description: String {
        if line <= 0 { return file }
        if let column { return "\(file):\(line):\(column)" }
        return "\(file):\(line)"
    }
}

/// The error type every KernelKit library throws.
///
/// Modelled on swift-certificates' and swift-nio's errors: a struct with a stable
/// ``Code`` that callers can match on, a message for people, the location in the
/// *input* that caused it, and an optional underlying cause. It is a struct rather than
/// an enum so that new codes do not break clients.
public struct KernelKitError: Error, Sendable, CustomStringConvertible {
    /// A stable, machine-readable error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The input file does not exist.
        public static let fileNotFound = Code("file-not-found")
        /// The input file exists but cannot be read (permissions, I/O error).
        public static let unreadable = Code("unreadable")
        /// A directory was given where a file is expected.
        public static let isDirectory = Code("is-directory")
        /// The input contains NUL bytes: it is a binary file, not text.
        public static let binaryFile = Code("binary-file")
        /// The input is not valid UTF-8.
        public static let invalidUTF8 = Code("invalid-utf8")
        /// A line does not have any form the kernel's tools accept.
        public static let malformedLine = Code("malformed-line")
        /// An output file could not be written.
        public static let writeFailed = Code("write-failed")
        /// Command-line usage that cannot be carried out.
        public static let usage = Code("usage")
        /// A compressed file or kernel image cannot be decompressed (or compressed).
        public static let compression = Code("compression")
        /// merge_config.sh's strict mode (`-s`) found a redefinition.
        public static let strictRedefinition = Code("strict-redefinition")
        /// A Kconfig tree that the kernel's conf rejects (a syntax error, a failed
        /// `$(shell,…)` check, a recursive dependency); the message is conf's.
        public static let kconfig = Code("kconfig")
    }

    public var code: Code
    public var message: String
    public var location: SourceLocation?
    public var underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, at location: SourceLocation? = nil,
                underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.location = location
        self.underlying = underlying
    }

    /// One line: `file:line: error: message`, the form compilers use and editors parse.
    public var description: String {
        var text = ""
        if let location { text += "\(location): " }
        text += "error: \(message)"
        // A cause whose description is empty (conf's own streams) adds nothing to the line.
        if let underlying {
            let cause = "\(underlying)"
            if !cause.isEmpty { text += " (\(cause))" }
        }
        return text
    }
}

/// A non-fatal finding, such as a duplicate assignment in a .config.
public struct Warning: Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var location: SourceLocation?

    public init(_ message: String, at location: SourceLocation? = nil) {
        self.message = message
        self.location = location
    }

    public var description: String {
        if let location { return "\(location): warning: \(message)" }
        return "warning: \(message)"
    }
}
