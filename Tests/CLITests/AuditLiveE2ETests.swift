import Foundation
import Testing

/// `scripts/audit-live-e2e`: Debian's cloud kernel booted with `module.sig_enforce=1` is
/// the oracle for module signatures: what it loads and what it refuses (and why, by its
/// own notice) must be what `audit --live` inside the VM and `modsign verify` on the host
/// say of each of 80 module files.
@Suite("audit --live in a real VM: the booted kernel's verdicts on 80 modules", .serialized,
       .enabled(if: VMEnvironment.available, "needs qemu-system-x86_64, busybox-static and the cloud kernel (scripts/test.sh installs them)"))
struct AuditLiveE2ETests {
    static let results: Result<String, any Error> = Result { try e2eResults("audit-live-e2e") }

    static func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    /// insmod.txt: `FILE|STATUS|MESSAGE|NOTICE`, the kernel's answer per file.
    static func kernelVerdicts(_ path: String) throws -> [String: String] {
        var out = [String: String]()
        for line in try text(path).split(separator: "\n") {
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            let (status, message, notice) = (f[1], f[2], f[3])
            // kernel/module/signing.c: every refusal under sig_enforce is EKEYREJECTED;
            // the notice names unsigned modules and unavailable keys, and a signature
            // that does not verify gets none.
            if status == "0" || !message.contains("Key was rejected by service") {
                out[f[0]] = "signed-trusted"
            } else if notice.contains("unsigned module") {
                out[f[0]] = "unsigned"
            } else if notice.contains("unavailable key") {
                out[f[0]] = "unknown-key"
            } else {
                out[f[0]] = "bad-signature"
            }
        }
        return out
    }

    static func auditVerdicts(_ audit: [String: Any]) -> [String: String] {
        let files = (audit["modules"] as! [String: Any])["files"] as! [[String: Any]]
        var out = [String: String]()
        for f in files {
            let path = f["path"] as! String
            guard path.contains("/kktest/") else { continue }
            out[(path as NSString).lastPathComponent] = f["verdict"] as? String
        }
        return out
    }

    @Test("each module's verdict: the kernel's (insmod under sig_enforce=1) = audit --live's in the VM = modsign verify's on the host")
    func signatureVerdicts() throws {
        let dir = try Self.results.get()
        let kernel = try Self.kernelVerdicts("\(dir)/a/insmod.txt")
        let audit = try BootE2ETests.json("\(dir)/a/audit.json")
        #expect(try Self.text("\(dir)/a/audit.status").hasPrefix("0") || (try Self.text("\(dir)/a/audit.status")).hasPrefix("1"))
        let inVM = Self.auditVerdicts(audit)
        let host = try BootE2ETests.json("\(dir)/host-verify.json")
        var onHost = [String: String]()
        for m in host["modules"] as! [[String: Any]] {
            let v = m["verdict"] as! String
            onHost[((m["path"] as! String) as NSString).lastPathComponent] = v == "valid" ? "signed-trusted" : v
        }
        #expect(kernel.count == 80, "\(kernel.count) insmods")
        #expect(inVM.count == 80 && onHost.count == 80, "\(inVM.count) \(onHost.count)")
        for (file, verdict) in kernel {
            #expect(inVM[file] == verdict, "\(file): kernel \(verdict), audit --live \(inVM[file] ?? "-")")
            #expect(onHost[file] == verdict, "\(file): kernel \(verdict), modsign verify \(onHost[file] ?? "-")")
        }
        // The variants are what they were made to be, as the kernel judges them.
        var byClass = [String: Int]()
        for (file, verdict) in kernel {
            let variant = file.split(separator: ".").dropLast().last.map(String.init) ?? ""
            let expected = ["intact": "signed-trusted", "flipped": "bad-signature", "stripped": "unsigned", "resigned": "unknown-key"][variant]
            #expect(verdict == expected, "\(file)")
            byClass[verdict, default: 0] += 1
        }
        #expect(byClass == ["signed-trusted": 20, "bad-signature": 20, "unsigned": 20, "unknown-key": 20])
    }

    @Test("audit --live names the kernel's lockdown mode and every loaded module with the kernel's taint")
    func lockdownAndLoaded() throws {
        let dir = try Self.results.get()
        let audit = try BootE2ETests.json("\(dir)/a/audit.json")
        let lockdown = try Self.text("\(dir)/a/lockdown.txt")
        #expect(lockdown.contains("[integrity]"), "\(lockdown)")
        let sections = audit["sections"] as! [[String: Any]]
        let lockdownFindings = sections.first { $0["id"] as? String == "lockdown" }!["findings"] as! [[String: Any]]
        let mode = lockdownFindings.first { $0["id"] as? String == "lockdown.mode" }
        #expect(mode?["message"] as? String == "lockdown: integrity")
        #expect((mode?["source"] as? [String: Any])?["path"] as? String == "/sys/kernel/security/lockdown")
        for run in ["a", "b"] {
            let audit = try BootE2ETests.json("\(dir)/\(run)/audit.json")
            let loaded = (audit["modules"] as! [String: Any])["loaded"] as! [[String: Any]]
            let proc = try Self.text("\(dir)/\(run)/proc-modules.txt").split(separator: "\n").map { String($0.split(separator: " ")[0]) }
            #expect(Set(loaded.map { $0["name"] as! String }) == Set(proc), "boot \(run)")
            #expect(proc.count >= 6)
            var taints = [String: String]()
            for line in try Self.text("\(dir)/\(run)/taints.txt").split(separator: "\n") {
                let w = line.split(separator: " ", maxSplits: 1)
                taints[String(w[0])] = w.count > 1 ? String(w[1]) : ""
            }
            for m in loaded {
                #expect((m["taint"] as? String ?? "") == taints[m["name"] as! String], "\(run): \(m["name"]!)")
            }
            let kernelTaint = (audit["modules"] as! [String: Any])["kernel_taint"] as! [String: Any]
            #expect("\(kernelTaint["value"]!)" == (try Self.text("\(dir)/\(run)/tainted.txt")).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    @Test("without sig_enforce an unsigned module loads, and audit --live shows it tainted E as the kernel does")
    func unsignedTaint() throws {
        let dir = try Self.results.get()
        let line = try Self.text("\(dir)/b/insmod.txt").split(separator: "\n")[0].split(separator: "|", omittingEmptySubsequences: false)
        #expect(line[1] == "0", "the kernel loads it: \(line)")
        let name = String(line[0].split(separator: ".")[0])
        let taints = try Self.text("\(dir)/b/taints.txt")
        #expect(taints.contains("\(name) E"), "\(taints)")
        let audit = try BootE2ETests.json("\(dir)/b/audit.json")
        let modules = audit["modules"] as! [String: Any]
        let loaded = (modules["loaded"] as! [[String: Any]]).first { $0["name"] as? String == name }
        #expect(loaded?["taint"] as? String == "E")
        let flags = (modules["kernel_taint"] as! [String: Any])["flags"] as! [[String: Any]]
        #expect(flags.contains { $0["letter"] as? String == "E" && $0["bit"] as? Int == 13 })
        // sig_enforce is off here, so the tree's bad modules are a high-severity failure.
        let signing = (audit["sections"] as! [[String: Any]]).first { $0["id"] as? String == "signing" }!["findings"] as! [[String: Any]]
        let enforce = signing.first { $0["id"] as? String == "signing.sig_enforce" }
        #expect(enforce?["status"] as? String == "fail")
        #expect(try Self.text("\(dir)/b/audit.status").hasPrefix("1"))
    }
}
