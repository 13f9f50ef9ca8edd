import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// The kernel's log as records with their printk time stamps: read from /dev/kmsg
/// (`PRIORITY,SEQUENCE,MICROSECONDS,FLAGS;TEXT`, Documentation/ABI/testing/dev-kmsg) or
/// from a saved `dmesg` (`[    1.234567] TEXT`).
public struct KernelLog: Sendable {
    public struct Record: Sendable, Equatable {
        /// Microseconds since boot (printk's local_clock()).
        public var time: Int
        public var text: String
    }

    public var records: [Record]
    /// Why earlier records may be missing: the ring buffer wrapped (/dev/kmsg's first
    /// sequence number is not 0, a read said EPIPE), or a saved log does not start at boot.
    public var truncation: String?

    public init(records: [Record], truncation: String? = nil) {
        self.records = records
        self.truncation = truncation
    }

    /// Reads /dev/kmsg (or a device like it) from its first record to the last one now
    /// there, without blocking and without consuming anything.
    public static func readDevice(_ path: String = "/dev/kmsg") throws(KernelKitError) -> KernelLog {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            throw KernelKitError(.unreadable, "cannot open the kernel log", at: SourceLocation(file: path, line: 0),
                                 underlying: SystemError.current)
        }
        defer { close(fd) }
        var records = [Record]()
        var truncation: String? = nil
        var firstSequence: Int? = nil
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                // EPIPE: the record we were about to read was overwritten; the next read
                // goes on with the oldest one left (printk/printk.c, devkmsg_read()).
                if errno == EPIPE { truncation = "the kernel log wrapped while it was read: records were lost"; continue }
                break // EAGAIN: no more records
            }
            if n == 0 { break }
            let line = String(decoding: buffer[0..<n], as: UTF8.self)
            guard let semicolon = line.firstIndex(of: ";") else { continue }
            let fields = line[..<semicolon].split(separator: ",")
            guard fields.count >= 3, let sequence = Int(fields[1]), let time = Int(fields[2]), (0...Self.maxTime).contains(time) else { continue }
            if firstSequence == nil { firstSequence = sequence }
            // The text ends at the first newline; continuation lines (" KEY=value") follow.
            let text = line[line.index(after: semicolon)...].prefix { $0 != "\n" }
            records.append(Record(time: time, text: Self.unescape(String(text))))
        }
        if let first = firstSequence, first > 0, truncation == nil {
            truncation = "the kernel log wrapped: its first \(first) records are gone (boot with a larger log_buf_len=)"
        }
        return KernelLog(records: records, truncation: truncation)
    }

    /// /dev/kmsg escapes non-printable bytes as `\xHH`.
    static func unescape(_ s: String) -> String {
        guard s.contains("\\x") else { return s }
        var out = [UInt8]()
        var bytes = Array(s.utf8)[...]
        while let b = bytes.first {
            if b == UInt8(ascii: "\\"), bytes.count >= 4, bytes[bytes.startIndex + 1] == UInt8(ascii: "x"),
               let v = UInt8(String(decoding: bytes[(bytes.startIndex + 2)..<(bytes.startIndex + 4)], as: UTF8.self), radix: 16) {
                out.append(v)
                bytes = bytes.dropFirst(4)
            } else {
                out.append(b)
                bytes = bytes.dropFirst()
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses a saved log: `dmesg` output (`[    1.234567] text`) or a copy of /dev/kmsg.
    /// Lines are scanned as bytes: a boot log has thousands, and Character-wise
    /// searching (grapheme breaking) cost most of the time.
    public static func parse(_ bytes: [UInt8], file: String) throws(KernelKitError) -> KernelLog {
        var records = [Record]()
        records.reserveCapacity(bytes.count / 60)
        var sawKmsg = false
        for (lineNumber, range) in KernelLog.lines(bytes) {
            let start = range.lowerBound, end = range.upperBound
            let line = bytes[start..<end]
            if line.first == UInt8(ascii: "["), let close = line.firstIndex(of: UInt8(ascii: "]")) {
                guard let time = microseconds(bytes: line[(start + 1)..<close]) else {
                    throw KernelKitError(.malformedLine, "a dmesg line's time stamp is not seconds.microseconds",
                                         at: SourceLocation(file: file, line: lineNumber))
                }
                var textStart = close + 1
                if textStart < end && bytes[textStart] == 0x20 { textStart += 1 }
                records.append(Record(time: time, text: String(decoding: bytes[textStart..<end], as: UTF8.self)))
            } else if let semicolon = line.firstIndex(of: UInt8(ascii: ";")),
                      case let fields = line[start..<semicolon].split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false),
                      fields.count >= 3, integer(fields[0]) != nil, integer(fields[1]) != nil, let time = integer(fields[2]),
                      time <= Self.maxTime {
                sawKmsg = true
                records.append(Record(time: time, text: unescape(String(decoding: bytes[(semicolon + 1)..<end], as: UTF8.self))))
            } else if line.first == 0x20 && sawKmsg {
                continue // a /dev/kmsg continuation line (" SUBSYSTEM=…")
            } else {
                throw KernelKitError(.malformedLine, "not a kernel log line (dmesg's \"[ seconds] text\" or /dev/kmsg's records)",
                                     at: SourceLocation(file: file, line: lineNumber))
            }
        }
        var truncation: String? = nil
        if let first = records.first, !first.text.hasPrefix("Linux version") {
            truncation = "the log does not start at boot (its first line is not \"Linux version …\"): the ring buffer may have wrapped"
        }
        return KernelLog(records: records, truncation: truncation)
    }

    /// The non-empty lines of `bytes`: each 1-based line number with the line's byte range
    /// (without its newline).
    static func lines(_ bytes: [UInt8]) -> [(number: Int, range: Range<Int>)] {
        var out = [(number: Int, range: Range<Int>)]()
        var start = 0, number = 0
        while start < bytes.count {
            number += 1
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            if end > start { out.append((number, start..<end)) }
            start = end + 1
        }
        return out
    }

    /// A non-negative decimal integer in ASCII bytes.
    static func integer(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.count < 19 else { return nil }
        var v = 0
        for b in bytes {
            guard b >= 0x30 && b <= 0x39 else { return nil }
            v = v * 10 + Int(b - 0x30)
        }
        return v
    }

    /// The latest time stamp the kernel can print, in microseconds: printk's clock counts
    /// nanoseconds in a u64 (kernel/printk/printk.c, print_time()). Times and durations
    /// past it are not the kernel's, and bounding them keeps every sum and difference
    /// the timeline makes of them inside an Int.
    public static let maxTime = Int(UInt64.max / 1000)

    /// `   12.345678` (blanks allowed before) as microseconds.
    static func microseconds(bytes: ArraySlice<UInt8>) -> Int? {
        var s = bytes
        while s.first == 0x20 { s = s.dropFirst() }
        guard let dot = s.firstIndex(of: UInt8(ascii: ".")), let whole = integer(s[..<dot]) else { return nil }
        let fracBytes = s[(dot + 1)...]
        guard fracBytes.count <= 9, var frac = integer(fracBytes) else { return nil }
        var digits = fracBytes.count
        while digits < 6 { frac *= 10; digits += 1 }
        while digits > 6 { frac /= 10; digits -= 1 }
        // Past the kernel's clock is no time stamp: the fuzzer's "[33333333333333.4]"
        // overflowed as microseconds, and a few seconds less overflowed adding the fraction.
        guard whole <= Self.maxTime / 1_000_000 else { return nil }
        return whole * 1_000_000 + frac
    }

}
