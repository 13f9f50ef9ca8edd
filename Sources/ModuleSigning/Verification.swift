import KernelKitCore

/// What verifying one module found.
public struct Verification: Sendable {
    public enum Verdict: String, Sendable {
        case valid
        case badSignature = "bad-signature"
        case unknownKey = "unknown-key"
        case unsigned
        case malformedTrailer = "malformed-trailer"
    }

    public var path: String
    public var verdict: Verdict
    /// The signer's name (the certificate's subject CN, else the issuer CN).
    public var signer: String?
    /// The serial number or subject key id, as modinfo's sig_key prints it.
    public var keyID: [UInt8]?
    public var hash: HashAlgorithm?
    /// Why, for anything but valid.
    public var detail: String?

    public init(path: String, verdict: Verdict, signer: String? = nil, keyID: [UInt8]? = nil,
                hash: HashAlgorithm? = nil, detail: String? = nil) {
        self.path = path
        self.verdict = verdict
        self.signer = signer
        self.keyID = keyID
        self.hash = hash
        self.detail = detail
    }
}

extension Verification {
    /// One module in the `kernelkit.modsign-verify/1` JSON report.
    public var json: JSONValue {
        .object([("path", .string(path)), ("verdict", .string(verdict.rawValue)),
                 ("signer", signer.map { .string($0) } ?? .null),
                 ("key_id", keyID.map { .string(hexColon($0)) } ?? .null),
                 ("hash", hash.map { .string($0.rawValue) } ?? .null),
                 ("detail", detail.map { .string($0) } ?? .null)])
    }

    /// One line of the text report.
    public var text: String {
        var out = "\(verdict.rawValue)\t\(path)"
        if let signer { out += "\tsigner=\"\(signer)\"" }
        if let keyID { out += "\tkey=\(hexColon(keyID))" }
        if let hash { out += "\thash=\(hash.rawValue)" }
        if let detail { out += "\t(\(detail))" }
        return out
    }
}


/// The `kernelkit.modsign-verify/1` report of many modules (docs/modsign.md).
public struct VerificationReport: Sendable {
    public var results: [Verification]
    public init(_ results: [Verification]) { self.results = results }

    /// True when every module is valid.
    public var allValid: Bool { results.allSatisfy { $0.verdict == .valid } }

    public var json: JSONValue {
        var counts = [String: Int]()
        for r in results { counts[r.verdict.rawValue, default: 0] += 1 }
        let summary = JSONValue.object(counts.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.int($0.value)) })
        return .object([("schema", "kernelkit.modsign-verify/1"), ("summary", summary),
                        ("modules", .array(results.map(\.json)))])
    }

    /// The text report: a line per module that is not valid (every module with `all`),
    /// then the count against `certificates` certificates.
    public func text(all: Bool, certificates: Int) -> String {
        var out = results.filter { all || $0.verdict != .valid }.map { $0.text + "\n" }.joined()
        let valid = results.filter { $0.verdict == .valid }.count
        out += "\(valid) of \(results.count) modules valid against \(certificates) certificate(s)\n"
        return out
    }
}
