import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// The environment that the kernel's top-level Makefile gives `conf`: what
/// `make ARCH=… defconfig` exports (srctree, ARCH, SRCARCH, KERNELVERSION, the tools and
/// their version texts). The variables the 6.12 and 7.2 Kconfig files read are exactly
/// those listed in the `include/config/auto.conf.cmd` that make leaves behind.
public enum KconfigEnvironment {
    /// `SRCARCH` for an `ARCH`, as the top-level Makefile maps it.
    public static func srcarch(for arch: String) -> String {
        switch arch {
        case "i386", "x86_64": "x86"
        case "sparc32", "sparc64": "sparc"
        case "parisc64": "parisc"
        case "sh64": "sh"
        default: arch
        }
    }

    /// KERNELVERSION from the tree's Makefile: VERSION.PATCHLEVEL.SUBLEVEL EXTRAVERSION.
    public static func kernelVersion(srctree: String) throws(KernelKitError) -> String {
        try kernelVersion(makefile: try InputFile.readText("\(srctree)/Makefile"), srctree: srctree)
    }

    private static func kernelVersion(makefile bytes: [UInt8], srctree: String) throws(KernelKitError) -> String {
        var fields: [String: String] = [:]
        func trimmed(_ b: ArraySlice<UInt8>) -> String {
            let isBlank = { (c: UInt8) in c == 0x20 || c == 0x09 }
            return String(decoding: b.drop(while: isBlank).reversed().drop(while: isBlank).reversed(), as: UTF8.self)
        }
        // The first 20 non-empty lines, `NAME = VALUE` with something on either side, as
        // bytes: splitting the 2,000-line Makefile into Characters cost a millisecond and
        // a half of every resolve.
        for line in bytes.split(separator: 0x0A, maxSplits: 20).prefix(20) {
            guard let eq = line.firstIndex(of: UInt8(ascii: "=")), eq > line.startIndex, eq + 1 < line.endIndex else { continue }
            fields[trimmed(line[..<eq])] = trimmed(line[(eq + 1)...])
        }
        guard let version = fields["VERSION"], let patchlevel = fields["PATCHLEVEL"] else {
            throw KernelKitError(.usage, "\(srctree) is not a kernel tree: its Makefile has no VERSION and PATCHLEVEL",
                                 at: SourceLocation(file: "\(srctree)/Makefile", line: 0))
        }
        var v = version
        if !patchlevel.isEmpty {
            v += "." + patchlevel
            if let s = fields["SUBLEVEL"], !s.isEmpty { v += "." + s }
        }
        return v + (fields["EXTRAVERSION"] ?? "")
    }

    /// The environment for `make ARCH=arch` in `srctree`, with `overrides` applied as
    /// make command-line variables (`CROSS_COMPILE=`, `CC=`, `LLVM=1`…).
    public static func make(srctree: String, arch: String, overrides: [String: String] = [:],
                            base: [String: String] = ProcessEnvironment.current,
                            shell: ((String, [String: String]) -> String)? = nil) throws(KernelKitError) -> [String: String] {
        var env = base
        let cross = overrides["CROSS_COMPILE"] ?? base["CROSS_COMPILE"] ?? ""
        let llvm = overrides["LLVM"] ?? ""
        env["ARCH"] = arch
        env["SRCARCH"] = srcarch(for: arch)
        env["srctree"] = "."
        env["objtree"] = "."
        // Read once for the version and the exports.
        let makefile = try InputFile.readText("\(srctree)/Makefile")
        env["KERNELVERSION"] = try kernelVersion(makefile: makefile, srctree: srctree)
        if !cross.isEmpty { env["CROSS_COMPILE"] = cross }
        let tools: [(String, String)] = llvm.isEmpty
            ? [("CC", "gcc"), ("LD", "ld"), ("AR", "ar"), ("NM", "nm"), ("OBJCOPY", "objcopy"), ("OBJDUMP", "objdump"),
               ("READELF", "readelf"), ("STRIP", "strip")]
            : [("CC", "clang"), ("LD", "ld.lld"), ("AR", "llvm-ar"), ("NM", "llvm-nm"), ("OBJCOPY", "llvm-objcopy"),
               ("OBJDUMP", "llvm-objdump"), ("READELF", "llvm-readelf"), ("STRIP", "llvm-strip")]
        for (name, tool) in tools { env[name] = (llvm.isEmpty ? cross : "") + tool }
        env["HOSTCC"] = llvm.isEmpty ? "gcc" : "clang"
        env["HOSTCXX"] = llvm.isEmpty ? "g++" : "clang++"
        env["RUSTC"] = "rustc"
        env["BINDGEN"] = "bindgen"
        env["PAHOLE"] = "pahole"
        env["PYTHON3"] = "python3"
        if arch == "um" {
            // arch/um/Makefile exports SUBARCH (scripts/subarch.include: the host's arch)
            // and HEADER_ARCH, which arch/um/Kconfig sources from.
            let subarch = overrides["SUBARCH"] ?? hostSubarch()
            env["SUBARCH"] = subarch
            env["HEADER_ARCH"] = ["x86", "x86_64", "i386"].contains(subarch) ? "x86" : subarch
        }
        for (k, v) in overrides { env[k] = v }
        if !llvm.isEmpty && !cross.isEmpty { env["CLANG_FLAGS"] = "--target=\(cross.dropLast())" }
        // Exported by the Makefile as $(subst $(pound),,$(shell ...)): '#' characters removed.
        // They run through `shell` (the probe cache) when given: each costs a process.
        let base = env
        let run = shell ?? { Preprocessor.runShell($0, environment: $1, directory: srctree) }
        let cc = env["CC"] ?? "gcc"
        env["CC_VERSION_TEXT"] = run("LC_ALL=C \(cc) --version 2>/dev/null | head -n 1", base).filter { $0 != "#" }
        env["RUSTC_VERSION_TEXT"] = run("\(env["RUSTC"] ?? "rustc") --version 2>/dev/null", base).filter { $0 != "#" }
        // 7.x also exports PAHOLE_VERSION = $(shell $(srctree)/scripts/pahole-version.sh $(PAHOLE)).
        if makefileExports(makefile, "PAHOLE_VERSION") {
            env["PAHOLE_VERSION"] = run("./scripts/pahole-version.sh \(env["PAHOLE"] ?? "pahole")", base)
        }
        return env
    }

    /// SUBARCH as scripts/subarch.include derives it from `uname -m`.
    static func hostSubarch() -> String {
        let machine = Arch.hostMachine
        switch machine {
        case "x86_64", "i386", "i486", "i586", "i686": return "x86"
        case "aarch64", "arm64": return "arm64"
        case "s390x": return "s390"
        case "sun4u": return "sparc64"
        default:
            if machine.hasPrefix("arm") || machine == "sa110" { return "arm" }
            if machine.hasPrefix("ppc") { return "powerpc" }
            if machine.hasPrefix("mips") { return "mips" }
            if machine.hasPrefix("riscv") { return "riscv" }
            if machine.hasPrefix("loongarch") { return "loongarch" }
            return machine
        }
    }

    /// True when the tree's top Makefile exports `name` (the set grows across versions).
    static func makefileExports(_ bytes: [UInt8], _ name: String) -> Bool {
        let export = Array("export ".utf8), wanted = Array(name.utf8)
        return bytes.split(separator: 0x0A).contains { line in
            line.starts(with: export) && line.split(separator: 0x20).contains { $0.elementsEqual(wanted) }
        }
    }
}

/// The process environment as a dictionary.
public enum ProcessEnvironment {
    public static var current: [String: String] {
        var env: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return env
    }
}
