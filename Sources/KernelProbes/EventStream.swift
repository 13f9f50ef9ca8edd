import CBPFProbes
import CLibBPF
import KernelKitCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A BPF program's events from its ring buffer (biosnoop's requests, boot trace's
/// processes), polled on a dedicated thread, with a bounded queue: when the consumer
/// falls behind, events are counted as lost, not buffered. Each event is a fixed-size C
/// struct (probes.h); its bytes are copied out in the callback and typed on ``drain(as:)``.
///
/// The ring (libbpf's `ring_buffer`) is polled only by that thread and freed by
/// ``stop()`` after joining it; the queue is shared through a `Mutex`.
public final class EventStream: Sendable {
    private struct State {
        var queue: [UInt8] = []
        var count = 0
        var dropped: UInt64 = 0
        var running = true
    }
    private let state = Mutex(State())
    private let capacity: Int
    private let eventSize: Int
    // Set in init, used by the poll thread, cleared by stop() once that thread is joined.
    private nonisolated(unsafe) var ring: OpaquePointer?
    private nonisolated(unsafe) var thread: pthread_t?

    /// Events dropped because the consumer fell behind (the queue was full).
    public var dropped: UInt64 { state.withLock { $0.dropped } }

    /// Reads the ring buffer map `events` of `object`, whose records are `event`s.
    public init<Event>(_ object: borrowing BPFObject, of event: Event.Type, capacity: Int = 65536) throws(KernelKitError) {
        self.capacity = capacity
        eventSize = MemoryLayout<Event>.size
        guard let fd = object.withMap("events", { $0.fd }) else { throw KernelKitError(.bpf, "no events map") }
        let context = Unmanaged.passUnretained(self).toOpaque()
        ring = ring_buffer__new(fd, { ctx, data, size in
            guard let ctx, let data else { return 0 }
            let stream = Unmanaged<EventStream>.fromOpaque(ctx).takeUnretainedValue()
            guard size >= stream.eventSize else { return 0 }
            stream.push(UnsafeRawBufferPointer(start: data, count: stream.eventSize))
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
    private func push(_ bytes: UnsafeRawBufferPointer) {
        state.withLock { s in
            if s.count < capacity { s.queue.append(contentsOf: bytes); s.count += 1 } else { s.dropped += 1 }
        }
    }

    /// The events received since the last call, as the type the stream was made for.
    public func drain<Event>(as event: Event.Type) -> [Event] {
        precondition(MemoryLayout<Event>.size == eventSize, "drain(as:) with another type than init(_:of:)")
        let bytes = state.withLock { s in defer { s.queue = []; s.count = 0 }; return s.queue }
        return bytes.withUnsafeBytes { raw in
            (0..<(bytes.count / eventSize)).map { raw.loadUnaligned(fromByteOffset: $0 * eventSize, as: Event.self) }
        }
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
