import Foundation
import KernelKitCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("eBPF probes on this kernel: counts and histograms against bpftrace", .serialized,
       .enabled(if: ProbeEnvironment.available, "needs root and a kernel with BTF (/sys/kernel/btf/vmlinux)"))
struct BlockProbeTests {
    @Test("biolatency counts every request issued on a loop device, as bpftrace does, with the same median bucket",
          .enabled(if: ProbeEnvironment.bpftrace, "needs bpftrace"))
    func biolatencyAgainstBpftrace() throws {
        // 64 KiB reads: on an idle loop device most complete in 8-15 µs, inside one bucket;
        // under load they spread over several, so the comparison is of the median's bucket.
        let loop = try LoopDevice(megabytes: 256)
        let reads = 3000
        let dev = loop.devNumber
        // bpftrace: the same events, the same latency (issue to complete, in µs), keyed
        // by sector as the tracepoint arguments allow.
        let script = """
        tracepoint:block:block_rq_issue /args->dev == \(dev)/ { @start[args->sector] = nsecs; }
        tracepoint:block:block_rq_complete /args->dev == \(dev) && @start[args->sector]/ {
            @us = hist((nsecs - @start[args->sector]) / 1000); @c = count(); delete(@start[args->sector]); }
        """
        let bt = try Background("/usr/bin/bpftrace", ["-e", script], unblockingSignals: true)
        let probe = try Background(Paths.kernelkit, ["probe", "biolatency", "--disk", loop.name, "--duration", "120", "--format", "json"])
        #expect(probe.waitForLinks(2) && bt.waitForPerfEvents(2), "the probe or bpftrace never attached")
        try loop.directReads(reads, size: "64k")
        // Both stopped with Ctrl-C once dd is done (each prints what it has).
        let p = probe.interrupt()
        let b = bt.interrupt()
        #expect(p.status == 0, "\(p.err)")
        #expect(b.status == 0, "\(b.err)")
        let doc = try JSONSerialization.jsonObject(with: Data(p.out.utf8)) as! [String: Any]
        let hist = (doc["histograms"] as! [[String: Any]])[0]
        let total = hist["total"] as! Int
        // The number of requests issued, within 1%.
        #expect(abs(total - reads) <= reads / 100, "probe counted \(total) of \(reads)")
        let btCount = try #require(BpftraceOutput.count(b.out, "c"), "\(b.out)")
        #expect(abs(total - btCount) <= reads / 100, "probe \(total), bpftrace \(btCount)")
        // Our median's bucket is one where bpftrace's passes half, its counts being ours
        // within 1% (bpftrace's [1] and [0] are our bucket 0).
        let buckets = (hist["buckets"] as! [[String: Any]]).map { (UInt64($0["low"] as! Int), $0["count"] as! Int) }
        let ours = BpftraceOutput.medianBuckets(buckets, tolerance: 0)
        let theirs = Set(BpftraceOutput.medianBuckets(BpftraceOutput.hist(b.out)).map { $0 <= 1 ? 0 : $0 })
        #expect(!ours.isEmpty && theirs.isSuperset(of: ours), "median bucket: probe \(ours), bpftrace \(theirs)\n\(b.out)")
        #expect(doc["schema"] as? String == "kernelkit.probe-histograms/1")
        #expect(hist["p50"] is Double && hist["p99"] is Double)
    }

    @Test("the raw tracepoint fallback counts the same requests")
    func rawTracepoints() throws {
        let loop = try LoopDevice()
        let probe = try Background(Paths.kernelkit, ["probe", "biolatency", "-D", "-F", "--disk", loop.name, "--duration", "120", "--format", "json"],
                                   environment: ["KERNELKIT_PROBE_ATTACH": "raw_tp"])
        #expect(probe.waitForLinks(2), "the probe never attached")
        try loop.directReads(1000)
        let p = probe.interrupt()
        #expect(p.status == 0, "\(p.err)")
        let doc = try JSONSerialization.jsonObject(with: Data(p.out.utf8)) as! [String: Any]
        #expect(doc["attach"] as? String == "raw_tp")
        let hs = doc["histograms"] as! [[String: Any]]
        let reads = hs.first { $0["op"] as? String == "read" && $0["disk"] as? String == loop.name }
        #expect(reads?["total"] as? Int == 1000, "\(hs)")
    }

