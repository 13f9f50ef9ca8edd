#if canImport(Glibc)
import Glibc
#endif

/// A joinable POSIX thread running a closure (the Kconfig probe cache runs its compiler
/// probes on a few of these, conf's post-parse checks run on one, and `probe check`
/// relocates each BPF object on its own).
///
/// `@unchecked Sendable` because the new thread is handed `self`: it reads only `body`
/// (immutable and `Sendable`); `handle` is written by `start()` and read by `join()`,
/// both on the creating thread.
package final class PosixThread: @unchecked Sendable {
    private let body: @Sendable () -> Void
    private var handle = pthread_t()

    package init(_ body: @escaping @Sendable () -> Void) { self.body = body }

    /// `stackSize` (bytes), when given, replaces the default of 8 MB. Returns false when
    /// no thread could be made.
    @discardableResult
    package func start(stackSize: Int? = nil) -> Bool {
        let box = Unmanaged.passRetained(self).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        if let stackSize { pthread_attr_setstacksize(&attributes, stackSize) }
        let rc = pthread_create(&handle, &attributes, { raw in
            let me = Unmanaged<PosixThread>.fromOpaque(raw!).takeRetainedValue()
            me.body()
            return nil
        }, box)
        if rc != 0 { Unmanaged<PosixThread>.fromOpaque(box).release() }
        return rc == 0
    }

    package func join() { pthread_join(handle, nil) }

    /// Runs `body` on a thread with a 1 GB stack and waits for it (or, when no such thread
    /// can be made, runs it here). The Kconfig language's parser, evaluator and printer
    /// recurse once per nested `if`, parenthesis or `&&` operand, and a Kconfig file
    /// nested tens of thousands deep (conf's bison stack stops at 10,000) would overflow
    /// the main thread's 8 MB. The stack is only reserved: pages are committed as the
    /// recursion touches them.
    package static func onLargeStack(_ body: @escaping @Sendable () -> Void) {
        let thread = PosixThread(body)
        if thread.start(stackSize: 1 << 30) { thread.join() } else { body() }
    }
}
