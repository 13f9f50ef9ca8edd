import BootKit
import Foundation
import KernelKitCore
import Testing

/// The boot timeline built from a real boot's kernel log and trace buffer (fixtures made
/// by the kernel: Tests/Fixtures/boot/README.md). The expected side is computed here from
/// the kernel's own `initcall_debug` lines, with a parser of the test's own.
@Suite("boot timelines from a real boot's kernel log and trace")
struct BootTimelineTests {
    static let dmesg = Paths.fixture("boot/debian-6.1-cloud-tcg.dmesg")
    static let trace = Paths.fixture("boot/debian-6.1-cloud-tcg.trace")

    /// `initcall FUNC+0x0/0xN [MOD] returned RET after N usecs`: (function, module, duration).
    static func kernelsInitcalls(_ path: String) throws -> [(String, String?, Int)] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            guard let r = line.range(of: "] initcall "), line.contains(" returned ") else { return nil }
            let words = line[r.upperBound...].split(separator: " ")
            let function = String(words[0].split(separator: "+")[0])
            let module = words[1].hasPrefix("[") ? String(words[1].dropFirst().dropLast()) : nil
            guard let after = words.firstIndex(of: "after"), let us = Int(words[after + 1]) else { return nil }
            return (function, module, us)
        }
    }

    @Test("a saved log is another boot: this system's trace, FPDT and systemd are read only when named")
    func savedLogReadsNothingOfThisSystem() throws {
        let saved = BootSources(log: Self.dmesg)
        #expect(saved.trace == nil && saved.fpdt == nil && !saved.systemd)
        let t = saved.timeline()
        #expect(t.sources == ["kmsg"])
        let reasons = Dictionary(t.unavailable.map { ($0.what, $0.reason) }, uniquingKeysWith: { a, _ in a })
        #expect(reasons["initcall trace"]?.contains("a saved --log describes another boot (give --trace)") == true)
        #expect(reasons["firmware and loader (FPDT)"]?.contains("(give --fpdt)") == true)
        // Named, they are read; with the live log (a device), the defaults are this system's.
        #expect(BootSources(trace: Self.trace, log: Self.dmesg, systemd: false).timeline().sources == ["kmsg", "trace"])
        let live = BootSources()
        #expect(live.trace == "/sys/kernel/tracing/trace" && live.fpdt == "/sys/firmware/acpi/fpdt/boot" && live.systemd)
        // A trace file the user named that cannot be read is an error, not a line.
        #expect(throws: KernelKitError.self) { try BootSources(trace: "/nonexistent", log: Self.dmesg).timelineOfNamedFiles() }
        #expect(throws: KernelKitError.self) { try BootSources(log: "/nonexistent").timelineOfNamedFiles() }
        #expect(try BootSources(log: Self.dmesg).timelineOfNamedFiles().initcalls.count == 578)
    }

    @Test("from the log and the trace: every initcall of initcall_debug, in order, with the kernel's durations and the trace's levels")
    func logAndTrace() throws {
        let expected = try Self.kernelsInitcalls(Self.dmesg)
        #expect(expected.count == 578)
        let t = BootSources(trace: Self.trace, log: Self.dmesg, fpdt: "/nonexistent", systemd: false).timeline()
        #expect(t.sources == ["kmsg", "trace"])
        #expect(t.initcalls.count == expected.count)
        #expect(t.initcalls.map(\.function) == expected.map(\.0))
        #expect(t.initcalls.map(\.module) == expected.map(\.1))
        #expect(t.initcalls.map(\.duration) == expected.map(\.2))
        // Levels come from the trace's initcall_level events: the console initcalls first,
        // then early … late; module inits are "module".
        #expect(t.initcalls.first?.level == "console" && t.initcalls.first?.function == "con_init")
        #expect(t.initcalls.filter { $0.module != nil }.allSatisfy { $0.level == "module" })
        #expect(Set(t.initcalls.compactMap(\.level)).isSuperset(of: ["early", "core", "subsys", "device", "late"]))
        // The hand-over to user space is the kernel phase's end.
        let kernel = try #require(t.phases.first { $0.name == "kernel" })
        #expect(kernel.duration == 1_712_406) // "[    1.712406] Run /init as init process"
        #expect(t.probes.count == 13)
        #expect(t.unavailable.map(\.what).contains("firmware and loader (FPDT)"))
    }

    /// The time between each initcall's `calling` and `returned` lines in the log, µs.
    static func loggedSpans(_ path: String) throws -> [(String, Int)] {
        var open = [String: [Double]]()
        var out = [(String, Int)]()
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            guard line.hasPrefix("["), let close = line.firstIndex(of: "]"),
                  let t = Double(line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: .whitespaces)) else { continue }
            let words = line[line.index(after: close)...].split(separator: " ")
            guard words.count > 1 else { continue }
            let f = String(words[1].split(separator: "+")[0])
            if words[0] == "calling" { open[f, default: []].append(t) }
            if words[0] == "initcall", words.contains("returned"), let s = open[f]?.first {
                open[f]!.removeFirst()
                out.append((f, Int(((t - s) * 1e6).rounded())))
            }
        }
        return out
    }

    @Test("from the trace alone: the same initcalls, module inits by address, durations as the log's time stamps span them")
    func traceOnly() throws {
        let expected = try Self.kernelsInitcalls(Self.dmesg)
        let spans = try Self.loggedSpans(Self.dmesg)
        let t = BootSources(trace: Self.trace, log: "/nonexistent", fpdt: "/nonexistent", systemd: false).timeline()
        #expect(t.sources == ["trace"])
        #expect(t.initcalls.count == expected.count && spans.count == expected.count)
        for ((ours, theirs), span) in zip(zip(t.initcalls, expected), spans) where theirs.1 == nil {
            #expect(ours.function == theirs.0)
            // The trace and printk share the clock (local_clock() under trace_clock=global);
            // the trace's events and the log's lines are a printk apart at each end.
            #expect(abs(ours.duration - span.1) <= 200 + span.1 / 50, "\(ours.function): traced \(ours.duration), logged \(span.1)")
        }
        // Module inits: by address where the symbol was gone, by name where it was not.
        let modules = t.initcalls.filter { $0.level == "module" }
        #expect(modules.count == expected.filter { $0.1 != nil }.count)
        #expect(modules.contains { $0.function == "virtio_init" && $0.module == "virtio" })
        #expect(t.unavailable.contains { $0.what == "kernel log" && $0.reason.contains("/nonexistent") })
    }

    @Test("bad and partial input: each missing part is reported with its reason, the rest still built")
    func partial() throws {
        let dir = try TemporaryDirectory()
        // A tracefs without initcall events: the trace header only.
        let empty = try dir.write("empty.trace", "# tracer: nop\n#\n# entries-in-buffer/entries-written: 0/0   #P:1\n#\n")
        let a = BootSources(trace: empty, log: Self.dmesg, fpdt: "/nonexistent", systemd: false).timeline()
        #expect(a.initcalls.count == 578)
        #expect(a.unavailable.contains { $0.what == "initcall trace" && $0.reason.contains("trace_event=initcall") })
        // A foreign file given as the trace: a located reason, and the log still used.
        let foreign = try dir.write("foreign.trace", "hello world\n")
        let b = BootSources(trace: foreign, log: Self.dmesg, fpdt: "/nonexistent", systemd: false).timeline()
        #expect(b.unavailable.contains { $0.what == "initcall trace" && $0.reason.contains("foreign.trace:1") })
        #expect(b.initcalls.count == 578)
        // A wrapped log: its first lines gone.
        let lines = try String(contentsOfFile: Self.dmesg, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let wrapped = try dir.write("wrapped.dmesg", lines.dropFirst(400).joined(separator: "\n"))
        let c = BootSources(trace: "/nonexistent", log: wrapped, fpdt: "/nonexistent", systemd: false).timeline()
        #expect(c.warnings.contains { $0.contains("does not start at boot") })
        // Lost trace events are reported from the header.
        let traceText = try String(contentsOfFile: Self.trace, encoding: .utf8)
            .replacingOccurrences(of: "entries-in-buffer/entries-written: 1166/1166", with: "entries-in-buffer/entries-written: 1166/1200")
        let lossy = try dir.write("lossy.trace", traceText)
        let d = BootSources(trace: lossy, log: "/nonexistent", fpdt: "/nonexistent", systemd: false).timeline()
        #expect(d.warnings.contains { $0.contains("lost 34 events") })
        // Nothing at all: still a timeline, saying why for each part.
        let e = BootSources(trace: "/nonexistent", log: "/nonexistent", fpdt: "/nonexistent", systemd: false).timeline()
        #expect(e.initcalls.isEmpty && e.unavailable.count >= 3)
    }

    @Test("FPDT values become the firmware and loader phases")
    func fpdt() throws {
        let dir = try TemporaryDirectory()
        let values = ["firmware_start_ns": "1000000", "bootloader_load_ns": "501000000", "bootloader_launch_ns": "600000000",
                      "exitbootservice_start_ns": "800000000", "exitbootservice_end_ns": "801000000"]
        for (k, v) in values { try dir.write(k, v + "\n") }
        let t = BootSources(trace: "/nonexistent", log: Self.dmesg, fpdt: dir.path, systemd: false).timeline()
        let firmware = try #require(t.phases.first { $0.name == "firmware" })
        #expect(firmware.duration == 500_000) // 501 ms - 1 ms
        #expect(t.phases.first { $0.name == "loader" }?.duration == 300_000)
        try dir.write("bootloader_load_ns", "soon\n")
        let bad = BootSources(trace: "/nonexistent", log: Self.dmesg, fpdt: dir.path, systemd: false).timeline()
        #expect(bad.unavailable.contains { $0.what.contains("FPDT") && $0.reason.contains("bootloader_load_ns:1") })
        // A firmware that published nonsense: the phases subtract the values, and Int.max
        // minus -1 trapped (the boot-timeline fuzz target's first find). The kernel prints
        // u64s, so a minus sign is as malformed as a word.
        try dir.write("bootloader_load_ns", "501000000\n")
        try dir.write("firmware_start_ns", "9223372036854775807\n")
        try dir.write("exitbootservice_end_ns", "-1\n")
        let negative = BootSources(trace: "/nonexistent", log: Self.dmesg, fpdt: dir.path, systemd: false).timeline()
        #expect(negative.unavailable.contains { $0.what.contains("FPDT") && $0.reason.contains("exitbootservice_end_ns:1") })
        #expect(!negative.phases.contains { $0.source == "fpdt" })
    }

    @Test("times and durations past the kernel's clock are not the kernel's: no overflow in the timeline")
    func pastTheClock() throws {
        // The boot-timeline fuzz target's crash: an initcall "after" Int.max microseconds
        // made its start Int.max before its end, and the initcalls' span overflowed.
        let log = try KernelLog.parse(Array("[1.6] initcall 0 returned 0 after 9223372036854775807 usecs\n[1.4] initcall 3 returned 0 after 5 usecs\n".utf8), file: "l")
        let t = BootTimeline(trace: .failure(KernelKitError(.fileNotFound, "none")), log: .success(log), fpdt: .failure(KernelKitError(.fileNotFound, "none")))
        #expect(t.initcalls.map(\.function) == ["3"])
        // A time stamp whose fraction carried it past Int.max trapped as well.
        #expect(throws: KernelKitError.self) { _ = try KernelLog.parse(Array("[9223372036854.999999] x\n".utf8), file: "l") }
        #expect(try KernelLog.parse(Array("[18446744073.709551] x\n".utf8), file: "l").records.first?.time == KernelLog.maxTime)
    }

    @Test("systemd's units and phases: in the JSON and back, in compare, as SVG bars; no systemd is a reason")
    func systemdUnits() throws {
        let log = Result<KernelLog, KernelKitError> { () throws(KernelKitError) in try KernelLog.parse(try InputFile.readBytes(Self.dmesg), file: Self.dmesg) }
        let sd = SystemdTimes(manager: ["Userspace": 2_000_000, "Finish": 5_000_000, "InitRD": 1_000_000],
                              units: [.init(name: "a.service", activating: 2_100_000, active: 2_400_000, after: ["basic.target"]),
                                      .init(name: "b.service", activating: 2_500_000, active: nil, after: [])])
        let missing = KernelKitError(.fileNotFound, "no")
        let noTrace: Result<InitcallTrace, KernelKitError> = .failure(missing)
        let noFPDT: Result<[String: Int], KernelKitError> = .failure(missing)
        let t = BootTimeline(trace: noTrace, log: log, fpdt: noFPDT, systemd: .success(sd))
        #expect(t.phases.contains { $0.name == "initrd (systemd)" && $0.start == 1_000_000 && $0.duration == 1_000_000 })
        #expect(t.phases.contains { $0.name == "userspace (systemd)" && $0.duration == 3_000_000 })
        #expect(!t.phases.contains { $0.name.hasPrefix("userspace (/") }, "the log's user-space phase gives way to systemd's")
        #expect(t.total == 5_000_000)
        let back = try BootTimeline(json: try JSONValue.parse(Array(t.json.serialized().utf8), file: "t.json"), file: "t.json")
        #expect(back.units == t.units)
        var slower = back
        slower.units[0].active! += 250_000
        #expect(BootComparison(back, slower).changes.first { $0.kind == "unit" }?.delta == 250_000)
        #expect(BootChart.svg(t).components(separatedBy: "class=\"unit\"").count == 2, "a bar for the unit that became active")
        #expect(t.text().contains("a.service"))
        // Not systemd: the reason, naming what PID 1 is.
        let dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path + "/1", withIntermediateDirectories: true)
        _ = try dir.write("1/comm", "busybox\n")
        do {
            _ = try SystemdTimes.read(proc: dir.path)
            Issue.record("read systemd from a PID 1 that is busybox")
        } catch {
            #expect(error.message == "PID 1 is busybox, not systemd" && error.location?.file == dir.path + "/1/comm")
        }
    }

    @Test("the JSON reads back; compare names what changed first; the SVG has a bar per initcall")
    func jsonCompareSVG() throws {
        let t = BootSources(trace: Self.trace, log: Self.dmesg, fpdt: "/nonexistent", systemd: false).timeline()
        let back = try BootTimeline(json: try JSONValue.parse(Array(t.json.serialized().utf8), file: "t.json"), file: "t.json")
        #expect(back.initcalls == t.initcalls && back.phases == t.phases && back.probes == t.probes)
        var slower = back
        let i = try #require(slower.initcalls.firstIndex { $0.function == "inet_init" })
        slower.initcalls[i].duration += 500_000
        let cmp = BootComparison(back, slower)
        #expect(cmp.changes.first?.name == "inet_init" && cmp.changes.first?.delta == 500_000)
        // An XML parser (Python's ElementTree) reads the SVG and counts the initcall bars.
        let dir = try TemporaryDirectory()
        let svg = try dir.write("boot.svg", BootChart.svg(t))
        let check = try run("/usr/bin/env", ["python3", "-c", """
            import sys, xml.etree.ElementTree as ET
            root = ET.parse(sys.argv[1]).getroot()
            assert root.tag.endswith('svg'), root.tag
            bars = [e for e in root.iter() if e.tag.endswith('rect') and e.get('class') == 'initcall']
            assert all(e.find('{http://www.w3.org/2000/svg}title') is not None for e in bars)
            print(len(bars))
            """, svg])
        #expect(check.status == 0, "\(check.err)")
        #expect(Int(check.out.trimmingCharacters(in: .whitespacesAndNewlines)) == t.initcalls.count)
        do {
            _ = try BootTimeline(json: try JSONValue.parse(Array("{\"schema\": \"kernelkit.probe-histograms/1\"}".utf8), file: "x.json"), file: "x.json")
            Issue.record("accepted a document that is not a timeline")
        } catch { #expect(error.location?.file == "x.json") }
    }
}
