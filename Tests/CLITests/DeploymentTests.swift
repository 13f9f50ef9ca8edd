import Foundation
import Testing

/// scripts/deploy/: the systemd unit, the Kubernetes DaemonSet and the GitHub Actions
/// workflow, checked by the tools that will read them: systemd-analyze, a YAML parser
/// (PyYAML), and, for the DaemonSet, the paths the exporter really opens (strace).
@Suite("Deployment: the exporter's systemd unit and DaemonSet, the SARIF workflow", .serialized,
       .enabled(if: ProbeEnvironment.available || Oracles.required, "needs root and BTF (the exporter runs under strace)"))
struct DeploymentTests {
    static let deploy = Paths.packageRoot + "/scripts/deploy"

    /// A YAML file as JSON, through PyYAML (YAML 1.1 reads a bare `on` key as true).
    static func yaml(_ file: String) throws -> Any {
        let r = try run("/usr/bin/python3", ["-c", """
            import json, sys, yaml
            docs = list(yaml.safe_load_all(open(sys.argv[1])))
            def keys(o):
                if isinstance(o, dict): return {str(k) if not isinstance(k, bool) else ('on' if k else 'off'): keys(v) for k, v in o.items()}
                if isinstance(o, list): return [keys(v) for v in o]
                return o
            print(json.dumps(keys(docs[0] if len(docs) == 1 else docs)))
            """, file])
        #expect(r.status == 0, "\(file): \(r.err)")
        return try JSONSerialization.jsonObject(with: r.stdout)
    }

    @Test("the systemd unit passes systemd-analyze verify and starts the exporter with arguments it accepts")
    func systemdUnit() throws {
        let dir = try TemporaryDirectory()
        let unit = try String(contentsOfFile: Self.deploy + "/kernelkit-exporter.service", encoding: .utf8)
        // verify checks that ExecStart's binary exists: point it at the one built here.
        let local = unit.replacingOccurrences(of: "/usr/local/bin/kernelkit-exporter", with: Paths.kernelkitExporter)
        let file = try dir.write("kernelkit-exporter.service", local)
        let v = try run("/usr/bin/systemd-analyze", ["verify", file])
        #expect(v.status == 0 && !v.err.contains("kernelkit-exporter.service"), "\(v.out)\(v.err)")
        // Its ExecStart arguments start the exporter (on a loopback port here).
        let exec = try #require(unit.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
        var args = exec.split(separator: " ").dropFirst().map(String.init)
        args[args.firstIndex(of: "0.0.0.0:9435")!] = "127.0.0.1:\(19_900 + Int(getpid() % 90))"
        let bg = try Background(Paths.kernelkitExporter, args)
        usleep(1_500_000)
        kill(bg.process.processIdentifier, SIGTERM)
        let r = bg.wait()
        #expect(r.status == 0 && r.err.contains("serving http://"), "\(r.err)")
    }

