extension StringProtocol {
    /// The string without the given characters at either end (Foundation-free).
    public func trimming(_ characters: String) -> String {
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
    public func leftAligned(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    /// Padded with spaces on the left to `width` characters: a right-aligned column.
    public func rightAligned(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
