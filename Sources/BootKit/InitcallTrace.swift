#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KernelKitCore

/// The initcall events in a tracefs `trace` file (include/trace/events/initcall.h:
/// `initcall_level: level=…`, `initcall_start: func=…`, `initcall_finish: func=… ret=…`),
/// recorded from boot with `trace_event=initcall:*` (and `trace_clock=global` where the
/// sched clock is unstable, or late_trace_init() resets the buffer).
public struct InitcallTrace: Sendable {
    public struct Call: Sendable, Equatable {
        /// `con_init`, or the address (`0xffffffffc02dd000`) for a module's init, whose
        /// symbol is gone by the time the trace is read.
        public var function: String
        /// The module, when the symbol was still there to print (`virtio_init+0x0/0x20 [virtio]`).
        public var module: String?
        public var level: String?
        public var pid: Int
        public var start: Int
        public var finish: Int
        public var ret: Int
    }

    public var calls: [Call]
    /// From the header `# entries-in-buffer/entries-written: A/B`: B - A events lost.
    public var lostEvents: Int
    /// True when the file had no initcall event at all (tracing not enabled at boot).
    public var isEmpty: Bool { calls.isEmpty }

    /// Lines are scanned as bytes: a boot's trace has thousands of them.
    public static func parse(_ bytes: [UInt8], file: String) throws(KernelKitError) -> InitcallTrace {
        var calls = [Call]()
        var lost = 0
        var level: String? = nil
        var open = [Int: [(function: String, module: String?, start: Int, level: String?)]]()
        var sawHeader = false
        let colon = UInt8(ascii: ":")
        for (lineNumber, range) in KernelLog.lines(bytes) {
            let start = range.lowerBound, end = range.upperBound
            if bytes[start] == UInt8(ascii: "#") {
                sawHeader = true
                let line = String(decoding: bytes[start..<end], as: UTF8.self)
                if let r = line.firstRange(of: "entries-in-buffer/entries-written: ") {
                    let counts = line[r.upperBound...].prefix { $0 != " " }.split(separator: "/")
                    if counts.count == 2, let a = Int(counts[0]), let b = Int(counts[1]) { lost = max(0, b - a) }
                }
                continue
            }
            // "          <idle>-0       [000] ...1.     0.352618: initcall_level: level=console"
            let line = bytes[start..<end]
            guard let bracket = line.firstIndex(of: UInt8(ascii: "[")),
                  let close = line[bracket...].firstIndex(of: UInt8(ascii: "]")),
                  let stampEnd = line[close...].firstIndex(of: colon),
                  let eventEnd = line[(stampEnd + 1)...].firstIndex(of: colon) else {
                throw KernelKitError(.malformedLine, "not a trace line (TASK-PID [CPU] FLAGS TIME: EVENT: …)",
                                     at: SourceLocation(file: file, line: lineNumber))
            }
            var pidStart = bracket
            while pidStart > start && bytes[pidStart - 1] == 0x20 { pidStart -= 1 }
            let pidEnd = pidStart
            while pidStart > start && bytes[pidStart - 1] != UInt8(ascii: "-") { pidStart -= 1 }
            let pid = KernelLog.integer(bytes[pidStart..<pidEnd]) ?? -1
            var stampStart = stampEnd
            while stampStart > close && bytes[stampStart - 1] != 0x20 { stampStart -= 1 }
            guard let time = KernelLog.microseconds(bytes: bytes[stampStart..<stampEnd]) else {
                throw KernelKitError(.malformedLine, "a trace line without a time stamp", at: SourceLocation(file: file, line: lineNumber))
            }
            var eventStart = stampEnd + 1
            while eventStart < eventEnd && bytes[eventStart] == 0x20 { eventStart += 1 }
            let event = bytes[eventStart..<eventEnd]
            // Only the three initcall events matter; other events in the buffer are skipped.
            guard event.starts(with: "initcall_".utf8) else { continue }
            let rest = Substring(String(decoding: bytes[(eventEnd + 1)..<end], as: UTF8.self))
            let fields = Self.fields(rest)
            switch event.dropFirst(9).count {
            case 5 where event.elementsEqual("initcall_level".utf8):
                level = fields["level"]
            case 5 where event.elementsEqual("initcall_start".utf8):
                guard let f = fields["func"] else { continue }
                let module = Self.module(rest)
                open[pid, default: []].append((Self.symbol(f), module, time, f.hasPrefix("0x") || module != nil ? nil : level))
            case 6 where event.elementsEqual("initcall_finish".utf8):
                guard let f = fields["func"], var stack = open[pid], !stack.isEmpty else { continue }
                let name = Self.symbol(f)
                let index = stack.lastIndex { $0.function == name } ?? stack.count - 1
                let started = stack.remove(at: index)
                open[pid] = stack
                calls.append(Call(function: name, module: started.module, level: started.level, pid: pid, start: started.start, finish: time,
                                  ret: fields["ret"].flatMap { Int($0) } ?? 0))
            default:
                continue
            }
        }
        if !sawHeader && calls.isEmpty && !bytes.isEmpty {
            throw KernelKitError(.malformedLine, "not a tracefs trace file", at: SourceLocation(file: file, line: 1))
        }
        return InitcallTrace(calls: calls.sorted { $0.start < $1.start }, lostEvents: lost)
    }