    @Test("after the probe exits, none of its programs or links is left")
    func cleanDetach() throws {
        let settles = BPFPrograms.settles
        #expect(try settles(), "programs left from before the test")
        let p = try run(Paths.kernelkit, ["probe", "biolatency", "-D", "-F", "-Q", "--duration", "1"])
        #expect(p.status == 0, "\(p.err)")
        #expect(try settles())
        // Interrupted with SIGINT mid-run: also detached. Attached: its own link fds.
        let bg = try Background(Paths.kernelkit, ["probe", "biolatency", "--duration", "30"])
        #expect(bg.waitForLinks(2))
        let r = bg.interrupt()
        #expect(r.status == 0, "\(r.err)")
        #expect(try settles())
    }

    @Test("bitesize and biosnoop see the loop device's requests")
    func bitesizeAndBiosnoop() throws {
        let loop = try LoopDevice()
        // Both attached before dd starts, and stopped (Ctrl-C) once it has exited: a
        // direct read returns only after its request completed, so every event is in.
        // (A fixed --duration cut the last of dd's reads off on a loaded CI machine.)
        let size = try Background(Paths.kernelkit, ["probe", "bitesize", "--disk", loop.name, "--duration", "120", "--format", "json"])
        let snoop = try Background(Paths.kernelkit, ["probe", "biosnoop", "--disk", loop.name, "--duration", "120", "--format", "json"])
        #expect(size.waitForLinks(1) && snoop.waitForLinks(2), "the probes never attached")
        try loop.directReads(500)
        let s = size.interrupt(), n = snoop.interrupt()
        #expect(s.status == 0, "\(s.err)")
        #expect(n.status == 0, "\(n.err)")
        let sd = try JSONSerialization.jsonObject(with: Data(s.out.utf8)) as! [String: Any]
        let dd = (sd["histograms"] as! [[String: Any]]).first { $0["comm"] as? String == "dd" }
        #expect(dd?["total"] as? Int == 500, "\(s.out.prefix(400))")
        // 4 KiB requests: the 4–7 KiB bucket.
        let bucket = (dd?["buckets"] as? [[String: Any]])?.first { $0["low"] as? Int == 4 }
        #expect(bucket?["count"] as? Int == 500)
        let nd = try JSONSerialization.jsonObject(with: Data(n.out.utf8)) as! [String: Any]
        let all = nd["events"] as! [[String: Any]]
        let events = all.filter { $0["comm"] as? String == "dd" }
        #expect(events.count == 500, "lost \(nd["lost_events"] ?? "?"); by process: \(Dictionary(grouping: all) { $0["comm"] as? String ?? "?" }.mapValues(\.count))")
        #expect(events.allSatisfy { $0["bytes"] as? Int == 4096 && $0["op"] as? String == "read" && $0["disk"] as? String == loop.name })
    }

    @Test("--interval reports each interval; --svg draws a chart that parses as XML")
    func intervalsAndSVG() throws {
        let loop = try LoopDevice()
        let dir = try TemporaryDirectory()
        let svg = "\(dir.path)/lat.svg"
        let probe = try Background(Paths.kernelkit, ["probe", "biolatency", "--disk", loop.name, "--interval", "1", "--duration", "120",
                                                     "--format", "json", "--svg", svg])
        #expect(probe.waitForLinks(2), "the probe never attached")
        try loop.directReads(400)
        sleep(3) // three intervals or more
        let p = probe.interrupt()
        #expect(p.status == 0, "\(p.err)")
        let reports = try JSONSerialization.jsonObject(with: Data(p.out.utf8)) as! [[String: Any]]
        #expect(reports.count >= 3, "one report per interval")
        let total = reports.flatMap { $0["histograms"] as! [[String: Any]] }.map { $0["total"] as! Int }.reduce(0, +)
        #expect(total == 400, "the intervals add up to every request once: \(total)")
        let check = try run("/usr/bin/env", ["python3", "-c", """
            import sys, xml.etree.ElementTree as ET
            root = ET.parse(sys.argv[1]).getroot()
            assert root.tag.endswith('svg'), root.tag
            bars = [e for e in root.iter() if e.tag.endswith('rect')]
            assert len(bars) > 4, len(bars)
            """, svg])
        #expect(check.status == 0, "\(check.err)")
    }

    @Test("without root, a probe says what it needs and exits 2")
    func notRoot() throws {
        // The binary must be reachable for user nobody: copy it out of the build tree.
        let copy = "/tmp/kernelkit-notroot-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: Paths.kernelkit, toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        chmod(copy, 0o755)
        let r = try run("/sbin/runuser", ["-u", "nobody", "--", copy, "probe", "biolatency", "--duration", "1"])
        #expect(r.status == 2, "\(r.out)\(r.err)")
        #expect(r.err.contains("needs root or CAP_BPF"), "\(r.err)")
    }
}
