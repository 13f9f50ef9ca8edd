import CBPFProbes
import CLibBPF
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// An opened and loaded BPF object: the owner of libbpf's `bpf_object` and, through it,
/// of its programs and maps.
///
/// `~Copyable`, with one owner that closes it in `deinit` or ``close()``. It lends what
/// it owns and never hands out libbpf pointers: maps are borrowed inside a closure
/// (``withMap(_:_:)``), as swift-system's owners lend their descriptors, so nothing can
/// outlive the object.
public struct BPFObject: ~Copyable {
    private let object: OpaquePointer
    /// `bpf_object__open_mem` keeps the caller's buffer: the object owns its copy until close.
    private let buffer: UnsafeMutableRawBufferPointer

    /// Opens `data`; `configure` runs before load (autoload, read-only data).
    /// `relocatingAgainst`, a BTF file, replaces the running kernel's BTF for CO-RE
    /// (libbpf's `btf_custom_path`): the programs are relocated as for that kernel and
    /// verified by this one, which is how the Hyper-V programs are verified on a machine
    /// without Hyper-V.
    /// The corresponding libbpf calls are `bpf_object__open_mem` and `bpf_object__load`.
    public init(_ data: BPFObjectData, relocatingAgainst customBTF: String? = nil,
                configure: (borrowing BPFObjectConfiguration) throws(KernelKitError) -> Void) throws(KernelKitError) {
        _ = LibbpfLog.installed
        _ = LibbpfLog.take()
        let bytes = data.bytes
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
        buffer.copyBytes(from: bytes)
        var opts = bpf_object_open_opts()
        opts.sz = MemoryLayout<bpf_object_open_opts>.size
        guard let obj = data.name.withCString({ name -> OpaquePointer? in
            opts.object_name = name
            guard let customBTF else { return bpf_object__open_mem(buffer.baseAddress, buffer.count, &opts) }
            return customBTF.withCString { path in
                opts.btf_custom_path = path
                return bpf_object__open_mem(buffer.baseAddress, buffer.count, &opts)
            }
        }) else {
            buffer.deallocate()
            throw KernelKitError(.bpf, "cannot open the BPF object \(data.name): \(String(cString: strerror(errno)))")
        }
        do {
            try configure(BPFObjectConfiguration(object: obj))
        } catch {
            bpf_object__close(obj)
            buffer.deallocate()
            throw error
        }
        let rc = bpf_object__load(obj)
        if rc != 0 {
            let log = LibbpfLog.take()
            bpf_object__close(obj)
            buffer.deallocate()
            let err = -rc
            // EACCES is also the verifier's answer to an invalid memory access: with a
            // verifier log it is a rejected program, not a missing privilege.
            let verifierSpoke = log.contains { $0.contains("processed") || $0.contains("invalid") || $0.contains("R0") || $0.contains("R1") }
            if err == EPERM || (err == EACCES && !verifierSpoke) {
                throw KernelKitError(.permission, "the kernel refused to load BPF programs (\(String(cString: strerror(err)))): run as root; if root already, lockdown or the memlock limit (ulimit -l) may forbid it")
            }
            let tail = log.suffix(15).joined().trimming("\n")
            throw KernelKitError(.bpf, "the verifier rejected \(data.name) (\(String(cString: strerror(err)))); the end of its log:\n\(tail)")
        }
        // A successful load's lines are not needed (the log serves a failure's message),
        // and would otherwise stay with this thread until its next load.
        _ = LibbpfLog.take()
        object = obj
        self.buffer = buffer
    }

    deinit {
        bpf_object__close(object)
        buffer.deallocate()
    }

    /// Closes the object now (detach its links first: they hold its programs).
    public consuming func close() {
        bpf_object__close(object)
        buffer.deallocate()
        discard self
    }

    /// Lends the map `name` to `body`; nil when the object has none.
    public func withMap<R, E: Error>(_ name: String, _ body: (borrowing BPFMap) throws(E) -> R) throws(E) -> R? {
        guard let m = bpf_object__find_map_by_name(object, name) else { return nil }
        return try body(BPFMap(map: m))
    }

    /// Records the object's ring buffer had no room for: `lost_events`, the first .bss
    /// word of every probe object (BPF/ringbuf.h).
    public var lostEvents: UInt64 {
        let bss = globalData(".bss")
        return bss.count >= 8 ? bss.withUnsafeBytes { $0.load(as: UInt64.self) } : 0
    }

