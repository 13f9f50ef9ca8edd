import CLibKmod
import KernelImageKit
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

extension KernelKitError.Code {
    /// libkmod could not do what was asked (no context, a module it cannot open or read).
    public static let kmod = KernelKitError.Code("kmod")
}

/// A libkmod context (`struct kmod_ctx`): a modules directory, its indexes and the
/// modprobe configuration. What kmod knows is asked of kmod itself, so KernelKit reads
/// the tree, the loaded modules and `.modinfo` as `modprobe`, `lsmod` and `modinfo` do.
/// Owns the context; the handle is released once, when the owner goes.
public struct KmodContext: ~Copyable {
    let ctx: OpaquePointer

    /// `directory` is the modules directory (default: /lib/modules/`uname -r`, as kmod
    /// picks it). libkmod's own log lines are dropped: failures come back as errors.
    public init(directory: String? = nil) throws(KernelKitError) {
        guard let ctx = kmod_new(directory, nil) else {
            throw KernelKitError(.kmod, "libkmod could not create a context: \(String(cString: strerror(errno)))",
                                 at: directory.map { SourceLocation(file: $0, line: 0) })
        }
        kmod_set_log_fn(ctx, { _, _, _, _, _, _, _ in }, nil)
        self.ctx = ctx
    }

    deinit { kmod_unref(ctx) }

    /// The modules directory this context reads.
    public var directory: String { String(cString: kmod_get_dirname(ctx)) }

    /// Every `.modinfo` field of a module file, then the signature fields, in the order
    /// kmod_module_get_info() gives them. libkmod reads .ko.xz and .ko.zst itself; it is
    /// built without zlib (as Debian builds it), so a .ko.gz is handed over decompressed,
    /// in a temporary file unlinked at once (read through /proc/self/fd).
    public func info(path: String) throws(KernelKitError) -> [(key: String, value: String)] {
        var fd: Int32 = -1
        defer { if fd >= 0 { close(fd) } }
        var open = path
        if Self.isGzip(path) {
            let module = try ModuleFile.read(path)
            var template = Array("/tmp/kernelkit-module-XXXXXX".utf8CString)
            fd = mkstemp(&template)
            if fd >= 0 { unlink(template) }
            guard fd >= 0, module.bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == module.bytes.count else {
                throw KernelKitError(.kmod, "cannot hand the decompressed module to libkmod: \(String(cString: strerror(errno)))",
                                     at: SourceLocation(file: path, line: 0))
            }
            open = "/proc/self/fd/\(fd)"
        }
        var mod: OpaquePointer?
        let err = kmod_module_new_from_path(ctx, open, &mod)
        guard err >= 0, let mod else {
            throw KernelKitError(.kmod, "libkmod cannot open the module: \(String(cString: strerror(-err)))",
                                 at: SourceLocation(file: path, line: 0))
        }
        defer { kmod_module_unref(mod) }
        return try Self.fields(of: mod, path: path)
    }

    static func isGzip(_ path: String) -> Bool {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var magic: (UInt8, UInt8) = (0, 0)
        return read(fd, &magic, 2) == 2 && magic == (0x1F, 0x8B)
    }

    static func fields(of mod: OpaquePointer, path: String) throws(KernelKitError) -> [(key: String, value: String)] {
        var list: OpaquePointer?
        let n = kmod_module_get_info(mod, &list)
        guard n >= 0 else {
            throw KernelKitError(.kmod, "libkmod cannot read the module's .modinfo: \(String(cString: strerror(-n)))",
                                 at: SourceLocation(file: path, line: 0))
        }
        defer { kmod_module_info_free_list(list) }
        var out = [(key: String, value: String)]()
        var l = list
        while let entry = l {
            out.append((String(cString: kmod_module_info_get_key(entry)), String(cString: kmod_module_info_get_value(entry))))
            l = kmod_list_next(list, entry)
        }
        return out
    }

    /// The modules the running kernel has loaded (/proc/modules, through
    /// kmod_module_new_from_loaded), with their state, use count and holders.
    public func loaded() throws(KernelKitError) -> [LoadedModule] {
        var head: OpaquePointer?
        let err = kmod_module_new_from_loaded(ctx, &head)
        guard err >= 0 else {
            throw KernelKitError(.kmod, "libkmod cannot list the loaded modules: \(String(cString: strerror(-err)))",
                                 at: SourceLocation(file: "/proc/modules", line: 0))
        }
        let list = KmodModuleList(head)
        var out = [LoadedModule]()
        list.forEach { out.append(LoadedModule($0)) }
        return out
    }

    /// The modules that serve a modalias (`vmbus:…`, `pci:v…`), as modprobe resolves it
    /// (kmod_module_new_from_lookup: aliases, then names, then built-ins).
    public func lookup(alias: String) -> [String] {
        var head: OpaquePointer?
        guard kmod_module_new_from_lookup(ctx, alias, &head) >= 0 else { return [] }
        var out = [String]()
        KmodModuleList(head).forEach { out.append(String(cString: kmod_module_get_name($0))) }
        return out
    }

