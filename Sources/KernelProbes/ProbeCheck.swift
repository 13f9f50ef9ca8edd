import Synchronization
import CBPFProbes
import CLibBPF
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// Whether each probe fits a kernel, decided from the kernel's BTF alone: no load, no
/// root. Attach targets (tracepoints as their `btf_trace_NAME` typedefs, functions as
/// BTF FUNCs) are looked up by name; CO-RE relocations are computed by libbpf's own code
/// (core_check.c), so "resolved" means what libbpf's load would make of them.
public struct ProbeCompatibility: Sendable {
    public struct Missing: Sendable, Hashable {
        public enum Kind: String, Sendable { case tracepoint, function, type, field }
        public let kind: Kind
        public let name: String
    }

    /// A CO-RE relocation libbpf could not resolve against the target.
    public struct Relocation: Sendable, Equatable {
        public let section: String
        public let index: Int
        /// libbpf's formatted local spec, "<byte_off> [10] struct trace_event_raw_vmbus_channel.relid (0:0 @ offset 0)".
        public let spec: String
        /// "struct trace_event_raw_vmbus_channel"
        public let type: String
        /// "relid"; empty for a relocation on the type itself.
        public let access: String
        /// Target types with the root type's name: none means the type is missing.
        public let candidates: Int
    }

    public struct VariantResult: Sendable {
        public let attach: String
        public let missing: [Missing]
        public let unresolved: [Relocation]
        public let limitation: String?
        public var ok: Bool { missing.isEmpty }
    }

    public let probe: String
    public let variants: [VariantResult]

    public var ok: Bool { variants.contains { $0.ok } }
    /// The first variant that fits, which is the one a run would use.
    public var usable: VariantResult? { variants.first { $0.ok } }
    /// What is missing for every variant (nothing when one fits).
    public var missing: [Missing] {
        if ok { return [] }
        var seen = Set<Missing>(), out = [Missing]()
        for v in variants { for m in v.missing where seen.insert(m).inserted { out.append(m) } }
        return out
    }

    /// Checks each probe of `probes` against `kernel`.
    /// `concurrently`: each object on a thread of its own (the default); the fuzzer checks
    /// thousands of kernels a second, where making the threads would cost more than the check.
    public static func check(_ probes: [ProbeDefinition] = ProbeCatalog.all, against kernel: borrowing KernelBTF,
                             concurrently: Bool = true) throws(KernelKitError) -> [ProbeCompatibility] {
        var byObject = [String: (programs: [(name: String, section: String)], relocations: [Relocation])]()
        var results = [ProbeCompatibility]()
        // Each object relocated on a thread of its own (libbpf's candidate search, a scan
        // of every kernel type per local type, is most of the work), sharing one cache.
        var objects = [BPFObjectData]()
        for v in probes.flatMap(\.variants) where !objects.contains(where: { $0.name == v.object.name }) { objects.append(v.object) }
        let target = Target(vmlinux: kernel.vmlinux, modules: kernel.modules)
        final class Slot: @unchecked Sendable { var result: Result<Analysis, KernelKitError>? }
        let slots = objects.map { _ in Slot() }
        let work = zip(objects, slots).map { object, slot in
            { @Sendable in slot.result = Result { () throws(KernelKitError) in try analyse(object, against: target) } }
        }
        if concurrently {
            let threads = work.map { PosixThread($0) }
            threads.forEach { $0.startOrRun() }
            threads.forEach { $0.join() }
        } else {
            work.forEach { $0() }
        }
        for (object, slot) in zip(objects, slots) { byObject[object.name] = try slot.result!.get() }
        // Every attach target and required function, looked up in one pass.
        var wanted = [(kind: Int32, name: String)]()
        for probe in probes {
            for v in probe.variants {
                for section in byObject[v.object.name]!.programs.filter({ v.programs.contains($0.name) }).map(\.section) {
                    if let t = attachTarget(section) { wanted.append((t.kind, t.btfName)) }
                }
                wanted += v.functions.map { (kindFunc, $0) }
            }
        }
        let located = kernel.locate(wanted)
        func present(_ name: String, _ kind: Int32) -> Bool { located[KernelBTF.key(kind, name)] != nil }
        for probe in probes {
            var variants = [VariantResult]()
            for v in probe.variants {
                let (programs, relocations) = byObject[v.object.name]!
                var missing = [Missing]()
                var unresolved = [Relocation]()
                for name in v.programs {
                    guard let section = programs.first(where: { $0.name == name })?.section else {
                        throw KernelKitError(.bpf, "the probe catalogue names a program \(name) that \(v.object.name) lacks")
                    }
                    if let target = attachTarget(section), !present(target.btfName, target.kind),
                       !missing.contains(target.missing) {
                        missing.append(target.missing)
                    }
                    for r in relocations where r.section == section {
                        unresolved.append(r)
                        let m = r.candidates == 0 || r.access.isEmpty
                            ? Missing(kind: .type, name: r.type) : Missing(kind: .field, name: r.type + "." + r.access)
                        if !missing.contains(m) { missing.append(m) }
                    }
                }
                for f in v.functions where !present(f, kindFunc) {
                    missing.append(Missing(kind: .function, name: f))
                }
                variants.append(VariantResult(attach: v.attach, missing: missing, unresolved: unresolved, limitation: v.limitation))
            }
            results.append(ProbeCompatibility(probe: probe.name, variants: variants))
        }
        return results
    }

