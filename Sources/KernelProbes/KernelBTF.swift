import CBPFProbes
import CLibBPF
import KernelImageKit
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

extension KernelKitError.Code {
    /// A BTF file, or a kernel image or module that should carry one, is unusable.
    public static let btf = KernelKitError.Code("btf")
}

/// A target kernel's BTF, read with libbpf: the vmlinux BTF and the split BTF of the
/// modules given, each over the vmlinux one, as the kernel itself lays them out
/// (/sys/kernel/btf/vmlinux and /sys/kernel/btf/MODULE).
///
/// `~Copyable`: the owner frees libbpf's `struct btf` objects, the modules' first (they
/// point into the base).
public struct KernelBTF: ~Copyable {
    let vmlinux: OpaquePointer
    let modules: [OpaquePointer]
    /// The module names, in the order of `modules`.
    public let moduleNames: [String]
    /// The kernel release (`uname -r`), from the image's "Linux version" banner; nil for raw BTF.
    public let release: String?
    /// What was read: the image's path.
    public let image: String

    deinit {
        for m in modules { btf__free(m) }
        btf__free(vmlinux)
    }

    /// Reads `image` (a vmlinuz, a vmlinux ELF with a .BTF section, or raw BTF such as
    /// /sys/kernel/btf/vmlinux) and `modules` (.ko, .ko.xz, .ko.zst, .ko.gz, or raw split
    /// BTF such as /sys/kernel/btf/hv_vmbus).
    public init(image: String, modules modulePaths: [String] = []) throws(KernelKitError) {
        var release: String?
        let base: OpaquePointer
        if let mapped = MappedFile(image), Self.isRawBTF(mapped.bytes) || Self.isELF(mapped.bytes) {
            // Raw BTF or an ELF vmlinux: only the .BTF section (and .rodata, for the
            // banner) is read, straight from the mapping.
            let btf = try Self.rawBTF(mapped.bytes, file: image, what: "kernel")
            if Self.isELF(mapped.bytes), let rodata = try? Self.section(".rodata", of: mapped.bytes, file: image) {
                release = KernelImage.release(in: Array(rodata))
            }
            base = try Self.parse(raw: btf, file: image, base: nil, what: "kernel")
        } else {
            let bytes = try InputFile.readBytes(image)
            var kernel = bytes
            if !Self.isRawBTF(bytes[...]) && !Self.isELF(bytes[...]) {
                do {
                    kernel = try KernelImage.vmlinux(bytes, file: image)
                } catch {
                    throw KernelKitError(.btf, "not a kernel image, a vmlinux or a BTF file (\(error.message))",
                                         at: SourceLocation(file: image, line: 0))
                }
                release = KernelImage.release(in: kernel)
            }
            base = try Self.parse(kernel, file: image, base: nil, what: "kernel")
        }
        let parsed = try Self.parseModules(modulePaths.map { path in (path, { () throws(KernelKitError) in try Self.moduleBytes(path) }) }, base: base)
        vmlinux = base
        modules = parsed
        moduleNames = modulePaths.map(Self.moduleName)
        self.release = release
        self.image = image
    }

    /// BTF already in memory, read as the path initialiser reads files: `kernel` is raw
    /// BTF or an ELF vmlinux with a .BTF section, each module raw split BTF or an
    /// uncompressed module. The fuzzer's entry (the `btf` target).
    public init(kernel: [UInt8], file: String, modules moduleBytes: [(name: String, bytes: [UInt8])]) throws(KernelKitError) {
        let base = try Self.parse(kernel, file: file, base: nil, what: "kernel")
        modules = try Self.parseModules(moduleBytes.map { m in (m.name, { () throws(KernelKitError) in m.bytes }) }, base: base)
        vmlinux = base
        moduleNames = moduleBytes.map(\.name)
        release = nil
        image = file
    }

    /// Each module's split BTF over `base`, in order. On an error, frees what it parsed
    /// and `base` too, so that the initialisers have nothing left to free.
    private static func parseModules(_ sources: [(path: String, bytes: () throws(KernelKitError) -> [UInt8])],
                                     base: OpaquePointer) throws(KernelKitError) -> [OpaquePointer] {
        var parsed = [OpaquePointer]()
        for (path, read) in sources {
            do {
                parsed.append(try Self.parse(try read(), file: path, base: base, what: "module"))
            } catch {
                for m in parsed { btf__free(m) }
                btf__free(base)
                throw error
            }
        }
        return parsed
    }

