import CBPFProbes
import CLibBPF
import KernelKitCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// biosnoop's events from the ring buffer, polled on a dedicated thread, with a bounded
/// queue: when the consumer falls behind, events are counted as lost, not buffered.
///
/// The ring (libbpf's `ring_buffer`) is polled only by that thread and freed by
/// ``stop()`` after joining it; the queue is shared through a `Mutex`.
public final class EventStream: Sendable {
    private struct State {
        var queue: [kk_event] = []
        var dropped: UInt64 = 0
        var running = true
    }
    private let state = Mutex(State())
    private let capacity: Int
    // Set in init, used by the poll thread, cleared by stop() once that thread is joined.
    private nonisolated(unsafe) var ring: OpaquePointer?
    private nonisolated(unsafe) var thread: pthread_t?

    /// Events dropped because the consumer fell behind (the queue was full).
    public var dropped: UInt64 { state.withLock { $0.dropped } }

    public init(_ object: borrowing BPFObject, capacity: Int = 65536) throws(KernelKitError) {
        self.capacity = capacity
        guard let fd = object.withMap("events", { $0.fd }) else { throw KernelKitError(.bpf, "no events map") }
        let context = Unmanaged.passUnretained(self).toOpaque()
        ring = ring_buffer__new(fd, { ctx, data, size in
            guard let ctx, let data, size >= MemoryLayout<kk_event>.size else { return 0 }
            let stream = Unmanaged<EventStream>.fromOpaque(ctx).takeUnretainedValue()
            stream.push(data.load(as: kk_event.self))
            return 0
        }, context, nil)
        if ring == nil { throw KernelKitError(.bpf, "cannot open the ring buffer: \(String(cString: strerror(errno)))") }
        var t = pthread_t()
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&t, nil, { arg in
            let stream = Unmanaged<EventStream>.fromOpaque(arg!).takeRetainedValue()
            while stream.isRunning { _ = ring_buffer__poll(stream.ring, 100) }
            return nil
        }, box)
        thread = t
    }

    var isRunning: Bool { state.withLock { $0.running } }

    /// Copies the sample out before the ring-buffer callback returns (the ring reuses it).
    private func push(_ e: kk_event) {
        state.withLock { s in
            if s.queue.count < capacity { s.queue.append(e) } else { s.dropped += 1 }
        }
    }

    /// The events received since the last call.
    public func drain() -> [kk_event] {
        state.withLock { s in defer { s.queue = [] }; return s.queue }
    }

    /// Stops polling (after one last poll of what is already there) and frees the ring.
    public func stop() {
        state.withLock { $0.running = false }
        if let t = thread { pthread_join(t, nil) }
        thread = nil
        _ = ring_buffer__consume(ring)
        ring_buffer__free(ring)
        ring = nil
    }
}
