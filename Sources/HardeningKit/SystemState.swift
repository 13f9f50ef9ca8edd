import KconfigKit
import KernelImageKit
import KernelKitCore

/// What is checked: a kernel config, a command line and sysctl values, each optional.
public struct SystemState: Sendable {
    public var config: ConfigFile?
    public var cmdline: KernelCommandLine?
    public var sysctl: SysctlValues?
    public var arch: Arch?
    public var version: KernelVersion?

    public init(config: ConfigFile? = nil, cmdline: KernelCommandLine? = nil, sysctl: SysctlValues? = nil,
                arch: Arch? = nil, version: KernelVersion? = nil) {
        self.config = config
        self.cmdline = cmdline
        self.sysctl = sysctl
        self.arch = arch ?? config.flatMap(Self.detectArch)
        self.version = version ?? config.flatMap(Self.detectVersion)
    }

    /// A .config from a file, `/proc/config.gz` (any gzip file), or a kernel image built
    /// with CONFIG_IKCONFIG.
    public static func readConfig(_ path: String) throws(KernelKitError) -> ConfigFile {
        let raw = try InputFile.readBytes(path)
        var text = raw
        if Compression.detect(raw) == .gzip {
            text = try Compression.gzip.decompress(raw[...], file: path)
        } else if raw.contains(0) {
            // Binary: a kernel image; its built-in config.
            text = try KernelImage.ikconfig(raw, file: path)
        }
        return try ConfigFile(bytes: text, path: path, prefix: ConfigFile.environmentPrefix)
    }

    /// The arch from the kernel-ark marker (`# x86_64`), the header
    /// (`# Linux/x86_64 6.18.5 Kernel Configuration`, `Linux/x86`, `Linux/arm64`) or the
    /// arch symbols.
    public static func detectArch(_ config: ConfigFile) -> Arch? {
        // `Linux/x86` names no word size: the arch symbols decide then.
        func arch(_ s: String) -> Arch? { Arch(normalizing: s) }
        if let marker = config.archMarker, let a = arch(marker) { return a }
        if config.value(of: "X86_64")?.tristate == .yes { return .x86_64 }
        if config.value(of: "X86_32")?.tristate == .yes { return .x86_32 }
        if config.value(of: "ARM64")?.tristate == .yes { return .arm64 }
        if config.value(of: "ARM")?.tristate == .yes { return .arm }
        if config.value(of: "RISCV")?.tristate == .yes { return .riscv }
        if let h = header(config), let a = arch(String(h.arch)) { return a }
        return nil
    }

    public static func detectVersion(_ config: ConfigFile) -> KernelVersion? {
        header(config).flatMap { KernelVersion($0.version) }
    }

    /// `# Linux/ARCH VERSION Kernel Configuration` in the first lines.
    static func header(_ config: ConfigFile) -> (arch: Substring, version: Substring)? {
        let text = String(decoding: config.storage.prefix(400), as: UTF8.self)
        for line in text.split(separator: "\n").prefix(6) {
            let words = line.split(separator: " ")
            if words.count >= 3, words[0] == "#", words[1].hasPrefix("Linux/") {
                return (words[1].dropFirst(6), words[2])
            }
        }
        return nil
    }
}

/// A kernel command line (`/proc/cmdline`): `name`, `name=value`, quoted values; the
/// last occurrence of a parameter wins, as the kernel's parsers do for most options.
public struct KernelCommandLine: Sendable {
    public var parameters: [(name: String, value: String?)] = [] {
        didSet { byName = Self.index(parameters) }
    }
    public var file: String
    /// The last parameter of each name, `-` and `_` alike: a rule set asks for each name
    /// once, and a scan of every parameter per question was a tenth of a khc run.
    private var byName: [String: Int] = [:]

    private static func index(_ ps: [(name: String, value: String?)]) -> [String: Int] {
        var d = [String: Int]()
        for (i, p) in ps.enumerated() { d[p.name.replacingOccurrences("-", "_")] = i }
        return d
    }

