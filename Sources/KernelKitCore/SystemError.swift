#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An `errno` value with the C library's text for it, kept as an underlying cause.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public init(errno: Int32) { self.code = errno }
    public var description: String { String(cString: strerror(code)) }

    /// The current thread's `errno`.
    public static var current: SystemError { SystemError(errno: Glibc.errno) }
}
