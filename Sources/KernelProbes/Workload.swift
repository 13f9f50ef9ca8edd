import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// The command a probe watches (`--workload 'CMD ARGS'`): started once the probe is
/// attached, waited for without blocking the probe's loop, and recorded in the report
/// with how it ended, so that run A and run B of `probe compare` say what they measured.
public final class Workload {
    public struct Outcome: Sendable, Equatable {
        public var command: [String]
        /// The exit status, or nil when a signal ended it.
        public var exitStatus: Int?
        public var signal: Int?
        public var seconds: Double

        public var json: JSONValue {
            .object([("command", .array(command.map { .string($0) })), ("exit_status", exitStatus.map { .int($0) } ?? .null),
                     ("signal", signal.map { .int($0) } ?? .null), ("seconds", .double((seconds * 1000).rounded() / 1000))])
        }

        public var line: String {
            "Workload: \(command.joined(separator: " ")) " + (exitStatus.map { "exited with status \($0)" } ?? "killed by signal \(signal ?? 0)")
                + " after \(fixedPoint(seconds, decimals: 2)) s"
        }
    }

    public let command: [String]
    private var pid: pid_t = 0
    private var started = timespec()
    public private(set) var outcome: Outcome?

    /// Splits `line` into words as a shell does for plain words, 'single' and "double"
    /// quotes and backslashes (no variables, globs or pipes: for those, name `sh -c '…'`).
    public init(_ line: String) throws(KernelKitError) {
        var words = [String](), word = "", inWord = false
        var quote: Character?
        var escape = false
        for ch in line {
            if escape { word.append(ch); escape = false; inWord = true; continue }
            if let q = quote {
                if ch == q { quote = nil } else if ch == "\\" && q == "\"" { escape = true } else { word.append(ch) }
                continue
            }
            switch ch {
            case "\\": escape = true
            case "'", "\"": quote = ch; inWord = true
            case " ", "\t", "\n":
                if inWord { words.append(word); word = ""; inWord = false }
            default: word.append(ch); inWord = true
            }
        }
        if quote != nil || escape { throw KernelKitError(.usage, "--workload '\(line)': unterminated quote or trailing backslash") }
        if inWord { words.append(word) }
        guard !words.isEmpty else { throw KernelKitError(.usage, "--workload is empty: give the command to run, e.g. --workload 'fio job.fio'") }
        command = words
    }

    /// Starts the command (searched in PATH), its output going where ours goes.
    public func start() throws(KernelKitError) {
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        clock_gettime(CLOCK_MONOTONIC, &started)
        let rc = posix_spawnp(&pid, command[0], nil, nil, &argv, environ)
        if rc != 0 {
            throw KernelKitError(.usage, "cannot start the workload '\(command[0])': \(String(cString: strerror(rc)))")
        }
    }

    /// True once the command has exited (reaped without blocking).
    public var finished: Bool {
        if outcome != nil { return true }
        guard pid > 0 else { return false }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { record(status); return true }
        return false
    }

    /// Stops waiting: on Ctrl-C the command gets SIGTERM and is reaped.
    public func terminate() {
        guard outcome == nil, pid > 0 else { return }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        if waitpid(pid, &status, 0) == pid { record(status) }
    }

    private func record(_ status: Int32) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let seconds = Double(now.tv_sec - started.tv_sec) + Double(now.tv_nsec - started.tv_nsec) / 1e9
        // <sys/wait.h>'s macros, which Swift does not import: WIFEXITED is (status & 0x7f) == 0.
        let signalled = status & 0x7f
        outcome = Outcome(command: command, exitStatus: signalled == 0 ? Int((status >> 8) & 0xff) : nil,
                          signal: signalled == 0 ? nil : Int(signalled), seconds: seconds)
    }
}
