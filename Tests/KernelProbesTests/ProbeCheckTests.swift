import CBPFProbes
import CLibBPF
import Foundation
import KernelKitCore
@testable import KernelProbes
import TestSupport
import Testing

/// The kernel BTF inputs bpftool and btf_custom_path take: an ELF vmlinux made by the
/// kernel's own scripts/extract-vmlinux, and that with one module's split BTF merged in
/// (scripts/btf-merge.c; a .ko.xz is decompressed with xz first).
struct BTFInputs {
    let dir: TemporaryDirectory

    func vmlinux(_ vmlinuz: String, _ name: String) throws -> String {
        let r = try run("/bin/sh", ["-c", "'\(Oracles.tree612)/scripts/extract-vmlinux' '\(vmlinuz)' > '\(dir.path)/\(name)'"])
        #expect(r.status == 0, "\(r.err)")
        return "\(dir.path)/\(name)"
    }

    func merged(_ vmlinux: String, _ module: String, _ name: String) throws -> String {
        var input = module
        if module.hasSuffix(".xz") {
            input = "\(dir.path)/\(name).ko"
            _ = try run("/bin/sh", ["-c", "xz -dc '\(module)' > '\(input)'"])
        }
        let r = try run(Oracles.btfMerge, [vmlinux, input, "\(dir.path)/\(name).btf"])
        #expect(r.status == 0, "\(r.err)")
        return "\(dir.path)/\(name).btf"
    }
}

/// `probe check` against real kernels' BTF, held to libbpf's own answers: bpftool's
/// `gen min_core_btf` (Debian's bpftool, which runs libbpf's relocation code with no
/// kernel) on the same inputs, the running kernel's tracepoint list, and real loads.
@Suite(.serialized, .enabled(if: Oracles.btfShouldRun, "needs the cloud kernels, bpftool and btf-merge (scripts/setup-oracles.sh)"))
struct ProbeCheckTests {
    static let hyperV = ["vmbus", "storvsc", "netvsc"]

    func check(_ kernel: CloudKernel, modules: [String]) throws -> [String: ProbeCompatibility] {
        let btf = try KernelBTF(image: kernel.vmlinuz, modules: modules.map { kernel.modules[$0]! })
        #expect(btf.release == kernel.release)
        return Dictionary(uniqueKeysWithValues: try ProbeCompatibility.check(against: btf).map { ($0.probe, $0) })
    }

