import CLibElf
import KernelKitCore

/// A libelf handle over a module's bytes, closed when the owner goes away.
///
/// `~Copyable`: exactly one owner calls `elf_end()`, and the bytes libelf reads from stay
/// alive as long as the handle does.
struct ELFHandle: ~Copyable {
    private let elf: OpaquePointer
    private let storage: UnsafeMutableRawBufferPointer

    init(_ bytes: ArraySlice<UInt8>, file: String) throws(KernelKitError) {
        if elf_version(UInt32(EV_CURRENT)) == UInt32(EV_NONE) {
            throw failure(.notELF, "libelf is out of date", file)
        }
        guard bytes.count >= 4, bytes.prefix(4).elementsEqual([0x7f, 0x45, 0x4c, 0x46]) else {
            throw failure(.notELF, "not an ELF file (a kernel module is an ELF relocatable object)", file)
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
        buffer.copyBytes(from: bytes)
        let handle = elf_memory(buffer.baseAddress!.assumingMemoryBound(to: CChar.self), bytes.count)
        guard let e = handle, elf_kind(e) == ELF_K_ELF else {
            // libelf may hand back a handle of another kind (ELF_K_NONE for a damaged
            // header), which needs its elf_end too: the fuzzer found the leak.
            let reason = String(cString: elf_errmsg(-1))
            if let handle { elf_end(handle) }
            buffer.deallocate()
            throw failure(.notELF, "not a readable ELF file: \(reason)", file)
        }
        elf = e
        storage = buffer
    }

    deinit {
        elf_end(elf)
        storage.deallocate()
    }

    /// Ends the handle now. The corresponding libelf call is `elf_end`.
    consuming func close() {
        elf_end(elf)
        storage.deallocate()
        discard self
    }

    /// `e_type`: modules are ET_REL.
    var type: Int {
        var ehdr = GElf_Ehdr()
        guard gelf_getehdr(elf, &ehdr) != nil else { return -1 }
        return Int(ehdr.e_type)
    }

    /// The bytes of the section called `name`, nil when there is none.
    func section(named name: String) -> [UInt8]? {
        var shstrndx = 0
        guard elf_getshdrstrndx(elf, &shstrndx) == 0 else { return nil }
        var scn = elf_nextscn(elf, nil)
        while let s = scn {
            var shdr = GElf_Shdr()
            if gelf_getshdr(s, &shdr) != nil, let n = elf_strptr(elf, shstrndx, Int(shdr.sh_name)),
               String(cString: n) == name {
                guard shdr.sh_type != UInt32(SHT_NOBITS), let data = elf_getdata(s, nil),
                      let base = data.pointee.d_buf else { return [] }
                return Array(UnsafeRawBufferPointer(start: base, count: data.pointee.d_size))
            }
            scn = elf_nextscn(elf, s)
        }
        return nil
    }
}

/// The `.modinfo` section of a module: NUL-separated `key=value` strings, in order.
public struct ModuleInfo: Sendable, Equatable {
    public var entries: [(key: String, value: String)]

    public static func == (a: ModuleInfo, b: ModuleInfo) -> Bool {
        a.entries.elementsEqual(b.entries) { $0.key == $1.key && $0.value == $1.value }
    }

    public subscript(key: String) -> String? { entries.first { $0.key == key }?.value }
    public func all(_ key: String) -> [String] { entries.filter { $0.key == key }.map(\.value) }

    /// Reads `.modinfo` from an ELF module (`bytes` without any signature).
    public init(elf bytes: ArraySlice<UInt8>, file: String) throws(KernelKitError) {
        let handle = try ELFHandle(bytes, file: file)
        guard handle.type == 1 else { // ET_REL
            throw failure(.notELF, "an ELF file, but not a relocatable object as kernel modules are", file)
        }
        entries = []
        guard let section = handle.section(named: ".modinfo") else { return }
        for field in section.split(separator: 0) {
            let text = String(decoding: field, as: UTF8.self)
            if let eq = text.firstIndex(of: "=") {
                entries.append((String(text[..<eq]), String(text[text.index(after: eq)...])))
            }
        }
    }
}
