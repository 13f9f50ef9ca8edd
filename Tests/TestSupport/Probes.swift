import Foundation
#if canImport(Glibc)
import Glibc
#endif

// Shared by the probe tests and the CLI's: loop devices, background processes, bpftrace's
// output, and the check that no BPF program is left behind.

/// Root and BTF: the probes load real BPF programs into this kernel.
public enum ProbeEnvironment {
    public static var available: Bool { geteuid() == 0 && FileManager.default.fileExists(atPath: "/sys/kernel/btf/vmlinux") }
    public static var bpftrace: Bool { FileManager.default.fileExists(atPath: "/usr/bin/bpftrace") }
}

/// A loop device on a file, detached when the value goes away (also when a test fails).
public final class LoopDevice {
    public let path: String
    public let name: String
    public let file: String
    public let devNumber: UInt32

    public init(megabytes: Int = 64) throws {
        file = NSTemporaryDirectory() + "kernelkit-loop-\(UUID().uuidString).img"
        let t = try run("/usr/bin/truncate", ["-s", "\(megabytes)M", file])
        guard t.status == 0 else { throw TestSetupError("truncate failed: \(t.err)") }
        let r = try run("/sbin/losetup", ["-f", "--show", "--direct-io=on", file])
        guard r.status == 0 else { throw TestSetupError("losetup failed: \(r.err)") }
        path = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
        name = String(path.dropFirst(5))
        let dev = try String(contentsOfFile: "/sys/class/block/\(name)/dev", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":").map { UInt32($0)! }
        devNumber = dev[0] << 20 | dev[1]
    }

    deinit {
        _ = try? run("/sbin/losetup", ["-d", path])
        try? FileManager.default.removeItem(atPath: file)
    }

    /// `count` direct reads of `size`, one at a time: exactly `count` requests.
    public func directReads(_ count: Int, size: String = "4k") throws {
        let r = try run("/bin/dd", ["if=\(path)", "of=/dev/null", "bs=\(size)", "count=\(count)", "iflag=direct"])
        guard r.status == 0 else { throw TestSetupError("dd on \(path) failed: \(r.err)") }
    }
}

/// The open descriptors of process `pid` ("self" for this one) and what each names
/// (a file's path, or an anon inode such as `anon_inode:bpf_link`, `anon_inode:[perf_event]`).
public func openDescriptors(_ pid: String) -> [(fd: String, target: String)] {
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
    return fds.map { ($0, (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) ?? "") }
}

/// A process started now and collected later (the probe, bpftrace).
public final class Background: @unchecked Sendable {
    public let process = Process()
    let out = Pipe(), err = Pipe()
    nonisolated(unsafe) var outData = Data()
    let group = DispatchGroup()