    /// `func=con_init+0x0/0x22c ret=0` as a dictionary.
    static func fields(_ s: Substring) -> [String: String] {
        var out = [String: String]()
        for word in s.split(separator: " ") {
            guard let eq = word.firstIndex(of: "=") else { continue }
            out[String(word[..<eq])] = String(word[word.index(after: eq)...])
        }
        return out
    }

    /// `[virtio]` after the symbol: %pS names a module's symbol so.
    static func module(_ s: Substring) -> String? {
        for word in s.split(separator: " ") where word.hasPrefix("[") && word.hasSuffix("]") && word.count > 2 {
            return String(word.dropFirst().dropLast())
        }
        return nil
    }

    /// `con_init+0x0/0x22c` → `con_init` (%pS prints the offset and the size).
    static func symbol(_ s: some StringProtocol) -> String {
        String(s.prefix { $0 != "+" && $0 != " " })
    }
}

/// The `initcall_debug` lines of a kernel log (init/main.c, trace_initcall_start_cb()
/// and trace_initcall_finish_cb(); drivers/base/dd.c, really_probe_debug()).
public struct InitcallDebugLog: Sendable {
    public struct Call: Sendable, Equatable {
        public var function: String
        public var module: String?
        public var pid: Int?
        /// When `calling` was printed (µs), if it was.
        public var start: Int?
        /// When `returned` was printed (µs).
        public var end: Int
        public var ret: Int
        /// The kernel's own measurement: `after N usecs`.
        public var duration: Int
    }

    public struct Probe: Sendable, Equatable {
        public var device: String
        public var end: Int
        public var ret: Int
        public var duration: Int
    }

    public var calls: [Call]
    public var probes: [Probe]
    /// `Run /init as init process` (or /sbin/init…): the hand-over to user space, µs.
    public var initStart: Int?
    public var initPath: String?

