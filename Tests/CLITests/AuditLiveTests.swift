import Foundation
import Testing

/// `audit --live` on this machine, checked against what the real tools say of it: kmod's
/// `lsmod` and `modinfo`, the sysfs and procfs files themselves, `bpftool feature probe`,
/// `probe list`. The expected side is read by the test, never by kernelkit.
@Suite("audit --live agrees with lsmod, modinfo, sysfs and bpftool on this machine", .serialized)
struct AuditLiveTests {
    static func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    }

    static func findings(_ audit: [String: Any], _ section: String) -> [[String: Any]] {
        (audit["sections"] as! [[String: Any]]).first { $0["id"] as? String == section }!["findings"] as! [[String: Any]]
    }

    static func finding(_ audit: [String: Any], _ section: String, _ id: String) -> [String: Any]? {
        findings(audit, section).first { $0["id"] as? String == id }
    }

    static func cat(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("the running system: modules, taint, lockdown, LSMs, BTF, JIT, unprivileged BPF, the probes")
    func runningSystem() throws {
        let r = try kernelkit(["audit", "--live", "--format", "json"])
        #expect(r.status == 0 || r.status == 1, "\(r.err)")
        let audit = try Self.json(r.out)
        #expect(audit["schema"] as? String == "kernelkit.audit-live/1")
        #expect(audit["verdict"] as? String == (r.status == 0 ? "pass" : "fail"))
        let modules = audit["modules"] as! [String: Any]
        let loaded = (modules["loaded"] as! [[String: Any]]).map { $0["name"] as! String }

        // lsmod: the same modules, or, where the kernel has no module support, the same
        // failure to list any.
        let lsmod = try run("/sbin/lsmod", [])
        if lsmod.status == 0 {
            let names = lsmod.out.split(separator: "\n").dropFirst().map { String($0.split(separator: " ")[0]) }
            #expect(Set(names) == Set(loaded))
        } else {
            #expect(lsmod.err.contains("/proc/modules"), "\(lsmod.err)")
            #expect(loaded.isEmpty)
            let m = Self.finding(audit, "signing", "signing.modules")
            #expect(m?["status"] as? String == "ok", "\(String(describing: m))")
        }
        // The kernel's taint, as /proc/sys/kernel/tainted holds it.
        let taint = modules["kernel_taint"] as! [String: Any]
        #expect("\(taint["value"]!)" == Self.cat("/proc/sys/kernel/tainted"))

        // securityfs: the selected lockdown mode and the LSM list.
        let lockdown = try #require(Self.cat("/sys/kernel/security/lockdown"), "audit --live mounted securityfs")
        let selected = lockdown.split(separator: " ").first { $0.hasPrefix("[") }!.dropFirst().dropLast()
        #expect(Self.finding(audit, "lockdown", "lockdown.mode")?["message"] as? String == "lockdown: \(selected)"
                || (Self.finding(audit, "lockdown", "lockdown.mode")?["message"] as? String ?? "").hasPrefix("lockdown: \(selected) "))
        if let lsm = Self.cat("/sys/kernel/security/lsm") {
            #expect(Self.finding(audit, "lockdown", "lockdown.lsm")?["message"] as? String == "active LSMs: \(lsm)")
        }
        #expect((Self.finding(audit, "lockdown", "lockdown.selinux")?["message"] as? String)?.contains(
            Self.cat("/sys/fs/selinux/enforce") == nil ? "not active" : (Self.cat("/sys/fs/selinux/enforce") == "1" ? "enforcing" : "permissive")) == true)

        // BTF as the kernel exposes it.
        let btf = Self.finding(audit, "probes", "probes.btf")
        #expect((btf?["status"] as? String == "ok") == FileManager.default.fileExists(atPath: "/sys/kernel/btf/vmlinux"))

        // bpftool feature probe: the JIT and the unprivileged bpf() setting.
        let probe = try run(Oracles.bpftool, ["feature", "probe", "kernel"])
        #expect(probe.status == 0, "\(probe.err)")
        let jit = Self.finding(audit, "probes", "probes.jit")
        #expect((jit?["status"] as? String == "ok") == probe.out.contains("JIT compiler is enabled"), "\(String(describing: jit))")
        let unpriv = Self.finding(audit, "probes", "probes.unprivileged_bpf")?["message"] as? String ?? ""
        if probe.out.contains("bpf() syscall restricted to privileged users (admin can change)") {
            #expect(unpriv == "unprivileged BPF is disabled (root can change it)")
        } else if probe.out.contains("bpf() syscall restricted to privileged users (without recovery)") {
            #expect(unpriv == "unprivileged BPF is disabled (until reboot)")
        } else {
            #expect(unpriv == "unprivileged BPF is allowed")
        }
        // The probes: the same answer as probe list.
        let list = try Self.json(try kernelkit(["probe", "list", "--format", "json"]).out)
        let listed = Dictionary(uniqueKeysWithValues: (list["probes"] as! [[String: Any]]).map { ($0["probe"] as! String, $0["can_run"] as! Bool) })
        let ours = Dictionary(uniqueKeysWithValues: (audit["probes"] as! [[String: Any]]).map { ($0["probe"] as! String, $0["can_run"] as! Bool) })
        #expect(ours == listed)
        // Every finding names where it was read, but the probe lines (probe list's answer).
        for s in audit["sections"] as! [[String: Any]] {
            for f in s["findings"] as! [[String: Any]] {
                let id = f["id"] as! String
                if id.hasPrefix("probes."), listed[String(id.dropFirst(7))] != nil { continue }
                #expect(f["source"] is [String: Any], "\(id) names no source")
            }
        }
    }

    @Test("Debian's 1,121 cloud modules as the tree: every one signed-trusted by its vmlinuz, as modinfo names the signer",
          .enabled(if: Oracles.signingShouldRun, "needs Debian's cloud kernel: run scripts/setup-oracles.sh"))
    func debianTree() throws {
        let k = CloudKernel.debian12
        let tree = "\(Oracles.cloudImage)/lib/modules/\(k.release)"
        let r = try kernelkit(["audit", "--live", "--format", "json", "--modules", tree, "--kernel-image", k.vmlinuz])
        #expect(r.status == 0 || r.status == 1, "\(r.err)")
        let audit = try Self.json(r.out)
        let modules = audit["modules"] as! [String: Any]
        #expect((modules["summary"] as! [String: Any])["signed-trusted"] as? Int == 1121)
        let files = modules["files"] as! [[String: Any]]
        #expect(files.count == 1121)
        // kmod's modinfo names the same signer for a sample.
        for f in files.enumerated().filter({ $0.offset % 100 == 0 }).map(\.element) {
            let signer = try run("/sbin/modinfo", ["-F", "signer", f["path"] as! String]).out.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(f["signer"] as? String == signer)
        }
        // No modules.dep in the package (depmod makes it at install): said, with the path.
        let index = Self.finding(audit, "signing", "signing.index")
        #expect((index?["source"] as? [String: Any])?["path"] as? String == "\(tree)/modules.dep")
        // Indexed as the package's postinst would (kmod's depmod, on a copy), kmod finds
        // the Hyper-V drivers there, as kmod's modinfo -n does.
        let dir = try TemporaryDirectory()
        let copy = "\(dir.path)/lib/modules/\(k.release)"
        #expect(try run("/bin/sh", ["-c", "mkdir -p \(dir.path)/lib/modules && cp -a \(tree) \(copy) && /sbin/depmod -b \(dir.path) \(k.release)"]).status == 0)
        let indexed = try Self.json(try kernelkit(["audit", "--live", "--format", "json", "--modules", copy, "--kernel-image", k.vmlinuz]).out)
        #expect(Self.finding(indexed, "signing", "signing.index") == nil)
        let drivers = try #require(Self.finding(indexed, "hyperv", "hyperv.modules")?["message"] as? String)
        for name in ["hv_vmbus", "hv_storvsc", "hv_netvsc", "hv_balloon"] {
            let path = try run("/sbin/modinfo", ["-b", dir.path, "-k", k.release, "-n", name])
            #expect(path.status == 0 && path.out.hasPrefix(copy), "\(name): \(path.out)\(path.err)")
            #expect(drivers.contains("\(name) in the tree"), "\(drivers)")
        }
        // A module newer than modules.dep: stale indexes, as depmod -A would judge them.
        #expect(try run("/bin/sh", ["-c", "sleep 0.01; touch \(copy)/kernel/drivers/hv/hv_vmbus.ko"]).status == 0)
        let stale = try Self.json(try kernelkit(["audit", "--live", "--format", "json", "--modules", copy, "--kernel-image", k.vmlinuz]).out)
        #expect((Self.finding(stale, "signing", "signing.index")?["message"] as? String)?.hasPrefix("modules.dep is older than 1 module file(s)") == true)
    }

    @Test("bad input: no modules tree, broken modules, an unreadable config, a bad keyring: findings, never a crash")
    func badInput() throws {
        let dir = try TemporaryDirectory()
        // No such tree.
        var r = try kernelkit(["audit", "--live", "--format", "json", "--modules", "\(dir.path)/none"])
        #expect(r.status == 0 || r.status == 1, "\(r.err)")
        var audit = try Self.json(r.out)
        #expect((Self.finding(audit, "signing", "signing.tree")?["message"] as? String)?.hasPrefix("no modules directory") == true)
        // A tree with a truncated module, a file that is not ELF, an unsigned real one.
        let tree = "\(dir.path)/tree"
        try FileManager.default.createDirectory(atPath: "\(tree)/kernel", withIntermediateDirectories: true)
        let real = try Data(contentsOf: URL(fileURLWithPath: CloudKernel.debian12.modules["hv_vmbus"]!))
        try real.prefix(real.count - 100).write(to: URL(fileURLWithPath: "\(tree)/kernel/truncated.ko"))
        try Data("not a module\n".utf8).write(to: URL(fileURLWithPath: "\(tree)/kernel/text.ko"))
        try Data([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 1, 2, 3]).write(to: URL(fileURLWithPath: "\(tree)/kernel/broken.ko.xz"))
        // A gzip file that is cut short, as the config.
        let gz = try run("/bin/sh", ["-c", "head -c 3000 /proc/config.gz > \(dir.path)/config.gz || printf '\\037\\213\\010' > \(dir.path)/config.gz"])
        #expect(gz.status == 0)
        let before = try FileManager.default.subpathsOfDirectory(atPath: dir.path).sorted()
        r = try kernelkit(["audit", "--live", "--format", "json", "--modules", tree, "--config", "\(dir.path)/config.gz",
                           "--kernel-image", "\(dir.path)/config.gz", "--keyring", "/etc/hostname"])
        #expect(r.status == 0 || r.status == 1, "\(r.err)")
        audit = try Self.json(r.out)
        let files = (audit["modules"] as! [String: Any])["files"] as! [[String: Any]]
        #expect(files.count == 3)
        // Cut short, the module has lost its signature marker: unsigned, as the kernel's
        // module_sig_check() would take it; the others are no modules at all.
        let verdicts = Dictionary(uniqueKeysWithValues: files.map { (($0["path"] as! String).split(separator: "/").last.map(String.init)!, $0["verdict"] as! String) })
        #expect(verdicts == ["truncated.ko": "unsigned", "text.ko": "malformed", "broken.ko.xz": "malformed"])
        for f in files { #expect(f["detail"] as? String != nil) }
        #expect(Self.finding(audit, "config", "config.unreadable")?["status"] as? String == "warn")
        #expect(Self.finding(audit, "config", "config.missing") != nil)
        let keyrings = Self.findings(audit, "signing").filter { $0["id"] as? String == "signing.keyring" }
        #expect(keyrings.count == 2, "the bad image and the bad --keyring")
        // Nothing written next to the inputs.
        #expect(try FileManager.default.subpathsOfDirectory(atPath: dir.path).sorted() == before)
        // Text too, and a waiver naming a live finding that does not exist is a located error.
        let w = try dir.write("w.toml", "[[waiver]]\nrule = \"live.nothing\"\nreason = \"x\"\nowner = \"y\"\nexpires = \"2099-01-01\"\n")
        let bad = try kernelkit(["audit", "--live", "--waivers", w])
        #expect(bad.status == 2)
        #expect(bad.err.contains("w.toml:1"), "\(bad.err)")
        // Options of the bundled audit are refused with --live, and --live's without it.
        #expect(try kernelkit(["audit", "--live", "--flavour", "azure"]).status == 2)
        #expect(try kernelkit(["audit", "--modules", tree]).status == 2)
    }

    @Test("waivers name live findings as live.ID; SARIF carries them with their source")
    func waiversAndSARIF() throws {
        let dir = try TemporaryDirectory()
        let tree = "\(dir.path)/tree"
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        let stripped = try run("/bin/sh", ["-c", "cp \(CloudKernel.debian12.modules["hv_vmbus"]!) \(tree)/hv_vmbus.ko"])
        #expect(stripped.status == 0)
        #expect(try kernelkit(["modsign", "strip", "\(tree)/hv_vmbus.ko"]).status == 0)
        // The tree fails when the kernel could load modules; on a kernel without modules
        // (this one) it is low severity.
        let sarif = try kernelkit(["audit", "--live", "--format", "sarif", "--modules", tree, "--kernel-image", CloudKernel.debian12.vmlinuz])
        let log = try Self.json(sarif.out)
        let results = ((log["runs"] as! [[String: Any]])[0]["results"] as! [[String: Any]])
        let tree1 = results.first { $0["ruleId"] as? String == "live.signing.tree" }
        #expect(tree1 != nil, "\(sarif.out.prefix(400))")
        let uri = (((tree1?["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])?["artifactLocation"] as? [String: Any])?["uri"] as? String
        #expect(uri == "file://\(tree)")
        let w = try dir.write("w.toml", "[[waiver]]\nrule = \"live.signing.tree\"\nreason = \"test modules\"\nowner = \"ci\"\nexpires = \"2099-01-01\"\n")
        let waived = try Self.json(try kernelkit(["audit", "--live", "--format", "json", "--modules", tree, "--kernel-image", CloudKernel.debian12.vmlinuz, "--waivers", w]).out)
        #expect(Self.finding(waived, "signing", "signing.tree")?["status"] as? String == "waived")
    }
}
