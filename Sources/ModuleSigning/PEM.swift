import FoundationEssentials
import KernelKitCore

/// PEM blocks (RFC 7468), with their headers for legacy encrypted keys.
enum PEM {
    struct Block {
        var label: String
        var headers: [String: String]
        var der: [UInt8]
    }

    static func blocks(_ bytes: [UInt8]) -> [Block] {
        let text = String(decoding: bytes, as: UTF8.self)
        var out = [Block]()
        var label: String? = nil
        var headers = [String: String]()
        var body = ""
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = raw.trimming(" \t\r")
            if line.hasPrefix("-----BEGIN "), line.hasSuffix("-----") {
                label = String(line.dropFirst(11).dropLast(5))
                headers = [:]
                body = ""
            } else if line.hasPrefix("-----END "), let l = label {
                if let der = base64Decode(body) { out.append(Block(label: l, headers: headers, der: der)) }
                label = nil
            } else if label != nil {
                if let colon = line.firstIndex(of: ":") {
                    headers[String(line[..<colon])] = line[line.index(after: colon)...].trimming(" ")
                } else {
                    body += line
                }
            }
        }
        return out
    }

    static func encode(_ der: [UInt8], label: String) -> String {
        let b64 = base64Encode(der)
        var out = "-----BEGIN \(label)-----\n"
        var i = b64.startIndex
        while i < b64.endIndex {
            let j = b64.index(i, offsetBy: 64, limitedBy: b64.endIndex) ?? b64.endIndex
            out += b64[i..<j] + "\n"
            i = j
        }
        return out + "-----END \(label)-----\n"
    }

    static func base64Encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    static func base64Decode(_ text: String) -> [UInt8]? {
        Data(base64Encoded: text, options: .ignoreUnknownCharacters).map { Array($0) }
    }
}

