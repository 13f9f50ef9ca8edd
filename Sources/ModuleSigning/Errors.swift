import KernelKitCore
import SwiftASN1

extension KernelKitError.Code {
    /// The file is not an ELF object (a kernel module is an ELF relocatable file).
    public static let notELF = KernelKitError.Code("not-elf")
    /// The appended signature's trailer is damaged: short, wrong magic, impossible lengths.
    public static let malformedTrailer = KernelKitError.Code("malformed-trailer")
    /// The PKCS#7 message is not the SignedData form the kernel accepts.
    public static let malformedSignature = KernelKitError.Code("malformed-signature")
    /// A private key cannot be read, or is of a kind the kernel cannot verify.
    public static let badKey = KernelKitError.Code("bad-key")
    /// An encrypted private key and no pass phrase (KBUILD_SIGN_PIN) or a wrong one.
    public static let needsPIN = KernelKitError.Code("needs-pin")
    /// A certificate cannot be read.
    public static let badCertificate = KernelKitError.Code("bad-certificate")
    /// The private key does not belong to the certificate.
    public static let keyMismatch = KernelKitError.Code("key-mismatch")
    /// A digest algorithm that cannot be used.
    public static let unsupportedHash = KernelKitError.Code("unsupported-hash")
    /// A file that must be changed in place is read-only.
    public static let readOnly = KernelKitError.Code("read-only")
    /// A file that must not be overwritten exists.
    public static let fileExists = KernelKitError.Code("file-exists")
    /// A kernel image holds no certificates, or its payload cannot be found.
    public static let noCertificates = KernelKitError.Code("no-certificates")
}

func failure(_ code: KernelKitError.Code, _ message: String, _ file: String? = nil) -> KernelKitError {
    KernelKitError(code, message, at: file.map { SourceLocation(file: $0, line: 0) })
}

/// Why DER could not be read, in words: swift-asn1's own description names its source
/// file and line ("ASN1Error.truncatedASN1Field: SwiftASN1/ASN1.swift:202"), which tells
/// a user nothing about their file.
func plainReason(_ error: any Error) -> String {
    guard let e = error as? ASN1Error else { return "\(error)" }
    switch e.code {
    case .truncatedASN1Field: return "the DER is truncated (a field runs past the end)"
    case .unsupportedFieldLength: return "the DER has a length field too large to be real"
    case .invalidASN1IntegerEncoding: return "the DER has a badly encoded INTEGER"
    case .unexpectedFieldType: return "the DER has a field of the wrong type"
    case .tooFewOIDComponents: return "the DER has an OBJECT IDENTIFIER with too few components"
    case .invalidStringRepresentation: return "the DER has a string in an invalid encoding"
    case .invalidPEMDocument: return "the PEM is invalid"
    default: return "the DER is not the expected structure"
    }
}