    /// Words as the kernel splits them (lib/cmdline.c, next_arg()): on ASCII white space
    /// (isspace()), double quotes grouping and dropped, `--` ending the kernel's part.
    /// Bytes, not Characters: the kernel's rule, and a grapheme walk was the fuzz
    /// target's bottleneck.
    public init(text: String, file: String) {
        self.file = file
        let b = Array(text.utf8)
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0d) }
        var i = 0
        var word = [UInt8]()
        while i < b.count {
            while i < b.count, isSpace(b[i]) { i += 1 }
            guard i < b.count else { break }
            word.removeAll(keepingCapacity: true)
            var quoted = false
            while i < b.count, quoted || !isSpace(b[i]) {
                if b[i] == UInt8(ascii: "\"") { quoted.toggle() } else { word.append(b[i]) }
                i += 1
            }
            if word.elementsEqual("--".utf8) { break } // the rest goes to init
            if let eq = word.firstIndex(of: UInt8(ascii: "=")) {
                parameters.append((String(decoding: word[..<eq], as: UTF8.self), String(decoding: word[(eq + 1)...], as: UTF8.self)))
            } else {
                parameters.append((String(decoding: word, as: UTF8.self), nil))
            }
        }
        byName = Self.index(parameters) // didSet does not run in init
    }

    public static func read(_ path: String) throws(KernelKitError) -> KernelCommandLine {
        let bytes = try InputFile.readText(path)
        return KernelCommandLine(text: String(decoding: bytes, as: UTF8.self), file: path)
    }

    /// nil when absent; "" for a flag given without a value. A parameter the kernel
    /// reads with kstrtobool() (lib/kstrtox.c: 1/y/yes/on/t/true and 0/n/no/off/f/false,
    /// any case) reads as "1" or "0", so `init_on_alloc=on` is `init_on_alloc=1`.
    public func value(of name: String) -> String? {
        // Module parameters may be written with - or _ alike.
        guard let i = byName[name.replacingOccurrences("-", "_")] else { return nil }
        let p = parameters[i]
        guard let v = p.value else { return "" }
        if Self.notBoolean.contains(p.name) { return v }
        switch v.lowercased() {
        case "1", "on", "y", "yes", "t", "true": return "1"
        case "0", "off", "n", "no", "f", "false": return "0"
        default: return v
        }
    }

    /// Parameters whose own parsers are not kstrtobool(): their words are keywords
    /// (`mitigations=auto,nosmt`, `rodata=on`, `vsyscall=none`), or numbers with their own
    /// meaning (`ipv6.disable=1`, a module int). The x86 mitigations are parsed in
    /// arch/x86/kernel/cpu/bugs.c, pti in arch/x86/mm/pti.c, the IOMMUs in
    /// drivers/iommu/, lockdown in security/lockdown/lockdown.c, debugfs in
    /// fs/debugfs/inode.c, hash_pointers in lib/vsprintf.c. The same list as
    /// kernel-hardening-checker keeps, so that verdicts agree.
    static let notBoolean: Set<String> = [
        "debugfs", "mitigations", "pti", "spectre_v2", "spectre_v2_user", "spectre_bhi", "spec_store_bypass_disable",
        "l1tf", "mds", "tsx_async_abort", "srbds", "mmio_stale_data", "retbleed", "rodata", "ssbd",
        "spec_rstack_overflow", "gather_data_sampling", "reg_file_data_sampling", "tsa", "indirect_target_selection",
        "vmscape", "slub_debug", "iommu", "vsyscall", "vdso32", "vdso", "cfi", "tsx", "lockdown", "intel_iommu",
        "amd_iommu", "efi", "hash_pointers", "ipv6.disable", "proc_mem.force_override",
    ]
}

/// sysctl values: a `sysctl -a` dump (`kernel.kptr_restrict = 2`) or the live /proc/sys.
public struct SysctlValues: Sendable {
    public var values: [String: (value: String, line: Int)] = [:]
    public var file: String
    /// Read from /proc/sys on demand instead of a dump.
    public var live = false

    private init(file: String) { self.file = file }

