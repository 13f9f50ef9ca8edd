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
        var queue: EventQueue
        var running = true
    }
    private let state: Mutex<State>
    private let eventSize: Int
    // Set in init, used by the poll thread, cleared by stop() once that thread is joined.
    private nonisolated(unsafe) var ring: OpaquePointer?
    private nonisolated(unsafe) var thread: pthread_t?

    /// Events dropped because the consumer fell behind (the queue was full).
    public var dropped: UInt64 { state.withLock { $0.queue.dropped } }

    /// Reads the ring buffer map `events` of `object`, whose records are `event`s.
    public convenience init<Event>(_ object: borrowing BPFObject, of event: Event.Type, capacity: Int = 65536) throws(KernelKitError) {
        guard let fd = object.withMap("events", { $0.fd }) else { throw KernelKitError(.bpf, "no events map") }
        try self.init(ringBuffer: fd, of: event, capacity: capacity)
    }

    /// Reads the ring buffer map whose descriptor is `fd` (a pinned map's), which must
    /// stay open until ``stop()``.
    public init<Event>(ringBuffer fd: Int32, of event: Event.Type, capacity: Int = 65536) throws(KernelKitError) {
        eventSize = MemoryLayout<Event>.size
        state = Mutex(State(queue: EventQueue(eventSize: MemoryLayout<Event>.size, capacity: capacity)))
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
        state.withLock { $0.queue.push(bytes) }
    }

    /// The events received since the last call, as the type the stream was made for.
    public func drain<Event>(as event: Event.Type) -> [Event] {
        var out = [Event]()
        drain(as: event) { out.append(contentsOf: $0) }
        return out
    }

    /// The events received since the last call, lent to `body` in place: no copy and no
    /// allocation per batch (the two buffers are reused), which is what keeps a probe at
    /// 100k events/s under 1% of a core.
    public func drain<Event>(as event: Event.Type, _ body: (UnsafeBufferPointer<Event>) -> Void) {
        precondition(MemoryLayout<Event>.size == eventSize, "drain(as:) with another type than init(_:of:)")
        var batch = state.withLock { $0.queue.take() }
        EventQueue.withEvents(batch, as: Event.self, body)
        state.withLock { $0.queue.giveBack(&batch) }
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

/// The bounded, double-buffered queue between the ring-buffer callback and the consumer:
/// `push` appends a record's bytes (or counts it dropped when full), `take` hands the
/// filled buffer over and keeps the spare one filling, `giveBack` returns it emptied
/// with its capacity kept. EventStream holds one under its lock; replays of recorded
/// streams (benchmarks/InProcess) drive one directly, through the same code.
public struct EventQueue: Sendable {
    var queue: [UInt8] = []
    var spare: [UInt8] = []
    var count = 0
    public private(set) var dropped: UInt64 = 0
    let eventSize: Int
    let capacity: Int

    public init(eventSize: Int, capacity: Int) {
        self.eventSize = eventSize
        self.capacity = capacity
    }

    public mutating func push(_ bytes: UnsafeRawBufferPointer) {
        if count < capacity { queue.append(contentsOf: bytes); count += 1 } else { dropped += 1 }
    }

    public mutating func take() -> [UInt8] {
        var full = spare
        spare = []
        swap(&full, &queue)
        count = 0
        return full
    }

    public mutating func giveBack(_ batch: inout [UInt8]) {
        batch.removeAll(keepingCapacity: true)
        if batch.capacity > spare.capacity { swap(&batch, &spare) }
    }

    /// The records of `batch` typed in place (a [UInt8]'s storage is 16-byte aligned;
    /// a record type of another stride is copied out one by one instead).
    public static func withEvents<Event>(_ batch: [UInt8], as: Event.Type, _ body: (UnsafeBufferPointer<Event>) -> Void) {
        let size = MemoryLayout<Event>.size, n = batch.count / size
        batch.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
            if MemoryLayout<Event>.stride == size, Int(bitPattern: base) % MemoryLayout<Event>.alignment == 0 {
                body(UnsafeBufferPointer(start: base.assumingMemoryBound(to: Event.self), count: n))
            } else {
                let copy = (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * size, as: Event.self) }
                copy.withUnsafeBufferPointer(body)
            }
        }
    }
}