    public init(_ log: KernelLog) {
        var calls = [Call]()
        var probes = [Probe]()
        var pending = [String: [(pid: Int?, time: Int)]]()
        var initStart: Int? = nil, initPath: String? = nil
        // Over each line's bytes: String's hasPrefix, split and firstRange(of:) compare
        // Characters and made this loop a third of a whole `boot report` on a 1,500-line
        // log (slower than bootgraph.pl). The kernel prints bytes; the words we keep are
        // ASCII (symbols, module names, numbers).
        for r in log.records {
            var text = r.text
            text.withUTF8 { t in
                if Self.starts(t, "calling  ") {
                    // "calling  virtio_init+0x0/0x20 [virtio] @ 86"
                    let words = Self.words(t, 9..<t.count)
                    guard let f = words.first else { return }
                    let module = words.count > 1 && t[words[1].lowerBound] == UInt8(ascii: "[") ? Self.string(t, words[1]) : ""
                    let pid = words.last.flatMap { Int(Self.string(t, $0)) }
                    pending[Self.symbol(t, f) + module, default: []].append((pid, r.time))
                } else if Self.starts(t, "initcall "), let returned = Self.find(t, " returned ", from: 9) {
                    // "initcall virtio_init+0x0/0x20 [virtio] returned 0 after 107 usecs". The
                    // search starts after the prefix: in "initcall returned " the two overlap
                    // (a range ending before it began: the fuzzer's crash).
                    let head = Self.words(t, 9..<returned)
                    guard let f = head.first else { return }
                    let module = head.count > 1 ? Self.string(t, head[1].dropFirst().dropLast()) : nil
                    let tail = Self.words(t, (returned + 10)..<t.count)
                    guard tail.count >= 3, let ret = Int(Self.string(t, tail[0])), Self.string(t, tail[1]) == "after",
                          let duration = Int(Self.string(t, tail[2])), (0...KernelLog.maxTime).contains(duration) else { return }
                    let name = Self.symbol(t, f)
                    let key = name + (module.map { "[\($0)]" } ?? "")
                    let started = pending[key]?.isEmpty == false ? pending[key]!.removeFirst() : nil
                    calls.append(Call(function: name, module: module, pid: started?.pid, start: started?.time, end: r.time,
                                      ret: ret, duration: duration))
                } else if Self.starts(t, "probe of "), let returned = Self.find(t, " returned ", from: 9) {
                    let tail = Self.words(t, (returned + 10)..<t.count)
                    guard tail.count >= 3, let ret = Int(Self.string(t, tail[0])), let duration = Int(Self.string(t, tail[2])),
                          (0...KernelLog.maxTime).contains(duration) else { return }
                    probes.append(Probe(device: Self.string(t, 9..<returned), end: r.time, ret: ret, duration: duration))
                } else if initStart == nil, Self.starts(t, "Run "), t.count >= 16,
                          Self.find(t, " as init process", from: t.count - 16) != nil {
                    // ("Run as init process": the prefix and the suffix share the space.)
                    initStart = r.time
                    initPath = Self.string(t, 4..<max(4, t.count - 16))
                }
            }
        }
        self.calls = calls
        self.probes = probes
        self.initStart = initStart
        self.initPath = initPath
    }

    static func starts(_ t: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
        t.count >= prefix.utf8CodeUnitCount && memcmp(t.baseAddress!, prefix.utf8Start, prefix.utf8CodeUnitCount) == 0
    }

    /// Where `needle` first occurs at or after `from`.
    static func find(_ t: UnsafeBufferPointer<UInt8>, _ needle: StaticString, from: Int) -> Int? {
        let n = needle.utf8CodeUnitCount
        var i = from
        while i + n <= t.count {
            if memcmp(t.baseAddress! + i, needle.utf8Start, n) == 0 { return i }
            i += 1
        }
        return nil
    }

    /// The space-separated words of `range` (empty ones dropped, as split(separator:) does).
    static func words(_ t: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> [Range<Int>] {
        var out = [Range<Int>]()
        var start = range.lowerBound
        for i in range where t[i] == 0x20 {
            if i > start { out.append(start..<i) }
            start = i + 1
        }
        if range.upperBound > start { out.append(start..<range.upperBound) }
        return out
    }

    static func string(_ t: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: t[range]), as: UTF8.self)
    }

    /// `con_init+0x0/0x22c` → `con_init`, as InitcallTrace.symbol.
    static func symbol(_ t: UnsafeBufferPointer<UInt8>, _ word: Range<Int>) -> String {
        string(t, word.lowerBound..<(t[word].firstIndex(of: UInt8(ascii: "+")) ?? word.upperBound))
    }
}
