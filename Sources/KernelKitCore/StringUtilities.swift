extension StringProtocol {
    /// The string without the given characters at either end (Foundation-free).
    package func trimming(_ characters: String) -> String {
        let chars = Set(characters)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

extension String {
    /// Padded with spaces on the right to `width` characters (a longer string unchanged):
    /// a left-aligned table column.
    package func leftAligned(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    /// Padded with spaces on the left to `width` characters: a right-aligned column.
    package func rightAligned(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// `x` with exactly `decimals` digits after the point, rounded half away from zero, as
/// printf's `%.Nf` prints it for the values KernelKit shows (Foundation-free, so the
/// binary does not link Foundation's ICU for a number format).
package func fixedPoint(_ x: Double, decimals: Int) -> String {
    guard x.isFinite else { return x.isNaN ? "nan" : (x < 0 ? "-inf" : "inf") }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(x) * scale).rounded(.toNearestOrAwayFromZero)
    guard scaled < 9.0e18 else { return String(x) }
    let n = UInt64(scaled), unit = UInt64(scale)
    var text = String(n / unit)
    if decimals > 0 {
        let frac = String(n % unit)
        text += "." + String(repeating: "0", count: decimals - frac.count) + frac
    }
    return x < 0 && n != 0 ? "-" + text : text
}
