#if canImport(Glibc)
import Glibc
#endif

/// The calendar date and time of `seconds` since the epoch, in UTC (gmtime_r), without
/// Foundation's calendars.
public struct UTCTimestamp: Sendable, Equatable {
    public var year, month, day, hour, minute, second: Int

    public init(secondsSinceEpoch seconds: Int) {
        var t = time_t(seconds)
        var tm = tm()
        gmtime_r(&t, &tm)
        year = Int(tm.tm_year) + 1900
        month = Int(tm.tm_mon) + 1
        day = Int(tm.tm_mday)
        hour = Int(tm.tm_hour)
        minute = Int(tm.tm_min)
        second = Int(tm.tm_sec)
    }

    /// Now.
    public static var now: UTCTimestamp { UTCTimestamp(secondsSinceEpoch: Int(time(nil))) }

    /// Seconds since the epoch, now.
    public static var secondsNow: Int { Int(time(nil)) }

    /// YYYY-MM-DD.
    public var date: String {
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(two(month))-\(two(day))"
    }
}
