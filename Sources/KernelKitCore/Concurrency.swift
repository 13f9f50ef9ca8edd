#if canImport(Glibc)
import Glibc
#endif

/// A joinable POSIX thread running a closure (the probe cache runs its compiler probes
/// on a few of these).
public final class PosixThread: @unchecked Sendable {
    private let body: @Sendable () -> Void
    private var handle = pthread_t()

    public init(_ body: @escaping @Sendable () -> Void) { self.body = body }

    public func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&handle, nil, { raw in
            let me = Unmanaged<PosixThread>.fromOpaque(raw!).takeRetainedValue()
            me.body()
            return nil
        }, box)
    }

    public func join() { pthread_join(handle, nil) }
}
