import Foundation
import Testing

/// `scripts/systemd-e2e`: this machine's systemd as PID 1 of a new PID and mount namespace,
/// with a target of test units. `systemctl show` and `systemd-analyze` in the same
/// namespace are the oracles for what boot report reads over D-Bus.
@Suite("boot report and boot trace --until-unit against a real systemd as PID 1", .serialized,
       .enabled(if: (getuid() == 0 && FileManager.default.fileExists(atPath: "/lib/systemd/systemd")) || Oracles.required,
                "needs root and systemd (scripts/test.sh installs it)"))
struct SystemdBootTests {
    static let results: Result<String, any Error> = Result { try e2eResults("systemd-e2e") }

    /// `systemctl show` output: one dictionary per unit (blank-line separated records).
    static func show(_ path: String) throws -> [[String: String]] {
        try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n\n").map { record in
            var d = [String: String]()
            for line in record.split(separator: "\n") {
                guard let eq = line.firstIndex(of: "=") else { continue }
                d[String(line[..<eq])] = String(line[line.index(after: eq)...])
            }
            return d
        }.filter { !$0.isEmpty }
    }

    /// systemd-analyze's spans ("2.177s", "304ms", "1min 2.003s") in milliseconds.
    static func milliseconds(_ span: Substring) -> Double? {
        var total = 0.0
        for part in span.split(separator: " ") {
            if part.hasSuffix("ms"), let v = Double(part.dropLast(2)) { total += v } else if part.hasSuffix("min"), let v = Double(part.dropLast(3)) { total += v * 60_000 } else if part.hasSuffix("s"), let v = Double(part.dropLast()) { total += v * 1000 } else if part.hasSuffix("us") || part.hasSuffix("µs"), let v = Double(part.dropLast(2)) { total += v / 1000 } else { return nil }
        }
        return total
    }

    @Test("every unit's activation and ordering, and the manager's timestamps, as systemctl show gives them")
    func unitsAndManager() throws {
        let dir = try Self.results.get()
        for run in ["a", "b"] {
            let boot = try BootE2ETests.json("\(dir)/\(run)/boot.json")
            #expect((boot["sources"] as? [String])?.contains("systemd") == true)
            let units = Dictionary(uniqueKeysWithValues: (boot["units"] as! [[String: Any]]).map { ($0["unit"] as! String, $0) })
            let shown = try Self.show("\(dir)/\(run)/show.txt")
            #expect(shown.count == 4)
            for u in shown {
                let id = u["Id"]!
                let ours = try #require(units[id], "\(run): \(id) is not in the report")
                #expect("\(ours["start_us"]!)" == u["InactiveExitTimestampMonotonic"], "\(run) \(id)")
                #expect("\(ours["active_us"]!)" == u["ActiveEnterTimestampMonotonic"], "\(run) \(id)")
                #expect(Set(ours["after"] as! [String]) == Set((u["After"] ?? "").split(separator: " ").map(String.init)), "\(run) \(id)")
            }
            let manager = try Self.show("\(dir)/\(run)/manager.txt")[0]
            let systemd = boot["systemd"] as! [String: Any]
            for (k, v) in manager { #expect("\(systemd[k]!)" == v, "\(run) \(k)") }
            // The user-space phase runs from Userspace to Finish, as systemd-analyze time
            // counts it (it prints milliseconds).
            let phase = (boot["phases"] as! [[String: Any]]).first { $0["name"] as? String == "userspace (systemd)" }
            let duration = try #require(phase?["duration_us"] as? Int)
            #expect(duration == Int(manager["FinishTimestampMonotonic"]!)! - Int(manager["UserspaceTimestampMonotonic"]!)!)
            let time = try String(contentsOfFile: "\(dir)/\(run)/analyze-time.txt", encoding: .utf8)
            let span = try #require(time.split(separator: "\n").first?.split(separator: " in ").last?.split(separator: " (").first)
            let theirs = try #require(Self.milliseconds(span), "\(time)")
            #expect(abs(Double(duration) / 1000 - theirs) < 1.0, "\(duration) µs vs systemd-analyze \(span)")
            // systemd-analyze blame: the same durations for the test services.
            for line in try String(contentsOfFile: "\(dir)/\(run)/blame.txt", encoding: .utf8).split(separator: "\n") {
                let words = line.split(separator: " ")
                guard let name = words.last, name.hasPrefix("kk-"), let ms = Self.milliseconds(words.dropLast().joined(separator: " ")[...]) else { continue }
                let ours = try #require(units[String(name)]?["duration_us"] as? Int)
                #expect(abs(Double(ours) / 1000 - ms) < 1.0, "\(name): \(ours) µs vs blame \(ms) ms")
            }
            // The text and the picture name the slow services.
            let text = try String(contentsOfFile: "\(dir)/\(run)/boot.txt", encoding: .utf8)
            #expect(text.contains("kk-late.service") && text.contains("systemd units activated"))
            let check = try TestSupport.run("/usr/bin/env", ["python3", "-c", """
                import sys, xml.etree.ElementTree as ET
                root = ET.parse(sys.argv[1]).getroot()
                print(sum(1 for e in root.iter() if e.tag.endswith('rect') and e.get('class') == 'unit'))
                """, "\(dir)/\(run)/boot.svg"])
            #expect(check.status == 0, "\(check.err)")
            #expect((Int(check.out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= 3)
        }
    }

    @Test("boot trace --until-unit stops once the unit is active, having traced its service's processes")
    func untilUnit() throws {
        let dir = try Self.results.get()
        for run in ["a", "b"] {
            let late = try Self.show("\(dir)/\(run)/show.txt").first { $0["Id"] == "kk-late.service" }!
            let active = Int(late["ActiveEnterTimestampMonotonic"]!)!
            let start = Int(try String(contentsOfFile: "\(dir)/\(run)/trace.start", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
            let end = Int(try String(contentsOfFile: "\(dir)/\(run)/trace.end", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
            #expect(start < active && active < end, "started \(start), unit active \(active), returned \(end)")
            #expect(end - active < 1_500_000, "returned \(end - active) µs after the unit became active")
            let trace = try BootE2ETests.json("\(dir)/\(run)/trace.json")
            let processes = trace["processes"] as! [[String: Any]]
            // kk-b's sleep, started by systemd after the probe was attached.
            #expect(processes.contains { ($0["argv0"] as? String)?.hasSuffix("sleep") == true && $0["exit_code"] as? Int == 0 }, "\(processes)")
        }
    }

    @Test("the shipped kernelkit-boot-trace.service under systemd: ready (Type=notify) once attached, so the units after it are in its report")
    func shippedUnit() throws {
        let dir = try Self.results.get()
        for run in ["a", "b"] {
            let unit = try #require(try Self.show("\(dir)/\(run)/unit.txt").first)
            #expect(unit["Type"] == "notify" && unit["Result"] == "success" && unit["ExecMainStatus"] == "0", "\(unit)")
            let ready = try #require(Int(unit["ActiveEnterTimestampMonotonic"] ?? ""))
            #expect(ready > 0, "systemd saw READY=1")
            let a = try #require(try Self.show("\(dir)/\(run)/show.txt").first { $0["Id"] == "kk-a.service" })
            let started = try #require(Int(a["InactiveExitTimestampMonotonic"] ?? ""))
            #expect(started >= ready, "kk-a (After= the trace unit) started once the trace was ready")
            let report = try BootE2ETests.json("\(dir)/\(run)/unit-boot.json")
            let processes = report["processes"] as! [[String: Any]]
            // kk-a's `sleep 0.3`, which systemd started after the trace was ready.
            let sleeps = processes.filter { ($0["argv0"] as? String)?.hasSuffix("sleep") == true && ($0["start_us"] as? Int ?? 0) >= started }
            #expect(!sleeps.isEmpty, "\(processes.map { $0["argv0"] ?? "" })")
            #expect((report["units"] as? [[String: Any]])?.contains { $0["unit"] as? String == "kk-a.service" } == true)
        }
    }

    @Test("boot compare of the two runs names the unit that got slower first")
    func compare() throws {
        let dir = try Self.results.get()
        let c = try BootE2ETests.json("\(dir)/compare.json")
        let units = (c["changes"] as! [[String: Any]]).filter { $0["kind"] as? String == "unit" }
        #expect(units.first?["name"] as? String == "kk-b.service")
        let delta = try #require(units.first?["delta_us"] as? Int)
        #expect(delta > 500_000 && delta < 700_000, "0.2 s -> 0.8 s: \(delta) µs")
    }
}
