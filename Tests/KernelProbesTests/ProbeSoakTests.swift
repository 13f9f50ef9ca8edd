import Foundation
import KernelKitCore
import KernelProbes
import CBPFProbes
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Soak: a long-lived user of the library (the exporter, a test harness) starts and stops
/// probes again and again. Each cycle must give back every BPF program, map and link it
/// made, and every file descriptor; a probe process killed with SIGKILL must leave
/// nothing attached once it is gone (the kernel drops a link with its last fd).
@Suite("probes: start/stop cycles and SIGKILL leave nothing behind", .serialized,
       .enabled(if: ProbeEnvironment.available, "needs root and a kernel with BTF (/sys/kernel/btf/vmlinux)"))
struct ProbeSoakTests {
    /// This process's open descriptors, and those that are BPF objects (programs, maps,
    /// links: anon inodes named bpf-prog, bpf-map, bpf_link, bpf-ringbuf…).
    static func descriptors() -> (all: Int, bpf: [String]) {
        let fds = openDescriptors("self")
        return (fds.count, fds.filter { $0.target.contains("bpf") }.map { "\($0.fd) -> \($0.target)" })
    }

    @Test("100 start/stop cycles of each block probe and the process probe: no program, map, link or fd left")
    func cycles() throws {
        #expect(try BPFPrograms.settles(), "programs left from before the test")
        let before = Self.descriptors()
        var options = BlockProbe.Options()
        options.perDisk = true
        options.perOperation = true
        options.queued = true
        for tool in [BlockProbe.Tool.biolatency, .bitesize, .biosnoop] {
            for cycle in 0..<100 {
                let attached = try BlockProbe.run(tool, options: options) { (_: borrowing BPFObject, _: String) throws(KernelKitError) in
                    Self.descriptors().bpf.count
                }
                if cycle == 0 { #expect(attached >= 3, "\(tool): \(attached) BPF descriptors while attached") }
            }
            // Other suites of this process (probe check loads BPF objects on threads) open
            // and close descriptors meanwhile, so the counts move a little; a descriptor
            // kept per cycle would add a hundred.
            let now = Self.descriptors()
            #expect(now.all < before.all + 50, "\(tool): \(now.all) descriptors after 100 cycles, \(before.all) before")
            #expect(now.bpf.count < 20, "\(tool): BPF descriptors left after 100 cycles: \(now.bpf)")
        }
        for _ in 0..<100 { _ = try ProcessTrace.record(until: { true }) }
        let now = Self.descriptors()
        #expect(now.all < before.all + 50 && now.bpf.count < 20, "process probe: after 100 cycles \(now.all) descriptors, \(now.bpf)")
        #expect(try BPFPrograms.settles(), "block programs held by nobody after the cycles")
        // Maps: none named as ours (hists, the ring buffers) that no process holds.
        let maps = try Self.orphanMaps()
        #expect(maps.isEmpty, "maps left: \(maps)")
    }

    @Test("a probe killed with SIGKILL leaves nothing attached once it is gone")
    func killed() throws {
        #expect(try BPFPrograms.settles())
        for round in 0..<3 {
            let bg = try Background(Paths.kernelkit, ["probe", "biolatency", "-D", "-F", "-Q", "--duration", "60"])
            #expect(bg.waitForLinks(3), "round \(round): the probe never attached")
            kill(bg.process.processIdentifier, SIGKILL)
            _ = bg.wait()
            #expect(try BPFPrograms.settles(), "round \(round): programs left after SIGKILL")
        }
        #expect(try Self.orphanMaps().isEmpty)
    }

    /// Requests the kernel completed on a block device, reads and writes
    /// (Documentation/block/stat.rst: fields 1 and 5 of /sys/block/NAME/stat).
    static func completed(_ name: String) -> Int {
        let fields = ((try? String(contentsOfFile: "/sys/block/\(name)/stat", encoding: .utf8)) ?? "")
            .split(separator: " ").compactMap { Int($0) }
        return fields.count > 4 ? fields[0] + fields[4] : -1
    }

    @Test("an overloaded ring buffer or event queue: every request the kernel completed is received or counted lost")
    func overloaded() throws {
        let loop = try LoopDevice()
        let reads = 3000
        // Each layer overloaded in turn: the kernel's ring buffer at one page (sizeof(kk_event)
        // plus its 8-byte header: some 60 records) read only after the workload, then a
        // 4 MiB ring read at once into a user-space queue of 100 that nobody drains meanwhile.
        for (ringBytes, queue) in [(Int(sysconf(Int32(_SC_PAGESIZE))), 65536), (1 << 22, 100)] {
            var options = BlockProbe.Options()
            options.disk = loop.name
            options.ringBufferBytes = ringBytes
            var setupError: (any Error)? = nil
            let (kernel, received, ringLost, queueLost) = try BlockProbe.run(.biosnoop, options: options) {
                (object: borrowing BPFObject, _: String) throws(KernelKitError) in
                let before = Self.completed(loop.name)
                let early = queue < 65536 ? try EventStream(object, of: kk_event.self, capacity: queue) : nil
                do { try loop.directReads(reads) } catch { setupError = error }
                let kernel = Self.completed(loop.name) - before
                let stream: EventStream
                if let early { stream = early } else { stream = try EventStream(object, of: kk_event.self, capacity: queue) }
                usleep(300_000)
                stream.stop()
                let received = stream.drain(as: kk_event.self).count
                return (kernel, received, BlockProbe.counters(object).lost, stream.dropped)
            }
            if let setupError { throw setupError }
            #expect(kernel == reads, "the kernel completed \(kernel) requests for \(reads) reads")
            #expect(ringLost + queueLost > 0, "ring \(ringBytes) B, queue \(queue): nothing was lost, so nothing was overloaded")
            #expect(received + Int(ringLost) + Int(queueLost) == kernel,
                    "ring \(ringBytes) B, queue \(queue): received \(received), lost in the ring \(ringLost), in the queue \(queueLost); the kernel completed \(kernel)")
            if queue < 65536 { #expect(ringLost == 0 && received <= queue) } else { #expect(queueLost == 0) }
        }
    }

    /// Maps of the block and process probes (their map names) that no process's fd names.
    static func orphanMaps() throws -> Set<Int> {
        let r = try run("/usr/sbin/bpftool", ["map", "list", "-j"])
        let maps = (try JSONSerialization.jsonObject(with: r.stdout) as? [[String: Any]]) ?? []
        let names: Set<String> = ["hists", "start", "events", "io", "io_time", "loading"]
        let ours = Set(maps.filter { names.contains(($0["name"] as? String) ?? "") }.compactMap { $0["id"] as? Int })
        // The kernel frees a map shortly after its last holder (RCU): asked again a
        // few times before it counts as left behind.
        var left = ours.subtracting(BPFPrograms.held("map_id:"))
        for _ in 0..<20 where !left.isEmpty {
            usleep(100_000)
            let now = Set(((try JSONSerialization.jsonObject(with: try run("/usr/sbin/bpftool", ["map", "list", "-j"]).stdout)
                as? [[String: Any]]) ?? []).compactMap { $0["id"] as? Int })
            left = left.intersection(now).subtracting(BPFPrograms.held("map_id:"))
        }
        return left
    }
}