    /// BTF_KIND_TYPEDEF and BTF_KIND_FUNC (include/uapi/linux/btf.h; the names are ambiguous
    /// to Swift, which sees them in two C enums).
    static let kindTypedef: Int32 = 8, kindFunc: Int32 = 12

    /// What a program's section attaches to, as BTF names it (libbpf's section prefixes,
    /// src/libbpf.c section_defs; tracepoints by the `btf_trace_` typedef that
    /// include/trace/bpf_probe.h emits for every event, which libbpf's tp_btf uses too).
    static func attachTarget(_ section: String) -> (btfName: String, kind: Int32, missing: Missing)? {
        let parts = section.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2 else { return nil }
        let typedef = ProbeCompatibility.kindTypedef, function = ProbeCompatibility.kindFunc
        switch parts[0] {
        case "tracepoint", "tp":
            guard parts.count == 3 else { return nil }
            return ("btf_trace_" + parts[2], typedef, Missing(kind: .tracepoint, name: parts[1] + "/" + parts[2]))
        case "tp_btf", "raw_tp", "raw_tracepoint":
            return ("btf_trace_" + parts[1], typedef, Missing(kind: .tracepoint, name: parts[1]))
        case "fentry", "fexit", "fmod_ret", "kprobe", "kretprobe":
            return (parts[1], function, Missing(kind: .function, name: parts[1]))
        default:
            return nil
        }
    }

    /// The object's programs and the relocations libbpf leaves unresolved on `kernel`.
    typealias Analysis = (programs: [(name: String, section: String)], relocations: [Relocation])

    /// A kernel's libbpf BTF handles for the threads that read them (read-only: libbpf's
    /// accessors do not mutate a parsed BTF), and the candidate cache they share.
    final class Target: @unchecked Sendable {
        let vmlinux: OpaquePointer
        let modules: [OpaquePointer?]
        let cache = kk_cand_cache_new()
        init(vmlinux: OpaquePointer, modules: [OpaquePointer]) {
            self.vmlinux = vmlinux
            self.modules = modules
        }
        deinit { kk_cand_cache_free(cache) }
    }

    static func analyse(_ object: BPFObjectData, against kernel: borrowing KernelBTF) throws(KernelKitError) -> Analysis {
        try analyse(object, against: Target(vmlinux: kernel.vmlinux, modules: kernel.modules))
    }