    @Test("Debian 12's cloud kernel with hv_vmbus, hv_storvsc, hv_netvsc: every probe fits")
    func debianCloudKernel() throws {
        let r = try check(.debian12, modules: ["hv_vmbus", "hv_storvsc", "hv_netvsc"])
        for (name, c) in r { #expect(c.ok, "\(name): \(c.missing)") }
        #expect(r["vmbus"]?.usable?.attach == "tracepoint")
        #expect(r["netvsc"]?.usable?.attach == "tracepoint")
        // scsi_done lives in scsi_mod: without it, storvsc runs on the block tracepoints.
        #expect(r["storvsc"]?.usable?.attach == "block tracepoints")
        #expect(r["storvsc"]?.variants[0].missing == [.init(kind: .function, name: "scsi_done")])
        let full = try check(.debian12, modules: ["hv_vmbus", "hv_storvsc", "hv_netvsc", "scsi_mod"])
        #expect(full["storvsc"]?.usable?.attach == "fentry")
        // Without hv_vmbus's split BTF, its tracepoints and records are missing.
        let bare = try check(.debian12, modules: [])
        #expect(!(bare["vmbus"]?.ok ?? true))
        #expect(bare["vmbus"]?.missing.contains(.init(kind: .tracepoint, name: "hyperv/vmbus_chan_sched")) == true)
    }

    @Test("The newest cloud kernel from unstable: VMBus built in, storvsc and netvsc as .ko.xz")
    func unstableCloudKernel() throws {
        let bare = try check(.unstable, modules: [])
        // CONFIG_HYPERV_VMBUS=y: the vmbus probe fits the vmlinux BTF alone.
        #expect(bare["vmbus"]?.ok == true, "\(bare["vmbus"]?.missing ?? [])")
        #expect(bare["netvsc"]?.ok == false)
        let r = try check(.unstable, modules: ["hv_storvsc", "hv_netvsc"])
        for (name, c) in r { #expect(c.ok, "\(name): \(c.missing)") }
        let full = try check(.unstable, modules: ["hv_storvsc", "hv_netvsc", "scsi_mod"])
        #expect(full["storvsc"]?.usable?.attach == "fentry")
    }

    @Test("This machine's kernel: the Hyper-V probes miss exactly the tracepoints and functions the kernel lacks")
    func runningKernel() throws {
        let kernel = try KernelBTF(image: "/sys/kernel/btf/vmlinux")
        let results = try ProbeCompatibility.check(against: kernel)
        // tracefs and procfs files report size 0: read them as cat does.
        if !FileManager.default.fileExists(atPath: "/sys/kernel/tracing/events") {
            _ = try run("/bin/mount", ["-t", "tracefs", "nodev", "/sys/kernel/tracing"])
        }
        let events = Set(try run("/bin/cat", ["/sys/kernel/tracing/available_events"]).out
            .split(separator: "\n").map { $0.replacingOccurrences(of: ":", with: "/") })
        let symbols = Set(try run("/bin/cat", ["/proc/kallsyms"]).out.split(separator: "\n")
            .compactMap { $0.split(separator: " ").dropFirst(2).first.map(String.init) })
        #expect(events.count > 100 && symbols.count > 1000)
        for r in results {
            let definition = ProbeCatalog.named(r.probe)!
            for (v, result) in zip(definition.variants, r.variants) {
                // The kernel's own lists decide what should be missing.
                let sections = try ProbeCompatibility.programs(of: v.object).filter { v.programs.contains($0.name) }.map(\.section)
                var expected = Set<ProbeCompatibility.Missing>()
                for s in sections {
                    let parts = s.split(separator: "/").map(String.init)
                    switch parts[0] {
                    case "tracepoint" where !events.contains(parts[1] + "/" + parts[2]):
                        expected.insert(.init(kind: .tracepoint, name: parts[1] + "/" + parts[2]))
                    case "tp_btf", "raw_tp":
                        if !events.contains(where: { $0.hasSuffix("/" + parts[1]) }) { expected.insert(.init(kind: .tracepoint, name: parts[1])) }
                    case "fentry", "fexit", "kprobe", "kretprobe" where !symbols.contains(parts[1]):
                        expected.insert(.init(kind: .function, name: parts[1]))
                    default: break
                    }
                }
                for f in v.functions where !symbols.contains(f) { expected.insert(.init(kind: .function, name: f)) }
                let found = Set(result.missing.filter { $0.kind == .tracepoint || $0.kind == .function })
                #expect(found == expected, "\(r.probe) \(v.attach)")
            }
            #expect(r.ok == !Self.hyperV.contains(r.probe), "\(r.probe)")
        }
    }

    /// (section, relo #) pairs `bpftool -d gen min_core_btf` reports without a target.
    func bpftoolUnresolved(btf: String, object: BPFObjectData, in dir: TemporaryDirectory) throws -> Set<String> {
        let obj = try dir.write("\(object.name).bpf.o", bytes: object.bytes)
        let r = try run(Oracles.bpftool, ["-d", "gen", "min_core_btf", btf, dir.path + "/min.btf", obj])
        #expect(r.status == 0, "bpftool: \(r.err.suffix(400))")
        var out = Set<String>()
        for line in r.err.split(separator: "\n") where line.hasSuffix("no matching targets found") {
            // libbpf: prog 'tracepoint/hyperv/vmbus_chan_sched': relo #0: no matching targets found
            let parts = line.components(separatedBy: "'")
            guard parts.count >= 3, let n = parts[2].components(separatedBy: "#").dropFirst().first?.split(separator: ":").first else { continue }
            out.insert("\(parts[1])#\(n)")
        }
        return out
    }

    func ours(image: String, modules: [String], object: BPFObjectData) throws -> Set<String> {
        let kernel = try KernelBTF(image: image, modules: modules)
        return Set(try ProbeCompatibility.analyse(object, against: kernel).relocations.map { "\($0.section)#\($0.index)" })
    }

    @Test("Every object, every kernel: the relocations left unresolved are exactly bpftool's")
    func agreesWithBpftool() throws {
        let dir = try TemporaryDirectory()
        let inputs = BTFInputs(dir: dir)
        defer { withExtendedLifetime(inputs) {} }
        // bpftool takes an ELF vmlinux, made by the kernel's own scripts/extract-vmlinux.
        let d12 = CloudKernel.debian12, sid = CloudKernel.unstable
        let v61 = try inputs.vmlinux(d12.vmlinuz, "vmlinux-61"), v72 = try inputs.vmlinux(sid.vmlinuz, "vmlinux-72")
        // (what bpftool reads, what probe check reads)
        var cases: [(String, String, [String])] = [
            ("/sys/kernel/btf/vmlinux", "/sys/kernel/btf/vmlinux", []),
            (v61, d12.vmlinuz, []), (v72, sid.vmlinuz, []),
        ]
        for m in ["hv_vmbus", "hv_storvsc", "hv_netvsc"] {
            cases.append((try inputs.merged(v61, d12.modules[m]!, "61-\(m)"), d12.vmlinuz, [d12.modules[m]!]))
        }
        for m in ["hv_storvsc", "hv_netvsc"] {
            cases.append((try inputs.merged(v72, sid.modules[m]!, "72-\(m)"), sid.vmlinuz, [sid.modules[m]!]))
        }
        let objects = [BPFObjects.block, BPFObjects.process, BPFObjects.vmbus, BPFObjects.storvsc, BPFObjects.netvsc]
        var compared = 0, unresolvedSeen = 0
        for (bpftoolInput, image, modules) in cases {
            for object in objects {
                let theirs = try bpftoolUnresolved(btf: bpftoolInput, object: object, in: dir)
                let mine = try ours(image: image, modules: modules, object: object)
                #expect(mine == theirs, "\(object.name) on \(bpftoolInput): ours \(mine.sorted()) bpftool \(theirs.sorted())")
                compared += 1
                unresolvedSeen += theirs.count
            }
        }
        #expect(compared == 40)
        // The comparison is not vacuous: on the kernels without Hyper-V, much is unresolved.
        #expect(unresolvedSeen > 30)
    }

    /// One local type's candidates: (module index or -1 for vmlinux, target id) pairs.
    func candidates(_ cache: OpaquePointer?, _ local: OpaquePointer, _ id: UInt32, _ target: ProbeCompatibility.Target) -> [[Int32]]? {
        var ids = [UInt32](repeating: 0, count: 4096), which = [Int32](repeating: 0, count: 4096)
        let n = target.modules.withUnsafeBufferPointer { mods in
            kk_core_candidates(cache, local, id, target.vmlinux, mods.baseAddress, Int32(mods.count), &ids, &which, 4096)
        }
        if n < 0 { return nil }
        return (0..<Int(min(n, 4096))).map { [which[$0], Int32(bitPattern: ids[$0])] } + [[n]]
    }

    /// Every named type of every object against `kernel`, both ways, and every 29th type of
    /// the kernel itself (as if an object had declared it: the kernel has types of one
    /// name and kind several times over, which the objects' types do not reach). Counts:
    /// the types with a list, with a non-empty one, found only in a module, with several.
    func compareCandidates(_ kernel: borrowing KernelBTF) throws -> [Int] {
        let objects = [BPFObjects.block, BPFObjects.process, BPFObjects.vmbus, BPFObjects.storvsc, BPFObjects.netvsc]
        var locals = try objects.map { (try ProbeCompatibility.LocalObject.of($0).btf, $0.name, UInt32(1)) }
        locals.append((kernel.vmlinux, "vmlinux", 29))
        var counts = [0, 0, 0, 0]
        let target = ProbeCompatibility.Target(vmlinux: kernel.vmlinux, modules: kernel.modules)
        for (local, name, step) in locals {
            for id in stride(from: UInt32(1), to: btf__type_cnt(local), by: Int(step)) {
                let libbpf = candidates(nil, local, id, target)
                let indexed = candidates(target.cache, local, id, target)
                #expect(indexed == libbpf, "\(name) type \(id)")
                guard let list = libbpf else { continue }
                counts[0] += 1
                guard list.count > 1 else { continue }
                counts[1] += 1
                if list.dropLast().contains(where: { $0[0] >= 0 }) { counts[2] += 1 }
                if list.count > 2 { counts[3] += 1 }
            }
        }
        return counts
    }

    @Test("The candidate index gives libbpf's own lists (bpf_core_add_cands), for every named type of every object")
    func candidateIndexIsLibbpfs() throws {
        let d12 = CloudKernel.debian12, sid = CloudKernel.unstable
        let running = try compareCandidates(try KernelBTF(image: "/sys/kernel/btf/vmlinux"))
        let old = try compareCandidates(try KernelBTF(image: d12.vmlinuz, modules: ["hv_vmbus", "hv_storvsc", "hv_netvsc"].map { d12.modules[$0]! }))
        let new = try compareCandidates(try KernelBTF(image: sid.vmlinuz, modules: ["hv_storvsc", "hv_netvsc"].map { sid.modules[$0]! }))
        let total = (0..<4).map { running[$0] + old[$0] + new[$0] }
        // Not vacuous: most named types have candidates, some only in a module's split
        // BTF (the Hyper-V records on 6.1), and many more than one.
        #expect(total[0] > 1000)
        #expect(total[1] > 1000)
        #expect(old[2] > 5)
        #expect(total[3] > 30)
    }
}

/// The Hyper-V programs through this kernel's verifier, relocated as for the Debian cloud
/// kernels (btf_custom_path: a merged kernel + module BTF), since this machine has no
/// Hyper-V. The plain tracepoint programs load without their tracepoints; fentry
/// programs cannot: the kernel needs their target function at load time.
@Suite(.serialized, .enabled(if: Oracles.btfShouldRun && geteuid() == 0, "needs root and the cloud kernels"))
struct HyperVVerifierTests {
    @Test("vmbus and netvsc pass the verifier, relocated for 6.1 and for the newest cloud kernel")
    func tracepointProgramsLoad() throws {
        let inputs = BTFInputs(dir: try TemporaryDirectory())
        defer { withExtendedLifetime(inputs) {} }
        let d12 = CloudKernel.debian12, sid = CloudKernel.unstable
        let v61 = try inputs.vmlinux(d12.vmlinuz, "v61"), v72 = try inputs.vmlinux(sid.vmlinuz, "v72")
        let targets: [(BPFObjectData, String)] = [
            (BPFObjects.vmbus, try inputs.merged(v61, d12.modules["hv_vmbus"]!, "61-vmbus")),
            (BPFObjects.netvsc, try inputs.merged(v61, d12.modules["hv_netvsc"]!, "61-netvsc")),
            (BPFObjects.vmbus, v72),
            (BPFObjects.netvsc, try inputs.merged(v72, sid.modules["hv_netvsc"]!, "72-netvsc")),
        ]
        for (object, btf) in targets {
            do {
                let loaded = try BPFObject(object, relocatingAgainst: btf) { (_: borrowing BPFObjectConfiguration) throws(KernelKitError) in }
                loaded.close()
            } catch {
                Issue.record("\(object.name) against \(btf): \(error)")
            }
        }
    }

    func only(_ programs: [String], of object: BPFObjectData) throws -> (borrowing BPFObjectConfiguration) throws(KernelKitError) -> Void {
        let all = try ProbeCompatibility.programs(of: object).map(\.name)
        return { (c: borrowing BPFObjectConfiguration) throws(KernelKitError) in for p in all { c.setAutoload(p, programs.contains(p)) } }
    }

    @Test("storvsc's fentry programs cannot be loaded here: the kernel has no storvsc_queuecommand")
    func fentryNeedsItsTarget() throws {
        let fentry = ProbeCatalog.named("storvsc")!.variants.first { $0.attach == "fentry" }!
        #expect(throws: KernelKitError.self) { _ = try BPFObject(BPFObjects.storvsc, configure: try only(fentry.programs, of: BPFObjects.storvsc)) }
    }

    @Test("storvsc's kprobe programs pass the verifier, relocated for 6.1 (hv_storvsc's BTF)")
    func kprobeProgramsLoad() throws {
        let inputs = BTFInputs(dir: try TemporaryDirectory())
        defer { withExtendedLifetime(inputs) {} }
        let d12 = CloudKernel.debian12
        let btf = try inputs.merged(try inputs.vmlinux(d12.vmlinuz, "v61"), d12.modules["hv_storvsc"]!, "storvsc")
        let kprobe = ProbeCatalog.named("storvsc")!.variants.first { $0.attach == "kprobe" }!
        do {
            let loaded = try BPFObject(BPFObjects.storvsc, relocatingAgainst: btf,
                                       configure: try only(kprobe.programs, of: BPFObjects.storvsc))
            loaded.close()
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test("The offline verdict agrees with the real attach on this kernel: ok probes attach, the Hyper-V ones do not")
    func verdictMatchesAttach() throws {
        let kernel = try KernelBTF.running()
        let verdicts = Dictionary(uniqueKeysWithValues: try ProbeCompatibility.check(against: kernel).map { ($0.probe, $0) })
        // biolatency's tp_btf programs: attached and detached.
        #expect(verdicts["biolatency"]?.usable?.attach == "tp_btf")
        let attach = try BlockProbe.run(.biolatency, options: .init()) { (_: borrowing BPFObject, attach: String) throws(KernelKitError) in attach }
        #expect(attach == "tp_btf")
        #expect(verdicts["process"]?.ok == true)
        let trace = try ProcessTrace.record(until: { true })
        #expect(trace.lostEvents == 0)
        // vmbus: loaded (relocated for 7.2, where VMBus is built in), its attach refused.
        #expect(verdicts["vmbus"]?.ok == false)
        let inputs = BTFInputs(dir: try TemporaryDirectory())
        defer { withExtendedLifetime(inputs) {} }
        let v72 = try inputs.vmlinux(CloudKernel.unstable.vmlinuz, "v72")
        let vmbus = try BPFObject(BPFObjects.vmbus, relocatingAgainst: v72) { (_: borrowing BPFObjectConfiguration) throws(KernelKitError) in }
        #expect(throws: KernelKitError.self) { _ = try vmbus.attach("vmbus_chan_sched") }
    }
}

@Suite("libbpf's log")
struct LibbpfLogTests {
    /// probe check loads objects on threads at once; each load must quote its own
    /// libbpf lines when it fails, never another thread's.
    @Test("each thread reads back only the lines logged on it")
    func perThread() {
        final class Box: @unchecked Sendable { var got: [String] = [] }
        // This test's thread is one of the test pool's: whatever an earlier test on it
        // logged (a CI run once found a whole load's lines there) is not this test's.
        _ = LibbpfLog.take()
        let boxes = [Box(), Box()]
        let threads = (0..<2).map { n in
            PosixThread { [box = boxes[n]] in
                for i in 0..<2000 { LibbpfLog.append("thread \(n) line \(i)") }
                box.got = LibbpfLog.take()
            }
        }
        threads.forEach { $0.startOrRun() }
        threads.forEach { $0.join() }
        for n in 0..<2 {
            #expect(boxes[n].got == (0..<2000).map { "thread \(n) line \($0)" })
        }
        #expect(LibbpfLog.take().isEmpty)
    }
}

/// BTF that libbpf 1.1 parses (it checks sizes only) but whose references its CO-RE code
/// would follow off the end or round in a circle: each is a located error (KernelBTF's
/// kk_btf_validate), and sound BTF still loads. Built word by word (include/uapi/linux/btf.h).
@Suite("BTF references libbpf 1.1 leaves unchecked")
struct BTFReferenceTests {
    /// A raw BTF of `types` (32-bit words) and `strings` (NUL-separated, starting with "").
    static func btf(_ types: [UInt32], strings: String) -> [UInt8] {
        let typeBytes = types.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
        let strs = Array(strings.utf8)
        var header: [UInt8] = [0x9f, 0xeb, 1, 0]
        for word in [24, 0, typeBytes.count, typeBytes.count, strs.count] {
            header += withUnsafeBytes(of: UInt32(word).littleEndian, Array.init)
        }
        return header + typeBytes + strs
    }
    static func info(kind: UInt32, vlen: UInt32 = 0) -> UInt32 { kind << 24 | vlen }
    // Kinds: 1 INT, 2 PTR, 3 ARRAY, 4 STRUCT, 6 ENUM, 8 TYPEDEF, 12 FUNC.
    static let int: [UInt32] = [1, info(kind: 1), 4, 32]  // [1] INT 'int' size 4, 32 bits

    @Test("each unsound reference is named with its type", arguments: [
        ("a member of a missing type", int + [5, info(kind: 4, vlen: 1), 4, 7, 9, 0], "type 2: a member has type 9, which does not exist"),
        ("an array of itself", int + [0, info(kind: 3), 0, 2, 1, 4], "type 2: it contains itself"),
        ("structs that hold each other", int + [5, info(kind: 4, vlen: 1), 4, 7, 3, 0] + [5, info(kind: 4, vlen: 1), 4, 7, 2, 0], "it contains itself"),
        ("a function whose type is an int", int + [5, info(kind: 12), 1], "type 2: a function whose type 1 is not a function prototype"),
        ("an enumerator named past the strings", int + [5, info(kind: 6, vlen: 1), 4, 999, 0], "type 2: an enumerator's name is at offset 999, outside the string section"),
        ("a pointer to a missing type", int + [0, info(kind: 2), 7], "type 2: it refers to type 7, which does not exist"),
        ("a member named past the strings", int + [5, info(kind: 4, vlen: 1), 4, 9, 1, 0], "type 2: a member's name is at offset 9, outside the string section"),
    ] as [(String, [UInt32], String)])
    func unsound(label: String, types: [UInt32], message: String) throws {
        let bytes = Self.btf(types, strings: "\0int\0s\0m\0")
        do {
            _ = try KernelBTF(kernel: bytes, file: "k.btf", modules: [])
            Issue.record("\(label): loaded")
        } catch {
            #expect(error.code == .btf && error.location?.file == "k.btf", "\(label)")
            #expect(error.message.contains(message), "\(label): \(error.message)")
        }
    }

    @Test("sound BTF loads: a struct of an int, a pointer to itself, a typedef")
    func sound() throws {
        // [2] STRUCT 's' { int m; struct s *next; } [3] PTR → 2, [4] TYPEDEF 'm' → 2.
        let types = Self.int + [5, Self.info(kind: 4, vlen: 2), 16, 7, 1, 0, 7, 3, 64] + [0, Self.info(kind: 2), 2] + [7, Self.info(kind: 8), 2]
        let kernel = try KernelBTF(kernel: Self.btf(types, strings: "\0int\0s\0m\0"), file: "k.btf", modules: [])
        #expect(kernel.image == "k.btf")
    }
}