    /// Pins the map `name` at `path` (on bpffs), so that a later process can read it.
    /// The corresponding libbpf call is `bpf_map__pin`.
    public func pinMap(_ name: String, at path: String) throws(KernelKitError) {
        guard let m = bpf_object__find_map_by_name(object, name) else { throw KernelKitError(.bpf, "no map \(name) in the object") }
        let rc = bpf_map__pin(m, path)
        if rc != 0 { throw KernelKitError(.bpf, "cannot pin the map \(name) at \(path): \(String(cString: strerror(-rc)))") }
    }

    /// The current bytes of a global-data map (`.bss`), read from the kernel.
    public func globalData(_ name: String) -> [UInt8] {
        withMap(name) { $0.globalValue } ?? []
    }

    /// Attaches a program at the place its section names.
    /// The corresponding libbpf call is `bpf_program__attach`.
    public func attach(_ name: String) throws(KernelKitError) -> BPFLink {
        guard let prog = bpf_object__find_program_by_name(object, name) else {
            throw KernelKitError(.bpf, "no program \(name) in the object")
        }
        guard let link = bpf_program__attach(prog) else {
            throw KernelKitError(.bpf, "cannot attach \(name): \(String(cString: strerror(errno)))")
        }
        return BPFLink(link: link)
    }
}

/// The object between open and load, lent to ``BPFObject/init(_:configure:)``.
public struct BPFObjectConfiguration: ~Copyable {
    fileprivate let object: OpaquePointer

    public func setAutoload(_ program: String, _ on: Bool) {
        if let p = bpf_object__find_program_by_name(object, program) { bpf_program__set_autoload(p, on) }
    }

    /// Sizes the object's ring buffer `events` (a power of 2, at least a page, as the
    /// kernel's ringbuf_map_alloc() requires). Smaller than BPF/ringbuf.h's 4 MiB only to
    /// overload it on purpose: the soak test that checks lost events are counted.
    public func setRingBufferBytes(_ bytes: Int) throws(KernelKitError) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard bytes >= page, bytes & (bytes - 1) == 0, bytes <= 1 << 30 else {
            throw KernelKitError(.usage, "a ring buffer of \(bytes) bytes: it must be a power of 2 from the page size (\(page)) up")
        }
        guard let m = bpf_object__find_map_by_name(object, "events"),
              bpf_map__set_max_entries(m, UInt32(bytes)) == 0 else {
            throw KernelKitError(.bpf, "cannot size the BPF object's ring buffer")
        }
    }

    /// Sets the object's read-only data (`const volatile` globals) before load.
    public func setReadOnlyData(_ bytes: [UInt8]) throws(KernelKitError) {
        guard let m = bpf_object__find_map_by_name(object, ".rodata") else {
            throw KernelKitError(.bpf, "the BPF object has no .rodata")
        }
        var size = 0
        guard bpf_map__initial_value(m, &size) != nil, size == bytes.count else {
            throw KernelKitError(.bpf, "the BPF object's .rodata is \(size) bytes, expected \(bytes.count): probes.h and the program disagree")
        }
        let rc = bytes.withUnsafeBytes { bpf_map__set_initial_value(m, $0.baseAddress, $0.count) }
        if rc != 0 { throw KernelKitError(.bpf, "cannot set the BPF object's configuration") }
    }
}

/// An attached program: the owner of a `bpf_link`, destroyed (detached) in `deinit`
/// or ``close()``.
public struct BPFLink: ~Copyable {
    private let link: OpaquePointer
    fileprivate init(link: OpaquePointer) { self.link = link }
    deinit { bpf_link__destroy(link) }

    public consuming func close() {
        bpf_link__destroy(link)
        discard self
    }

    /// Pins the link at `path` (on bpffs) and lets go of it without detaching: the
    /// program stays attached after this process exits, until the pin is removed.
    /// The corresponding libbpf calls are `bpf_link__pin` and `bpf_link__disconnect`.
    public consuming func pin(at path: String) throws(KernelKitError) {
        let rc = bpf_link__pin(link, path)
        if rc != 0 {
            let err = -rc
            bpf_link__destroy(link)
            discard self
            throw KernelKitError(.bpf, "cannot pin a BPF link at \(path): \(String(cString: strerror(err)))")
        }
        bpf_link__disconnect(link)
        bpf_link__destroy(link)
        discard self
    }
}