    static func analyse(_ object: BPFObjectData, against kernel: Target) throws(KernelKitError) -> Analysis {
        let local = try LocalObject.of(object)
        final class Sink { var out = [Relocation]() }
        let sink = Sink()
        let rc = kernel.modules.withUnsafeBufferPointer { mods -> Int32 in
            kk_core_check_object(local.btf, local.image.baseAddress, local.image.count, kernel.vmlinux, mods.baseAddress, Int32(mods.count), kernel.cache, { r, ctx in
                guard let r, let ctx else { return }
                let sink = Unmanaged<Sink>.fromOpaque(ctx).takeUnretainedValue()
                if r.pointee.resolved != 0 { return }
                let spec = withUnsafeBytes(of: r.pointee.spec) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                let (type, access) = ProbeCompatibility.split(spec: spec)
                sink.out.append(Relocation(section: String(cString: r.pointee.section), index: Int(r.pointee.index), spec: spec,
                                           type: type, access: access, candidates: Int(r.pointee.candidates)))
            }, Unmanaged.passUnretained(sink).toOpaque())
        }
        _ = LibbpfLog.take()
        if rc != 0 { throw KernelKitError(.bpf, "the BPF object \(object.name) has a malformed .BTF.ext (\(String(cString: strerror(-rc))))") }
        return (local.programs, sink.out)
    }

    /// What the analysis needs of an object whatever the target: its programs (libbpf's
    /// open) and its own BTF and .BTF.ext (libbpf's btf__parse_elf, as bpftool's
    /// min_core_btf reads them). The objects are the binary's embedded data, so each is
    /// read once per process and kept: reading them again for every kernel checked was
    /// most of a check's time in the btf fuzz target's profile.
    final class LocalObject: @unchecked Sendable {
        let programs: [(name: String, section: String)]
        /// Never freed: kept for the process, as the object's bytes are.
        let btf: OpaquePointer
        /// The object's bytes, 8-aligned, for the .BTF.ext reader.
        let image: UnsafeMutableRawBufferPointer

        private static let read = Mutex<[String: LocalObject]>([:])

        static func of(_ object: BPFObjectData) throws(KernelKitError) -> LocalObject {
            if let known = read.withLock({ $0[object.name] }) { return known }
            let made = try LocalObject(object)
            return read.withLock { objects in
                if let first = objects[object.name] { return first }
                objects[object.name] = made
                return made
            }
        }

        private init(_ object: BPFObjectData) throws(KernelKitError) {
            programs = try ProbeCompatibility.programs(of: object)
            let bytes = object.bytes
            let fd = kk_memfd("kernelkit-bpf-object")
            guard fd >= 0 else { throw KernelKitError(.bpf, "memfd_create: \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard let local = btf__parse_elf("/proc/self/fd/\(fd)", nil) else {
                throw KernelKitError(.bpf, "the BPF object \(object.name) has no BTF")
            }
            btf = local
            image = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
            image.copyBytes(from: bytes)
        }
    }

    /// The object's programs and their ELF sections (libbpf's open, no load).
    static func programs(of object: BPFObjectData) throws(KernelKitError) -> [(name: String, section: String)] {
        let bytes = object.bytes
        var programs = [(name: String, section: String)]()
        _ = LibbpfLog.installed
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
        defer { buffer.deallocate() }
        buffer.copyBytes(from: bytes)
        var opts = bpf_object_open_opts()
        opts.sz = MemoryLayout<bpf_object_open_opts>.size
        guard let obj = bpf_object__open_mem(buffer.baseAddress, buffer.count, &opts) else {
            throw KernelKitError(.bpf, "cannot open the BPF object \(object.name): \(String(cString: strerror(errno)))")
        }
        var prog = bpf_object__next_program(obj, nil)
        while let p = prog {
            programs.append((String(cString: bpf_program__name(p)), String(cString: bpf_program__section_name(p))))
            prog = bpf_object__next_program(obj, p)
        }
        bpf_object__close(obj)
        _ = LibbpfLog.take()
        return programs
    }