    /// The running kernel: /sys/kernel/btf/vmlinux and the split BTF of every loaded module.
    public static func running() throws(KernelKitError) -> KernelBTF {
        let dir = "/sys/kernel/btf"
        guard access(dir + "/vmlinux", R_OK) == 0 else {
            throw KernelKitError(.btf, "the running kernel has no BTF (\(dir)/vmlinux): it was built without CONFIG_DEBUG_INFO_BTF")
        }
        let names = InputFile.entries(dir).filter { $0 != "vmlinux" }
        return try KernelBTF(image: dir + "/vmlinux", modules: names.sorted().map { dir + "/" + $0 })
    }

    /// Where each of `wanted` (a BTF kind and a name) is: "vmlinux", a module's name;
    /// absent when nowhere. One pass over every type: libbpf's btf__find_by_name_kind
    /// scans all of them on each call (and a module's search scans the kernel's again),
    /// and a Swift String per type name costs more than the whole check. The wanted names
    /// are few (a few dozen), so they are grouped by length: most of the kernel's 50,000
    /// function names are turned away by their length alone, and the rest are compared
    /// byte for byte with the few of that length (hashing every name, then a dictionary
    /// lookup, was a sixth of a check).
    func locate(_ wanted: [(kind: Int32, name: String)]) -> [String: String] {
        let longest = wanted.map(\.name.utf8.count).max() ?? 0
        var byLength = [[(kind: Int32, name: [UInt8], key: String)]](repeating: [], count: longest + 1)
        for w in wanted { byLength[w.name.utf8.count].append((w.kind, Array(w.name.utf8), Self.key(w.kind, w.name))) }
        let wantedLength = byLength.map { !$0.isEmpty }
        var found = [String: String]()
        func scan(_ btf: OpaquePointer, from: UInt32, place: String) {
            let count = btf__type_cnt(btf)
            var id = from
            while id < count {
                defer { id += 1 }
                guard let t = btf__type_by_id(btf, id) else { continue }
                let kind = Int32((t.pointee.info >> 24) & 0x1f)
                guard kind == ProbeCompatibility.kindFunc || kind == ProbeCompatibility.kindTypedef,
                      let cname = btf__name_by_offset(btf, t.pointee.name_off) else { continue }
                let length = strlen(cname)
                guard length <= longest, wantedLength[length] else { continue }
                for c in byLength[length] where c.kind == kind
                    && c.name.withUnsafeBytes({ memcmp($0.baseAddress!, cname, length) == 0 }) && found[c.key] == nil {
                    found[c.key] = place
                }
            }
        }
        scan(vmlinux, from: 1, place: "vmlinux")
        let start = btf__type_cnt(vmlinux)
        for (m, name) in zip(modules, moduleNames) { scan(m, from: start, place: name) }
        return found
    }

    static func key(_ kind: Int32, _ name: String) -> String { "\(kind):\(name)" }

