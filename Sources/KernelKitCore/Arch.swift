#if canImport(Glibc)
import Glibc
#endif

/// A CPU architecture KernelKit's hardening rules, bundled kernel and audits know, named
/// as the kernel's config headers name them (`# Linux/x86_64 …`), with x86_32 for i386.
///
/// Every spelling users and tools write (`uname -m`, Debian's `amd64`, Fedora's and Azure
/// Linux's `aarch64`, make's `ARCH=`) is normalised here, once. Kconfig itself takes any
/// `ARCH=` make takes (mips, powerpc, …), so ``KconfigResolver`` keeps make's string.
public enum Arch: String, Sendable, CaseIterable, CustomStringConvertible {
    case x86_64, x86_32, arm64, arm, riscv

    /// `x86_64`/`amd64`/`x86-64`, `i386`…`i686`/`x86_32`, `arm64`/`aarch64`, `arm`/`armhf`/`armel`/`armv7l`,
    /// `riscv`/`riscv64`; nil for anything else, including the bare `x86` (which word size?).
    public init?(normalizing name: some StringProtocol) {
        switch name.lowercased() {
        case "x86_64", "amd64", "x86-64": self = .x86_64
        case "x86_32", "i386", "i486", "i586", "i686": self = .x86_32
        case "arm64", "aarch64": self = .arm64
        case "arm", "armhf", "armel", "armv7l", "armv6l": self = .arm
        case "riscv", "riscv64": self = .riscv
        default: return nil
        }
    }

    /// This machine's architecture (from `uname -m`), nil when KernelKit does not know it.
    public static var host: Arch? { Arch(normalizing: hostMachine) }

    /// `uname -m`: the machine field of uname(2).
    public static var hostMachine: String {
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// make's `ARCH=` for it: `i386` for x86_32 (the kernel's Makefile takes `x86_64`,
    /// `i386`, `arm64`, `arm`, `riscv`).
    public var makeArch: String { self == .x86_32 ? "i386" : rawValue }

    /// The name used in file names and packages of RPM-based distributions (Azure Linux's
    /// `6.18-aarch64-azl.config`): `aarch64` for arm64, the kernel's name otherwise.
    public var rpmName: String { self == .arm64 ? "aarch64" : rawValue }

    public var description: String { rawValue }
}