    /// Where kmod finds a module by name: `loaded`, `built-in` (modules.builtin), `in
    /// the tree` (modules.dep has its file), or `absent`.
    public func state(of name: String) -> String {
        var mod: OpaquePointer?
        guard kmod_module_new_from_name(ctx, name, &mod) >= 0, let mod else { return "absent" }
        defer { kmod_module_unref(mod) }
        switch kmod_module_get_initstate(mod) {
        case Int32(KMOD_MODULE_BUILTIN.rawValue): return "built-in"
        case Int32(KMOD_MODULE_LIVE.rawValue), Int32(KMOD_MODULE_COMING.rawValue): return "loaded"
        default: return kmod_module_get_path(mod) != nil ? "in the tree" : "absent"
        }
    }
}

/// Owns a libkmod list of modules (`struct kmod_list` of `kmod_module`s): released with
/// kmod_module_unref_list once, when the owner goes.
struct KmodModuleList: ~Copyable {
    let head: OpaquePointer?
    init(_ head: OpaquePointer?) { self.head = head }
    deinit { kmod_module_unref_list(head) }

    /// Each module, referenced only for the call.
    func forEach(_ body: (OpaquePointer) -> Void) {
        var entry = head
        while let e = entry {
            if let mod = kmod_module_get_module(e) {
                body(mod)
                kmod_module_unref(mod)
            }
            entry = kmod_list_next(head, e)
        }
    }
}

/// One module the running kernel holds, as libkmod reads it from /proc/modules and
/// /sys/module.
public struct LoadedModule: Sendable, Equatable {
    public var name: String
    /// live, coming, going (kmod_module_initstate_str), or "unknown".
    public var state: String
    /// The use count (/sys/module/NAME/refcnt), nil when the kernel does not say.
    public var useCount: Int?
    public var holders: [String]
    /// The core size in bytes (/proc/modules' second column).
    public var size: Int?
    /// The module's file (from modules.dep), when kmod can find it.
    public var path: String?

    init(_ mod: OpaquePointer) {
        name = String(cString: kmod_module_get_name(mod))
        let s = kmod_module_get_initstate(mod)
        state = s < 0 ? "unknown" : kmod_module_initstate_str(kmod_module_initstate(rawValue: UInt32(s))).map { String(cString: $0) } ?? "unknown"
        let rc = kmod_module_get_refcnt(mod)
        useCount = rc < 0 ? nil : Int(rc)
        let sz = kmod_module_get_size(mod)
        size = sz <= 0 ? nil : Int(sz)
        path = kmod_module_get_path(mod).map { String(cString: $0) }
        var holders = [String]()
        KmodModuleList(kmod_module_get_holders(mod)).forEach { holders.append(String(cString: kmod_module_get_name($0))) }
        self.holders = holders
    }
}

/// The text kmod's `modinfo FILE` prints, from the fields libkmod gives: `filename:`,
/// each field as `key:` padded to 16 columns, and the module parameters last, `parm`
/// and `parmtype` joined per parameter (tools/modinfo.c, modinfo_do and process_parm).
public enum ModinfoText {
    public static func render(filename: String, fields: [(key: String, value: String)]) -> String {
        var out = pad("filename:") + filename + "\n"
        // modinfo keeps one entry per parameter name, each new name put at the head of
        // its list, so the parameters print in the reverse order of first appearance.
        var params = [(name: Substring, description: Substring?, type: Substring?)]()
        for (key, value) in fields {
            if key == "parm" || key == "parmtype" {
                // A value without ':' is skipped, as modinfo does (with a message).
                guard let colon = value.firstIndex(of: ":") else { continue }
                let name = value[..<colon], rest = value[value.index(after: colon)...]
                var i = params.firstIndex { $0.name == name }
                if i == nil {
                    params.insert((name, nil, nil), at: 0)
                    i = 0
                }
                if key == "parm" { params[i!].description = rest } else { params[i!].type = rest }
                continue
            }
            // printf("%s:%-*s%s", key, 15 - keylen, "", value): a negative width pads too.
            out += key + ":" + String(repeating: " ", count: abs(15 - key.utf8.count)) + value + "\n"
        }
        for p in params {
            switch (p.description, p.type) {
            case (nil, let type): out += pad("parm:") + "\(p.name):\(type ?? "")\n"
            case (let d?, let type?): out += pad("parm:") + "\(p.name):\(d) (\(type))\n"
            case (let d?, nil): out += pad("parm:") + "\(p.name):\(d)\n"
            }
        }
        return out
    }

    static func pad(_ s: String) -> String { s + String(repeating: " ", count: max(0, 16 - s.utf8.count)) }
}
