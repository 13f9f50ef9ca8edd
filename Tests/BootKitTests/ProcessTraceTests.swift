import CBPFProbes
import KernelProbes
import Testing

/// The process probe's events folded into processes, on hand-made events shaped as
/// process.bpf.c sends them (struct kk_proc_event): no kernel needed.
@Suite("boot trace: events to processes")
struct ProcessTraceTests {
    static func event(_ kind: Int32, pid: UInt32, ppid: UInt32 = 0, us: UInt64, comm: String = "", file: String = "",
                      arg0: String = "", code: UInt32 = 0) -> kk_proc_event {
        var e = kk_proc_event()
        e.kind = UInt32(kind)
        e.pid = pid
        e.ppid = ppid
        e.ts_ns = us * 1000
        e.exit_code = code
        withUnsafeMutableBytes(of: &e.comm) { for (i, b) in comm.utf8.prefix(15).enumerated() { $0[i] = b } }
        withUnsafeMutableBytes(of: &e.filename) { for (i, b) in file.utf8.prefix(127).enumerated() { $0[i] = b } }
        withUnsafeMutableBytes(of: &e.arg0) { for (i, b) in arg0.utf8.prefix(31).enumerated() { $0[i] = b } }
        return e
    }

    @Test("fork, exec, exit make one process; a thread is not a process; a reused pid is a new one")
    func fold() {
        let events = [
            Self.event(KK_PROC_FORK, pid: 10, ppid: 1, us: 100, comm: "sh"),
            Self.event(KK_PROC_EXEC, pid: 10, us: 150, comm: "sleep", file: "/bin/busybox", arg0: "sleep"),
            Self.event(KK_PROC_FORK, pid: 11, ppid: 10, us: 160, comm: "sleep"), // a thread of 10: no exec, no exit of its own
            Self.event(KK_PROC_EXIT, pid: 10, us: 1_150, comm: "sleep", code: 256),
            Self.event(KK_PROC_FORK, pid: 10, ppid: 1, us: 2_000, comm: "sh"),
            Self.event(KK_PROC_EXEC, pid: 10, us: 2_010, comm: "cat", file: "/bin/cat", arg0: "cat"),
            Self.event(KK_PROC_EXIT, pid: 10, us: 2_500, comm: "cat"),
            Self.event(KK_PROC_EXIT, pid: 5, us: 3_000, comm: "old"), // running before the probe
        ]
        let t = ProcessTrace(events: events, lostEvents: 2)
        #expect(t.processes.count == 3)
        let first = t.processes[0]
        #expect(first.pid == 10 && first.ppid == 1 && first.argv0 == "sleep" && first.executed == ["/bin/busybox"])
        #expect(first.forked == 100 && first.exec == 150 && first.exited == 1_150 && first.exitCode == 256)
        #expect(t.processes[1].argv0 == "cat" && t.processes[1].forked == 2_000)
        #expect(t.processes[2].pid == 5 && t.processes[2].ppid == nil && t.processes[2].comm == "old")
        #expect(t.lostEvents == 2)
    }
}
