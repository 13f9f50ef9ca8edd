import CBPFProbes
#if canImport(Glibc)
import Glibc
#endif

/// libbpf's log of the current load, kept for the verifier's message when a load fails.
/// libbpf logs through one process-wide callback (`libbpf_set_print`), called on the
/// thread doing the work, so each thread keeps its own lines: `probe check` loads objects
/// on several threads at once, and one shared log mixed their messages (a failing load
/// could quote another's verifier output). Thread-specific data also needs no lock.
enum LibbpfLog {
    final class Lines { var list: [String] = [] }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { p in if let p { Unmanaged<Lines>.fromOpaque(p).release() } }
        return key
    }()

    /// This thread's lines, made on first use and freed when the thread ends.
    private static var current: Lines {
        if let p = pthread_getspecific(key) { return Unmanaged<Lines>.fromOpaque(p).takeUnretainedValue() }
        let lines = Lines()
        pthread_setspecific(key, Unmanaged.passRetained(lines).toOpaque())
        return lines
    }

    static func append(_ s: String) { current.list.append(s) }

    /// The lines this thread logged since its last call.
    static func take() -> [String] {
        let lines = current
        defer { lines.list = [] }
        return lines.list
    }

    static let installed: Void = {
        kk_libbpf_set_log { _, text in
            if let text { LibbpfLog.append(String(cString: text)) }
        }
    }()
}