    /// "<byte_off> [10] struct trace_event_raw_vmbus_channel.relid (0:0 @ offset 0)" →
    /// ("struct trace_event_raw_vmbus_channel", "relid"), as bpf_core_format_spec writes it.
    static func split(spec: String) -> (type: String, access: String) {
        // Over the bytes: String's generic searches (firstRange(of:), ranges(of:)) were a
        // tenth of a check in the btf fuzz target's profile.
        let b = Array(spec.utf8)
        guard let close = b.indices.dropLast().first(where: { b[$0] == UInt8(ascii: "]") && b[$0 + 1] == 0x20 }) else { return (spec, "") }
        var end = b.count
        var i = b.count - 2
        while i >= close + 2 {
            if b[i] == 0x20 && b[i + 1] == UInt8(ascii: "(") { end = i; break }
            i -= 1
        }
        let rest = b[(close + 2)..<end]
        guard let dot = rest.firstIndex(of: UInt8(ascii: ".")) else { return (String(decoding: rest, as: UTF8.self), "") }
        return (String(decoding: rest[..<dot], as: UTF8.self), String(decoding: rest[(dot + 1)...], as: UTF8.self))
    }
}

/// `kernelkit probe check`'s report: `kernelkit.probe-check/1` and its text form.
public struct ProbeCheckReport: Sendable {
    public let image: String
    public let release: String?
    public let modules: [String]
    public let results: [ProbeCompatibility]

    public init(kernel: borrowing KernelBTF, results: [ProbeCompatibility]) {
        image = kernel.image
        release = kernel.release
        modules = kernel.moduleNames
        self.results = results
    }

    public var allOK: Bool { results.allSatisfy(\.ok) }

    static func json(_ m: [ProbeCompatibility.Missing]) -> JSONValue {
        .array(m.map { .object([("kind", .string($0.kind.rawValue)), ("name", .string($0.name))]) })
    }

    public var json: JSONValue {
        .object([
            ("schema", "kernelkit.probe-check/1"),
            ("kernel", .object([("image", .string(image)), ("release", release.map { .string($0) } ?? .null),
                                ("modules", .array(modules.map { .string($0) }))])),
            ("probes", .array(results.map { r in
                .object([
                    ("probe", .string(r.probe)),
                    ("status", .string(r.ok ? "ok" : "incompatible")),
                    ("attach", r.usable.map { .string($0.attach) } ?? .null),
                    ("missing", Self.json(r.missing)),
                    ("variants", .array(r.variants.map { v in
                        .object([
                            ("attach", .string(v.attach)),
                            ("status", .string(v.ok ? "ok" : "incompatible")),
                            ("missing", Self.json(v.missing)),
                            ("unresolved_relocations", .array(v.unresolved.map { u in
                                .object([("section", .string(u.section)), ("index", .int(u.index)), ("spec", .string(u.spec))])
                            })),
                            ("limitation", v.limitation.map { .string($0) } ?? .null),
                        ])
                    })),
                ])
            })),
        ])
    }

    public var text: String {
        var out = "Kernel: \(image)" + (release.map { " (\($0))" } ?? "") + "\n"
        if !modules.isEmpty { out += "Modules: \(modules.joined(separator: ", "))\n" }
        let width = max(8, results.map(\.probe.count).max() ?? 0)
        for r in results {
            let name = r.probe.leftAligned(width)
            if let v = r.usable {
                out += "  \(name)  ok (\(v.attach))" + (v.limitation.map { ": \($0)" } ?? "") + "\n"
            } else {
                out += "  \(name)  incompatible\n"
                for v in r.variants {
                    let what = v.missing.map { "\($0.kind.rawValue) \($0.name)" }.joined(separator: ", ")
                    out += "  \("".leftAligned(width))    \(v.attach): missing \(what)\n"
                }
            }
        }
        let bad = results.filter { !$0.ok }.count
        out += bad == 0 ? "All \(results.count) probes fit this kernel.\n" : "\(bad) of \(results.count) probes do not fit this kernel.\n"
        return out
    }
}
