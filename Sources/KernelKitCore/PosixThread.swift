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

    package func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&handle, nil, { raw in
            let me = Unmanaged<PosixThread>.fromOpaque(raw!).takeRetainedValue()
            me.body()
            return nil
        }, box)
    }

    package func join() { pthread_join(handle, nil) }
}