    /// `unblockingSignals`: the test runner's threads block SIGINT and SIGTERM, and a
    /// child inherits the mask. Our probes unblock them (ProbeSignals.install); a peer
    /// such as bpftrace does not, so it is started through an exec that clears the mask,
    /// for ``interrupt()`` to reach it.
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                unblockingSignals: Bool = false) throws {
        if unblockingSignals {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = ["-c", """
                import os, signal, sys
                signal.pthread_sigmask(signal.SIG_SETMASK, [])
                signal.signal(signal.SIGPIPE, signal.SIG_DFL)
                os.execv(sys.argv[1], sys.argv[1:])
                """, executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = out
        process.standardError = err
        try process.run()
        group.enter()
        DispatchQueue.global().async { [self] in
            outData = out.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
    }

    /// Waits until the process holds `links` BPF links (a probe attaches every program
    /// before it starts reading), so a test's workload starts only once it is counted.
    public func waitForLinks(_ links: Int, seconds: Double = 30) -> Bool {
        waitForDescriptors(links, named: "bpf_link", seconds: seconds)
    }

    /// bpftrace (0.17) attaches a tracepoint program through perf events, opened last,
    /// once the program is compiled and loaded: with one per tracepoint open, and a
    /// moment for the attach that follows each open, it counts.
    public func waitForPerfEvents(_ tracepoints: Int, seconds: Double = 30) -> Bool {
        let ok = waitForDescriptors(tracepoints, named: "perf_event", seconds: seconds)
        usleep(500_000)
        return ok
    }

    private func waitForDescriptors(_ count: Int, named: String, seconds: Double) -> Bool {
        let pid = "\(process.processIdentifier)"
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline && process.isRunning {
            if openDescriptors(pid).filter({ $0.target.contains(named) }).count >= count { return true }
            usleep(50_000)
        }
        return false
    }

    /// SIGINT (a probe's Ctrl-C: it drains what it has and reports), then ``wait()``.
    public func interrupt() -> (status: Int32, out: String, err: String) {
        kill(process.processIdentifier, SIGINT)
        return wait()
    }

    public func wait() -> (status: Int32, out: String, err: String) {
        group.wait()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}

/// bpftrace's `@name: N` and `@h:` hist lines (`[16, 32)  1234 |@@@|`).
public enum BpftraceOutput {
    public static func count(_ text: String, _ name: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix("@\(name): ") {
            return Int(line.dropFirst(name.count + 3).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// (low bound, count) of each bucket.
    public static func hist(_ text: String) -> [(UInt64, Int)] {
        var out = [(UInt64, Int)]()
        for line in text.split(separator: "\n") where line.hasPrefix("[") {
            let inside = line.dropFirst().prefix { $0 != "]" && $0 != ")" }
            let lowText = inside.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            let rest = line.drop { $0 != "]" && $0 != ")" }.dropFirst()
            guard let count = Int(rest.split(separator: " ").first ?? "") else { continue }
            out.append((parseSize(lowText), count))
        }
        return out
    }

    /// The lows of the buckets of `hist` in which its median can fall when another
    /// tool's counts differ by up to `tolerance` of the total: those where the running
    /// share crosses some point of [0.5 - tolerance, 0.5 + tolerance]. Usually one; two
    /// when the half falls at a bucket's edge. (A mode is no such anchor: on a loaded
    /// machine the latencies spread evenly over three buckets, 683, 667 and 631 of 2,000.)
    public static func medianBuckets(_ hist: [(UInt64, Int)], tolerance: Double = 0.01) -> Set<UInt64> {
        let total = Double(hist.reduce(0) { $0 + $1.1 })
        var running = 0.0
        var out = Set<UInt64>()
        for (low, count) in hist where count > 0 {
            let before = running / total
            running += Double(count)
            if running / total >= 0.5 - tolerance && before <= 0.5 + tolerance { out.insert(low) }
        }
        return out
    }

    /// bpftrace prints bucket bounds as 1K, 2M…
    public static func parseSize(_ s: String) -> UInt64 {
        if s.hasSuffix("K") { return (UInt64(s.dropLast()) ?? 0) * 1024 }
        if s.hasSuffix("M") { return (UInt64(s.dropLast()) ?? 0) * 1024 * 1024 }
        return UInt64(s) ?? 0
    }
}


/// A test's own setup failed (a loop device, dd): said as a thrown error.
public struct TestSetupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// The block probes' BPF programs (names with `_rq_`) that no process holds any more.
public enum BPFPrograms {
    // Other tests load block programs in parallel, so counting them proves nothing:
    // a program left behind is one that no process holds any more (no fd of any
    // process names its prog_id in /proc/*/fdinfo, links included).
    public static func orphans() throws -> Set<Int> {
        let r = try run("/usr/sbin/bpftool", ["prog", "list", "-j"])
        let progs = (try JSONSerialization.jsonObject(with: r.stdout) as? [[String: Any]]) ?? []
        let ours = Set(progs.filter { (($0["name"] as? String) ?? "").contains("_rq_") }.compactMap { $0["id"] as? Int })
        return ours.subtracting(held("prog_id:"))
    }

    /// The BPF object ids (`prog_id:`, `map_id:`, `link_id:`) some process's file
    /// descriptors name, from every /proc/PID/fdinfo.
    public static func held(_ key: String) -> Set<Int> {
        var held = Set<Int>()
        for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(pid) != nil {
            for fd in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fdinfo")) ?? [] {
                guard let info = try? String(contentsOfFile: "/proc/\(pid)/fdinfo/\(fd)", encoding: .utf8) else { continue }
                for line in info.split(separator: "\n") where line.hasPrefix(key) {
                    if let id = Int(line.dropFirst(key.count).trimmingCharacters(in: .whitespaces)) { held.insert(id) }
                }
            }
        }
        return held
    }

    /// The kernel frees programs shortly after their last reference goes (RCU): an
    /// orphan counts only if it is still there 2 s later. Programs other tests free
    /// meanwhile (the soak tests make and free hundreds) are new ids, not these.
    public static func settles() throws -> Bool {
        var left = try orphans()
        for _ in 0..<20 where !left.isEmpty {
            usleep(100_000)
            left = left.intersection(try orphans())
        }
        return left.isEmpty
    }
}
