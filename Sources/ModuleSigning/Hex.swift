/// `XX:XX:…`, upper case, as modinfo prints key ids.
public func hexColon(_ bytes: [UInt8]) -> String {
    bytes.map { hexByte($0) }.joined(separator: ":")
}

func hexByte(_ b: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
}
