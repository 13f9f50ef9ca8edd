import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `probe check`, `probe list`, the Hyper-V probes where there is no Hyper-V, and
/// `--workload`, through the binary users get.
@Suite("probe check and probe list", .serialized)
struct ProbeCheckCLITests {
    static func json(_ r: ProcessResult) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] ?? [:]
    }

    @Test("probe check on Debian's cloud kernel and its three Hyper-V modules: every probe ok, exit 0",
          .enabled(if: Oracles.btfShouldRun))
    func cloudKernel() throws {
        let k = CloudKernel.debian12
        let r = try kernelkit(["probe", "check", "--btf", k.vmlinuz, "--module-btf", k.modules["hv_vmbus"]!,
                               "--module-btf", k.modules["hv_storvsc"]!, "--module-btf", k.modules["hv_netvsc"]!, "--format", "json"])
        #expect(r.status == 0, "\(r.err)")
        let doc = try Self.json(r)
        #expect(doc["schema"] as? String == "kernelkit.probe-check/1")
        #expect((doc["kernel"] as? [String: Any])?["release"] as? String == k.release)
        let probes = doc["probes"] as? [[String: Any]] ?? []
        #expect(probes.map { $0["probe"] as? String } == ["biolatency", "bitesize", "biosnoop", "process", "vmbus", "storvsc", "netvsc"])
        for p in probes { #expect(p["status"] as? String == "ok", "\(p)") }
        let text = try kernelkit(["probe", "check", "--btf", k.vmlinuz, "--module-btf", k.modules["hv_vmbus"]!, "--probe", "vmbus"])
        #expect(text.status == 0 && text.out.contains("vmbus") && text.out.contains("ok (tracepoint)"), "\(text.out)")
    }

    @Test("probe check on this machine's kernel: the Hyper-V probes incompatible, named, exit 1")
    func runningKernel() throws {
        let r = try kernelkit(["probe", "check", "--btf", "/sys/kernel/btf/vmlinux", "--format", "json"])
        #expect(r.status == 1, "\(r.err)")
        let probes = (try Self.json(r)["probes"] as? [[String: Any]]) ?? []
        for p in probes {
            let name = p["probe"] as? String ?? ""
            let hyperV = ["vmbus", "storvsc", "netvsc"].contains(name)
            #expect(p["status"] as? String == (hyperV ? "incompatible" : "ok"), "\(name)")
            if name == "vmbus" {
                let missing = (p["missing"] as? [[String: String]] ?? []).filter { $0["kind"] == "tracepoint" }.compactMap { $0["name"] }
                #expect(Set(missing) == ["hyperv/vmbus_chan_sched", "hyperv/vmbus_on_event", "hyperv/vmbus_setevent",
                                         "hyperv/vmbus_onoffer", "hyperv/vmbus_onoffer_rescind"])
            }
        }
    }

    @Test("bad inputs to probe check: one line naming the file, exit 2")
    func badInputs() throws {
        let dir = try TemporaryDirectory()
        let whole = try run("/bin/cat", ["/sys/kernel/btf/vmlinux"]).stdout
        let truncated = try dir.write("truncated.btf", bytes: Array(whole.prefix(4096)))
        var corrupt = Array(whole.prefix(200_000))
        for i in stride(from: 64, to: corrupt.count, by: 97) { corrupt[i] ^= 0xff }
        let flipped = try dir.write("corrupt.btf", bytes: corrupt)
        let text = try dir.write("notes.txt", "this is not a kernel\n")
        let cases: [([String], String, String)] = [
            (["--btf", truncated], truncated, "BTF"),
            (["--btf", flipped], flipped, "BTF"),
            (["--btf", text], text, "not a kernel image"),
            (["--btf", dir.path + "/missing"], dir.path + "/missing", "no such file"),
            (["--btf", "/sys/kernel/btf/vmlinux", "--module-btf", text], text, "not a kernel module"),
        ]
        for (args, file, words) in cases {
            let r = try kernelkit(["probe", "check"] + args)
            #expect(r.status == 2, "\(args): \(r.status) \(r.out)")
            #expect(r.out.isEmpty && r.err.split(separator: "\n").count == 1, "\(args): \(r.err)")
            #expect(r.err.contains(file) && r.err.lowercased().contains(words.lowercased()), "\(args): \(r.err)")
        }
    }

    @Test("mutated BTF (seeded: flipped bytes, truncations): a verdict or a one-line error, never a crash")
    func mutatedBTF() throws {
        let dir = try TemporaryDirectory()
        let whole = Array(try run("/bin/cat", ["/sys/kernel/btf/vmlinux"]).stdout)
        var rng = SplitMix(seed: 2026)
        var verdicts = 0, errors = 0
        for i in 0..<60 {
            // Half keep the whole file (the parse goes deep, into CO-RE), half are cut short.
            var bytes = i % 2 == 0 ? whole : Array(whole.prefix(24 + Int(rng.next() % UInt64(whole.count - 24))))
            for _ in 0..<(1 + Int(rng.next() % 8)) {
                bytes[24 + Int(rng.next() % UInt64(bytes.count - 24))] = UInt8(truncatingIfNeeded: rng.next())
            }
            let file = try dir.write("m\(i).btf", bytes: bytes)
            let r = try kernelkit(["probe", "check", "--btf", file, "--format", "json"])
            #expect([0, 1, 2].contains(r.status), "mutation \(i): exit \(r.status) \(r.err.suffix(300))")
            if r.status == 2 {
                errors += 1
                #expect(r.err.split(separator: "\n").count == 1 && r.err.contains(file), "mutation \(i): \(r.err)")
            } else {
                verdicts += 1
                #expect((try? JSONSerialization.jsonObject(with: r.stdout)) != nil, "mutation \(i): not JSON")
            }
        }
        // Both kinds of answer came up: the mutations reach the checks, not only the header.
        #expect(verdicts > 0 && errors > 0, "\(verdicts) verdicts, \(errors) errors")
    }

    @Test("a module without BTF: one line saying so", .enabled(if: Oracles.btfShouldRun))
    func moduleWithoutBTF() throws {
        let dir = try TemporaryDirectory()
        let stripped = dir.path + "/hv_vmbus.ko"
        let o = try run("/usr/bin/objcopy", ["--remove-section=.BTF", CloudKernel.debian12.modules["hv_vmbus"]!, stripped])
        #expect(o.status == 0, "\(o.err)")
        let r = try kernelkit(["probe", "check", "--btf", CloudKernel.debian12.vmlinuz, "--module-btf", stripped])
        #expect(r.status == 2 && r.err.contains(stripped) && r.err.contains("no BTF"), "\(r.err)")
    }

    @Test("probe list here: the Hyper-V probes cannot run, saying why; the block probes can", .enabled(if: geteuid() == 0))
    func list() throws {
        let r = try kernelkit(["probe", "list"])
        #expect(r.status == 0, "\(r.err)")
        for name in ["vmbus", "storvsc", "netvsc"] {
            let line = r.out.split(separator: "\n").first { $0.hasPrefix(name + " ") } ?? ""
            #expect(line.contains("cannot run: module hv_\(name == "vmbus" ? "vmbus" : name) is not loaded"), "\(line)")
        }
        #expect(r.out.split(separator: "\n").first { $0.hasPrefix("storvsc ") }?.contains("lockdown") == true)
        for name in ["biolatency", "bitesize", "biosnoop", "process"] {
            #expect(r.out.split(separator: "\n").first { $0.hasPrefix(name + " ") }?.contains("can run (") == true, "\(name)")
        }
        let j = try Self.json(try kernelkit(["probe", "list", "--format", "json"]))
        #expect(j["schema"] as? String == "kernelkit.probe-list/1")
        let vmbus = (j["probes"] as? [[String: Any]])?.first { $0["probe"] as? String == "vmbus" }
        #expect(vmbus?["can_run"] as? Bool == false && ((vmbus?["reasons"] as? [String])?.count ?? 0) >= 2)
    }

    @Test("the Hyper-V probes without Hyper-V: one line, exit 0, nothing on stdout", arguments: ["vmbus", "storvsc", "netvsc"])
    func absentDriver(probe: String) throws {
        let r = try kernelkit(["probe", probe, "--duration", "1", "--format", "json"])
        #expect(r.status == 0 && r.out.isEmpty, "\(r.status) \(r.out)")
        #expect(r.err.split(separator: "\n").count == 1 && r.err.contains("nothing to trace"), "\(r.err)")
    }

    @Test("--workload: run under the probe, recorded in the report; one that cannot start is an error",
          .enabled(if: geteuid() == 0 && FileManager.default.fileExists(atPath: "/sys/kernel/btf/vmlinux")))
    func workload() throws {
        let r = try kernelkit(["probe", "biolatency", "--format", "json", "--workload", "/bin/sh -c 'sleep 0.3; exit 4'"])
        #expect(r.status == 0, "\(r.err)")
        let w = try Self.json(r)["workload"] as? [String: Any]
        #expect(w?["command"] as? [String] == ["/bin/sh", "-c", "sleep 0.3; exit 4"] && w?["exit_status"] as? Int == 4, "\(r.out)")
        #expect((w?["seconds"] as? Double ?? 0) >= 0.3)
        let bad = try kernelkit(["probe", "biolatency", "--workload", "/nonexistent/fio job.fio"])
        #expect(bad.status == 2 && bad.err.contains("cannot start the workload '/nonexistent/fio'"), "\(bad.err)")
    }

    @Test("probe compare of two Hyper-V reports: histograms by series, counters side by side")
    func compareHyperV() throws {
        let dir = try TemporaryDirectory()
        func report(_ rate: Double, _ counts: [Int]) -> String {
            let buckets = counts.enumerated().map { i, c in "{\"low\": \(i == 0 ? 0 : 1 << i), \"high\": \((1 << (i + 1)) - 1), \"count\": \(c)}" }
            return """
            {"schema": "kernelkit.probe-vmbus/1", "tool": "vmbus", "duration_s": 10, "histograms": [{"series": "relid 14 storvsc", \
            "unit": "nsecs", "buckets": [\(buckets.joined(separator: ","))]}], "counters": [{"series": "relid 14 storvsc", \
            "name": "interrupts_per_second", "value": \(rate)}], "channels": []}
            """
        }
        let a = try dir.write("a.json", report(1000, [0, 0, 0, 4, 4])), b = try dir.write("b.json", report(1500, [0, 0, 0, 0, 4, 4]))
        let r = try kernelkit(["probe", "compare", a, b])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("relid 14 storvsc") && r.out.contains("interrupts_per_second") && r.out.contains("+50%"), "\(r.out)")
    }
}
