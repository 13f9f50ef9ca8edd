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
