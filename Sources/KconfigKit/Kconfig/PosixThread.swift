#if canImport(Glibc)
import Glibc
#endif

/// A joinable POSIX thread running a closure (the probe cache runs its compiler probes
/// on a few of these, and conf's post-parse checks run on one).
///
/// `@unchecked Sendable` because the new thread is handed `self`: it reads only `body`
/// (immutable and `Sendable`); `handle` is written by `start()` and read by `join()`,
/// both on the creating thread.
final class PosixThread: @unchecked Sendable {
    private let body: @Sendable () -> Void
    private var handle = pthread_t()

    init(_ body: @escaping @Sendable () -> Void) { self.body = body }

    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&handle, nil, { raw in
            let me = Unmanaged<PosixThread>.fromOpaque(raw!).takeRetainedValue()
            me.body()
            return nil
        }, box)
    }

    func join() { pthread_join(handle, nil) }
}