    @Test("the DaemonSet parses; it runs unprivileged with CAP_BPF and CAP_PERFMON, on every node; each path it mounts is one the exporter opens")
    func daemonSet() throws {
        let file = Self.deploy + "/kernelkit-exporter-daemonset.yaml"
        let ds = try #require(try Self.yaml(file) as? [String: Any])
        #expect(ds["kind"] as? String == "DaemonSet" && ds["apiVersion"] as? String == "apps/v1")
        let pod = try #require(((ds["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        #expect((pod["tolerations"] as? [[String: Any]])?.contains { $0["operator"] as? String == "Exists" && $0["key"] == nil } == true)
        #expect(pod["hostPID"] as? Bool != true)
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        let security = try #require(container["securityContext"] as? [String: Any])
        #expect(security["privileged"] as? Bool == false)
        let caps = try #require(security["capabilities"] as? [String: Any])
        #expect(Set(caps["add"] as? [String] ?? []) == ["BPF", "PERFMON"] && caps["drop"] as? [String] == ["ALL"])
        let volumes = try #require(pod["volumes"] as? [[String: Any]])
        var hostPaths = [String: String]()
        for v in volumes { hostPaths[v["name"] as! String] = (v["hostPath"] as? [String: Any])?["path"] as? String }
        let mounts = try #require(container["volumeMounts"] as? [[String: Any]])
        #expect(mounts.count == volumes.count)
        for m in mounts {
            let name = m["name"] as! String
            #expect(m["readOnly"] as? Bool == true, "\(name) is not read-only")
            // Mounted where the host has it: the exporter reads the host's paths.
            #expect(m["mountPath"] as? String == hostPaths[name], "\(name)")
        }
        // The exporter's container args are ones it accepts (an unknown probe would exit 2).
        let args = try #require(container["args"] as? [String])
        #expect(args.contains("--probe") && args.contains("--audit-interval"))

        // What the exporter opens, with the DaemonSet's arguments, for a few seconds. Where
        // the kernel has no /proc/config.gz (as on Azure Linux), the live audit reads
        // /boot/config-$(uname -r) instead: shown in a mount namespace where
        // /proc/config.gz is a broken gzip stream, which the audit cannot read.
        let dir = try TemporaryDirectory()
        let broken = try dir.write("config.gz", bytes: [0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad])
        let port = 19_990 + Int(getpid() % 9)
        var local = args
        local[local.firstIndex(of: "0.0.0.0:9435")!] = "127.0.0.1:\(port)"
        local[local.firstIndex(of: "300")!] = "1"
        let trace = dir.path + "/strace.log"
        let quoted = ([Paths.kernelkitExporter] + local).map { "'\($0)'" }.joined(separator: " ")
        let script = """
            [ -e /proc/config.gz ] && mount --bind '\(broken)' /proc/config.gz
            exec timeout -s TERM 6 strace -f -qq -e trace=%file -o '\(trace)' \(quoted)
            """
        let r = try run("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/sh", "-c", script])
        // 124: timeout stopped it, as planned.
        #expect(r.status == 124 || r.status == 0, "\(r.err)")
        let log = try String(contentsOfFile: trace, encoding: .utf8)
        var opened = Set<String>()
        for line in log.split(separator: "\n") {
            var rest = line[...]
            while let q = rest.firstIndex(of: "\"") {
                let after = rest[rest.index(after: q)...]
                guard let end = after.firstIndex(of: "\"") else { break }
                let path = String(after[..<end])
                if path.hasPrefix("/") { opened.insert(path) }
                rest = after[after.index(after: end)...]
            }
        }
        #expect(!opened.isEmpty)
        for (name, path) in hostPaths {
            #expect(opened.contains { $0 == path || $0.hasPrefix(path + "/") }, "the DaemonSet mounts \(path) (\(name)), which the exporter never opens")
        }
    }

    @Test("the SARIF workflow parses, and its check step, run here on a repository of configs, writes SARIF with ruleIds and partialFingerprints for upload-sarif")
    func workflow() throws {
        let wf = try #require(try Self.yaml(Self.deploy + "/github-harden-sarif.yml") as? [String: Any])
        #expect(wf["on"] != nil)
        let perms = try #require(wf["permissions"] as? [String: Any])
        #expect(perms["security-events"] as? String == "write")
        let job = try #require((wf["jobs"] as? [String: Any])?["harden"] as? [String: Any])
        let steps = try #require(job["steps"] as? [[String: Any]])
        let upload = try #require(steps.first { ($0["uses"] as? String)?.hasPrefix("github/codeql-action/upload-sarif@") == true })
        let sarifFile = try #require((upload["with"] as? [String: Any])?["sarif_file"] as? String)
        let check = try #require(steps.first { ($0["run"] as? String)?.contains("harden check") == true })
        let script = try #require(check["run"] as? String)
        // The step's own script, in a repository of two real configs, with the binary built here.
        let repo = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: repo.path + "/configs", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: RealConfigs.azl4_618_x86, toPath: repo.path + "/configs/azl4-x86_64.config")
        try FileManager.default.copyItem(atPath: RealConfigs.azl4_618_arm, toPath: repo.path + "/configs/azl4-aarch64.config")
        let r = try run("/bin/bash", ["-c", script], environment: ["KERNELKIT": Paths.kernelkit], in: repo.path)
        #expect(r.status == 0, "\(r.err)")
        let log = try #require(try JSONSerialization.jsonObject(with: try repo.read(sarifFile)) as? [String: Any])
        let runs = try #require(log["runs"] as? [[String: Any]])
        #expect(runs.count == 2)
        let results = runs.flatMap { ($0["results"] as? [[String: Any]]) ?? [] }
        #expect(!results.isEmpty)
        for result in results {
            #expect((result["ruleId"] as? String)?.isEmpty == false)
            #expect(((result["partialFingerprints"] as? [String: String])?["kernelkitFinding/v1"])?.isEmpty == false)
            let uri = (((result["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])?["artifactLocation"] as? [String: Any])?["uri"] as? String
            // Relative to the repository, as code scanning wants to place the alert.
            #expect(uri?.hasPrefix("configs/") == true, "\(String(describing: uri))")
        }
    }
}