    /// The module name a file stands for: hv_vmbus.ko.xz → hv_vmbus.
    static func moduleName(_ path: String) -> String {
        var name = String(path.split(separator: "/").last ?? "")
        for suffix in [".xz", ".zst", ".gz"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        if name.hasSuffix(".ko") { name.removeLast(3) }
        return name
    }

    static func isELF<C: Collection>(_ b: C) -> Bool where C.Element == UInt8, C.Index == Int {
        b.count > 4 && b[b.startIndex] == 0x7f && b[b.startIndex + 1] == 0x45 && b[b.startIndex + 2] == 0x4c && b[b.startIndex + 3] == 0x46
    }
    /// BTF_MAGIC 0xeB9F, little-endian (include/uapi/linux/btf.h).
    static func isRawBTF<C: Collection>(_ b: C) -> Bool where C.Element == UInt8, C.Index == Int {
        b.count > 4 && b[b.startIndex] == 0x9f && b[b.startIndex + 1] == 0xeb
    }

    static func moduleBytes(_ path: String) throws(KernelKitError) -> [UInt8] {
        let raw = try InputFile.readBytes(path)
        let c = Compression.detect(raw)
        let bytes = c == .none ? raw : try c.decompress(raw[...], file: path)
        guard isELF(bytes) || isRawBTF(bytes) else {
            throw KernelKitError(.btf, "not a kernel module (no ELF header) nor split BTF", at: SourceLocation(file: path, line: 0))
        }
        return bytes
    }

    /// The raw BTF of an ELF file (its .BTF section), or the bytes themselves when they
    /// are raw BTF. Only the section goes to libbpf: handing it a whole 50 MB vmlinux to
    /// find the section in costs a read and a copy of all of it.
    static func rawBTF(_ bytes: UnsafeRawBufferPointer, file: String, what: String) throws(KernelKitError) -> UnsafeRawBufferPointer {
        if isRawBTF(bytes) { return bytes }
        do {
            return try section(".BTF", of: bytes, file: file)
        } catch where error.code == .btf && error.message == "no section" {
            throw KernelKitError(.btf, "the \(what) has no BTF (.BTF section): it was built without CONFIG_DEBUG_INFO_BTF\(what == "module" ? "_MODULES" : "")",
                                 at: SourceLocation(file: file, line: 0))
        } catch {
            throw KernelKitError(.btf, "the \(what) is not a readable ELF file", at: SourceLocation(file: file, line: 0))
        }
    }

    /// A section of an ELF file in memory, through libelf (core_check.c).
    static func section(_ name: String, of bytes: UnsafeRawBufferPointer, file: String) throws(KernelKitError) -> UnsafeRawBufferPointer {
        var offset = 0, length = 0
        let rc = kk_elf_section(bytes.baseAddress, bytes.count, name, &offset, &length)
        if rc == -ENOENT { throw KernelKitError(.btf, "no section") }
        if rc != 0 { throw KernelKitError(.btf, "unreadable ELF") }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
    }

    /// The BTF of `bytes`, raw or an ELF file's .BTF section (`rawBTF`), parsed.
    static func parse(_ bytes: [UInt8], file: String, base: OpaquePointer?, what: String) throws(KernelKitError) -> OpaquePointer {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(KernelKitError) in
                try Self.parse(raw: try Self.rawBTF(raw, file: file, what: what), file: file, base: base, what: what)
            }
        }.get()
    }

    /// libbpf's parser over raw BTF: btf__new for a kernel's (it copies the bytes), and
    /// for a module's split BTF btf__parse_raw_split through an anonymous memory file
    /// (libbpf 1.1 reads split BTF only by path; it has no btf__new_split).
    static func parse(raw: UnsafeRawBufferPointer, file: String, base: OpaquePointer?, what: String) throws(KernelKitError) -> OpaquePointer {
        _ = LibbpfLog.installed
        _ = LibbpfLog.take()
        let corrupt = { (err: Int32) in
            KernelKitError(.btf, "corrupt or truncated BTF in the \(what) (libbpf: \(String(cString: strerror(err))))",
                           at: SourceLocation(file: file, line: 0))
        }
        guard let base else {
            guard let btf = btf__new(raw.baseAddress, UInt32(raw.count)) else { throw corrupt(errno) }
            return try validated(btf, file: file, what: what)
        }
        let fd = kk_memfd("kernelkit-btf")
        guard fd >= 0 else { throw KernelKitError(.btf, "memfd_create: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        if write(fd, raw.baseAddress, raw.count) != raw.count {
            throw KernelKitError(.btf, "cannot buffer \(file): \(String(cString: strerror(errno)))")
        }
        guard let btf = btf__parse_raw_split("/proc/self/fd/\(fd)", base) else { throw corrupt(errno) }
        return try validated(btf, file: file, what: what)
    }

    /// `btf` once kk_btf_validate (core_check.c) finds every reference in it sound: libbpf
    /// 1.1 does not check them, and its CO-RE code crashes or loops on a bad one. Frees
    /// `btf` when it is not.
    static func validated(_ btf: OpaquePointer, file: String, what: String) throws(KernelKitError) -> OpaquePointer {
        var bad: UInt32 = 0
        var why = [CChar](repeating: 0, count: 160)
        guard kk_btf_validate(btf, &bad, &why, why.count) != 0 else { return btf }
        btf__free(btf)
        let message = why.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        throw KernelKitError(.btf, "corrupt BTF in the \(what): type \(bad): \(message)", at: SourceLocation(file: file, line: 0))
    }
}
