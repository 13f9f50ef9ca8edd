import ArgumentParser
import KernelKitCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing to the terminal, and turning library errors into messages and exit codes.
/// Exit codes across the CLI: 0 success, 1 a finding (a difference with --exit-code,
/// a strict-mode redefinition), 2 a usage or input error.
enum Terminal {
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { buf in writeAll(1, buf) }
    }

    static func write(bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { writeAll(1, $0) }
    }

    /// Standard error as is, with no line end added (progress bars).
    static func writeError(_ text: String) {
        var text = text
        text.withUTF8 { buf in writeAll(2, buf) }
    }

    static func error(_ text: String) {
        var line = text
        if !line.hasSuffix("\n") { line += "\n" }
        line.withUTF8 { buf in writeAll(2, buf) }
    }

    private static func writeAll(_ fd: Int32, _ buf: UnsafeBufferPointer<UInt8>) {
        var offset = 0
        while offset < buf.count {
            let n = Glibc.write(fd, buf.baseAddress! + offset, buf.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return // EPIPE and the like: the reader went away; nothing useful to do
            }
            offset += n
        }
    }

    /// True when standard output is a terminal and NO_COLOR is not set.
    static var wantsColor: Bool {
        isatty(1) == 1 && getenv("NO_COLOR") == nil
    }

    /// Runs `body`, printing a ``KernelKitError`` as one line on stderr and exiting 2.
    static func run(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as KernelKitError {
            Terminal.error("kernelkit: \(error)")
            throw ExitCode(error.code == .strictRedefinition ? 1 : 2)
        }
    }
}
