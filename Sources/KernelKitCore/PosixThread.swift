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
    private var started = false

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
        started = rc == 0
        return started
    }

    /// Starts the thread or, when none can be made (EAGAIN: the process's thread or
    /// memory limit), runs the body here: the work gets done, only not alongside.
    package func startOrRun(stackSize: Int? = nil) {
        if !start(stackSize: stackSize) { body() }
    }

    /// Waits for the thread; nothing to wait for if it never started (pthread_join()
    /// of a thread that was never made is undefined: a crash, seen under TSan's limits).
    package func join() {
        if started { pthread_join(handle, nil) }
        started = false
    }

    /// Runs `body` on a thread with a 1 GB stack and waits for it (or, when no such thread
    /// can be made, runs it here). The Kconfig language's parser, evaluator and printer
    /// recurse once per nested `if`, parenthesis or `&&` operand, and a Kconfig file
    /// nested tens of thousands deep (conf's bison stack stops at 10,000) would overflow
    /// the main thread's 8 MB. The stack is only reserved: pages are committed as the
    /// recursion touches them.
    package static func onLargeStack(_ body: @escaping @Sendable () -> Void) {
        if onLargeStackAlready { return body() }
        let key = largeStackKey
        let thread = PosixThread {
            pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
            body()
        }
        thread.startOrRun(stackSize: largeStack)
        thread.join()
    }

    static let largeStack = 1 << 30

    /// The same for a library entry point that recurses as deep as its input nests (the
    /// Kconfig parser, its preprocessor's 1,000 expansions): it returns what `body`
    /// returns or throws what it throws, on whatever thread a library user calls it from
    /// (a test's or a server's, often 8 MB or less, too small for conf's limits once
    /// AddressSanitizer widens the frames). Already on a large stack (the CLI's, or a
    /// nested call), it runs `body` where it is.
    package static func onLargeStack<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        if onLargeStackAlready { return try body() }
        // `body` runs, and the thread is joined, before this returns: the escape is
        // only formal, and nothing is shared with the thread while it runs.
        nonisolated(unsafe) var result: Result<R, E>? = nil
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let run = body
            onLargeStack { result = Result { () throws(E) -> R in try run() } }
        }
        return try result!.get()
    }

    /// Marks the threads onLargeStack made (a thread-specific value), so that a call
    /// already on one runs where it is.
    static let largeStackKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    static var onLargeStackAlready: Bool { pthread_getspecific(largeStackKey) != nil }
}
