import Synchronization

/// Work spread over a few threads, for jobs that are each long and unequal (one loaded
/// Kconfig tree per arch): at most `width` at once, each thread taking the next job when
/// it is done with one.
package enum Parallel {
    /// `body(i)` for i in 0..<count, on up to `width` threads; the results in order.
    package static func map<T: Sendable>(count: Int, width: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
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
