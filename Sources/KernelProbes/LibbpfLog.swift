import CBPFProbes
import Synchronization

/// libbpf's log of the current load, kept for the verifier's message when a load fails.
/// libbpf logs through one process-wide callback (`libbpf_set_print`), hence one log.
final class LibbpfLog: Sendable {
    static let shared = LibbpfLog()
    private let lines = Mutex<[String]>([])

    func append(_ s: String) { lines.withLock { $0.append(s) } }

    /// The lines logged since the last call.
    func take() -> [String] { lines.withLock { lines in defer { lines = [] }; return lines } }

    static let installed: Void = {
        kk_libbpf_set_log { _, text in
            if let text { LibbpfLog.shared.append(String(cString: text)) }
        }
    }()
}
