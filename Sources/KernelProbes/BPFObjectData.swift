import FoundationEssentials
import KernelKitCore

extension KernelKitError.Code {
    /// BPF programs cannot be loaded or attached.
    public static let bpf = KernelKitError.Code("bpf")
    /// Not root and without CAP_BPF/CAP_PERFMON.
    public static let permission = KernelKitError.Code("permission")
}

/// A BPF object file compiled into the module by the BPFCompilerPlugin.
public struct BPFObjectData: Sendable {
    public let name: String
    let base64: String
    /// The object's bytes (base64 in the generated source: a literal of that size
    /// compiles far faster as one string than as an array of integers).
    public var bytes: [UInt8] { Data(base64Encoded: base64).map { Array($0) } ?? [] }
}

/// The objects the build embeds (one static property per `.bpf.c`).
public enum BPFObjects {}