    /// `sysctl -a` output: `name = value` lines, comments, and the `sysctl: permission
    /// denied on key …` lines its stderr adds when both go to one file. Any other line is
    /// an error, as kernel-hardening-checker's reader makes it one: a file that is not a
    /// sysctl dump must not pass as one with nothing set.
    ///
    /// Read as bytes: the format is ASCII, a CRLF line is a line (a Character walk kept
    /// "\r\n" whole, so a CRLF dump was one line), and the fuzz target ran at 600 inputs
    /// a second on the Strings a line-by-line split made.
    public init(dump text: String, file: String) throws(KernelKitError) {
        self.file = file
        let b = Array(text.utf8)
        func blank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0d }
        var value = [UInt8]()
        var start = 0, n = 0
        while start <= b.count {
            n += 1
            let end = b[start...].firstIndex(of: 0x0a) ?? b.count
            defer { start = end + 1 }
            var lo = start, hi = end
            while lo < hi, blank(b[lo]) { lo += 1 }
            while hi > lo, blank(b[hi - 1]) { hi -= 1 }
            guard lo < hi, b[lo] != UInt8(ascii: "#"), b[lo] != UInt8(ascii: ";"),
                  !b[lo..<hi].starts(with: "sysctl: ".utf8) else { continue }
            guard let eq = b[lo..<hi].firstIndex(of: UInt8(ascii: "=")), eq > lo else {
                throw KernelKitError(.malformedLine, "not a sysctl line (NAME = VALUE, as sysctl -a prints)",
                                     at: SourceLocation(file: file, line: n))
            }
            var keyEnd = eq
            while keyEnd > lo, b[keyEnd - 1] == 0x20 || b[keyEnd - 1] == 0x09 { keyEnd -= 1 }
            let key = String(decoding: b[lo..<keyEnd].lazy.map { $0 == UInt8(ascii: "/") ? UInt8(ascii: ".") : $0 }, as: UTF8.self)
            // Multi-value sysctls (tabs in /proc/sys) read as single spaces.
            value.removeAll(keepingCapacity: true)
            var gap = false
            for c in b[(eq + 1)..<hi] {
                if c == 0x20 || c == 0x09 { gap = !value.isEmpty } else {
                    if gap { value.append(0x20); gap = false }
                    value.append(c)
                }
            }
            values[key] = (String(decoding: value, as: UTF8.self), n)
        }
    }

    public static func read(_ path: String) throws(KernelKitError) -> SysctlValues {
        try SysctlValues(dump: String(decoding: try InputFile.readText(path), as: UTF8.self), file: path)
    }

    public static func live() -> SysctlValues {
        var s = SysctlValues(file: "/proc/sys")
        s.live = true
        return s
    }

    public func value(of name: String) -> String? {
        if live {
            let path = "/proc/sys/" + name.replacingOccurrences(".", "/")
            guard let bytes = try? InputFile.readBytes(path) else { return nil }
            return String(decoding: bytes, as: UTF8.self).trimming(" \t\n")
                .split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
        }
        return values[name]?.value
    }
}

extension StringProtocol {

    /// `a` replaced by `b`, both ASCII (every caller's are): a byte map, not a walk of
    /// Characters, and no copy at all when there is nothing to replace.
    func replacingOccurrences(_ a: Character, _ b: Character) -> String {
        let (x, y) = (a.asciiValue!, b.asciiValue!)
        guard utf8.contains(x) else { return String(self) }
        return String(decoding: utf8.map { $0 == x ? y : $0 }, as: UTF8.self)
    }
}

extension SystemState {
    /// What `harden check` checks: a state per config file (or one without a config),
    /// each with the same command line and sysctl values. `live` reads the running
    /// system's /proc/cmdline and /proc/sys, and /proc/config.gz when no config is given.
    ///
    /// - Throws: `.usage` when there is nothing to check or both a command line file and
    ///   `live` are given; the input errors of the files.
    public static func read(configs: [String], cmdline: String?, sysctl: String?, live: Bool,
                            arch: Arch? = nil, version: KernelVersion? = nil) throws(KernelKitError) -> [SystemState] {
        // Several configs are read on every core; the first failing one (in order) is the error.
        var files: [ConfigFile?] = []
        let read = Parallel.map(count: configs.count, width: Parallel.cores) { i in
            Result { () throws(KernelKitError) in try readConfig(configs[i]) }
        }
        for r in read { files.append(try r.get()) }
        if files.isEmpty && live && InputFile.exists("/proc/config.gz") { files.append(try readConfig("/proc/config.gz")) }
        if files.isEmpty { files = [nil] }
        if cmdline != nil && live { throw KernelKitError(.usage, "give --cmdline FILE or --live, not both") }
        var cmd: KernelCommandLine? = nil
        if let cmdline { cmd = try KernelCommandLine.read(cmdline) } else if live { cmd = try KernelCommandLine.read("/proc/cmdline") }
        var sys: SysctlValues? = nil
        if let sysctl { sys = try SysctlValues.read(sysctl) } else if live { sys = SysctlValues.live() }
        if files.count == 1 && files[0] == nil && cmd == nil && sys == nil {
            throw KernelKitError(.usage, "nothing to check: give --config, --cmdline, --sysctl or --live")
        }
        return files.map { SystemState(config: $0, cmdline: cmd, sysctl: sys, arch: arch, version: version) }
    }
}
