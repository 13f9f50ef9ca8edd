#if canImport(Glibc)
import Glibc
#endif

/// Runs a program and collects what it prints, as the kernel's build runs its helpers:
/// the Kconfig probes (`$(shell,…)`), `patch` for `config impact --patch`.
public enum Subprocess {
    /// Runs `argv` (argv[0] a path) with `environment` (nil: this process's), its
    /// standard output (and with `mergeStandardError` its standard error) captured.
    /// `status` is the wait status's exit code, or -1 when the program could not start
    /// or was killed.
    ///
    /// SIGPIPE is at its default in the child, as under make: powerpc's
    /// gcc-check-fpatchable-function-entry.sh pipes into `grep -q` under pipefail and
    /// must see the writer behaviour conf's children see. (That script also races by
    /// itself: it feeds `echo` into a compiler that may exit without reading; with the
    /// dummy tools it fails about once in a hundred runs, for conf as for us.)
    /// `discardStandardError` sends it to /dev/null instead of this process's.
    public static func run(_ argv: [String], environment: [String: String]? = nil,
                           mergeStandardError: Bool = false, discardStandardError: Bool = false) -> (status: Int32, output: [UInt8]) {
        var pipeFDs: [Int32] = [0, 0]
        // Close-on-exec: programs run on several threads at once (`config defconfigs`,
        // the probe prefetch), and a pipe end inherited by another thread's child would
        // hold this reader open until that child exits. (pipe2() is not in Swift's Glibc
        // module; the window between the two calls is only as wide as a spawn racing them.)
        guard pipe(&pipeFDs) == 0 else { return (-1, []) }
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        if mergeStandardError {
            posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)
        } else if discardStandardError {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        let cArgv: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))
        defer {
            for p in cArgv { free(p) }
            for p in cEnv ?? [] { free(p) }
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        var pid: pid_t = 0
        let rc = cEnv == nil ? posix_spawn(&pid, argv[0], &actions, &attributes, cArgv, environ)
                             : posix_spawn(&pid, argv[0], &actions, &attributes, cArgv, cEnv!)
        close(pipeFDs[1])
        var output = [UInt8]()
        var status: Int32 = -1
        if rc == 0 {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(pipeFDs[0], &buffer, 4096)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                output += buffer[0..<n]
            }
            var ws: Int32 = 0
            while waitpid(pid, &ws, 0) < 0 && errno == EINTR {}
            // WIFEXITED / WEXITSTATUS, which Swift does not import (they are macros).
            if ws & 0x7F == 0 { status = (ws >> 8) & 0xFF }
        }
        close(pipeFDs[0])
        return (status, output)
    }
}
