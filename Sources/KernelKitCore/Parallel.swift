import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Work spread over a few threads, for jobs that are each long and unequal (one loaded
/// Kconfig tree per arch): at most `width` at once, each thread taking the next job when
/// it is done with one.
package enum Parallel {
    /// The processors online (at least 1): the width for work that keeps each busy.
    package static var cores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// `body(i)` for i in 0..<count, on up to `width` threads; the results in order.
    /// One job, or a width of one, runs here: a thread would only add its start.
    package static func map<T: Sendable>(count: Int, width: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
        if count == 1 || width <= 1 { return (0..<count).map(body) }
        let results = Mutex<[T?]>(Array(repeating: nil, count: count))
        let next = Mutex(0)
        let threads = (0..<max(1, min(width, count))).map { _ in
            PosixThread {
                while true {
                    let i = next.withLock { n -> Int in defer { n += 1 }; return n }
                    guard i < count else { return }
                    let r = body(i)
                    results.withLock { $0[i] = r }
                }
            }
        }
        threads.forEach { $0.startOrRun() }
        threads.forEach { $0.join() }
        return results.withLock { $0.map { $0! } }
    }
}
