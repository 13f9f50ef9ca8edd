import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The files that start `boot trace` at boot (scripts/boot-trace/): the systemd units
/// checked by systemd's own verifier, the initramfs scripts by the shell; and the
/// --handover/--finish pair's errors.
@Suite("boot trace: shipped hooks and units")
struct BootHooksTests {
    static let dir = "\(Paths.packageRoot)/scripts/boot-trace"

    @Test("the systemd units pass systemd-analyze verify, and the trace unit is Type=notify, DefaultDependencies=no, Before=sysinit.target",
          .enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/systemd-analyze") || Oracles.required))
    func systemdUnits() throws {
        let tmp = try TemporaryDirectory()
        for unit in ["kernelkit-boot-trace.service", "kernelkit-boot-trace-done.service"] {
            // verify checks that ExecStart's program exists: point it at the binary under
            // test (an absolute path, as systemd wants even when KERNELKIT_BIN is relative).
            let text = try String(contentsOfFile: "\(Self.dir)/systemd/\(unit)", encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/bin/kernelkit", with: URL(fileURLWithPath: Paths.kernelkit).standardizedFileURL.path)
            _ = try tmp.write(unit, text)
        }
        let r = try run("/usr/bin/systemd-analyze", ["verify", "kernelkit-boot-trace.service", "kernelkit-boot-trace-done.service"], in: tmp.path)
        #expect(r.status == 0, "\(r.out)\(r.err)")
        // The verifier is not a rubber stamp: a bad Type is refused.
        let broken = try String(contentsOfFile: "\(tmp.path)/kernelkit-boot-trace.service", encoding: .utf8)
            .replacingOccurrences(of: "Type=notify", with: "Type=notifyy")
        _ = try tmp.write("broken.service", broken)
        let bad = try run("/usr/bin/systemd-analyze", ["verify", "broken.service"], in: tmp.path)
        #expect(bad.status != 0 || bad.err.contains("notifyy"), "\(bad.err)")
        let unit = try String(contentsOfFile: "\(Self.dir)/systemd/kernelkit-boot-trace.service", encoding: .utf8)
        for line in ["Type=notify", "DefaultDependencies=no", "Before=sysinit.target"] {
            #expect(unit.split(separator: "\n").contains { $0 == line }, "\(line)")
        }
    }

    @Test("the initramfs-tools and dracut scripts parse, and run --handover", arguments: [
        "initramfs-tools/hooks/kernelkit", "initramfs-tools/scripts/init-top/kernelkit",
        "dracut/99kernelkit/kernelkit-boot-trace.sh", "dracut/99kernelkit/module-setup.sh",
    ])
    func initramfsScripts(path: String) throws {
        let shell = path.hasSuffix("module-setup.sh") ? "/bin/bash" : "/bin/sh"
        let r = try run(shell, ["-n", "\(Self.dir)/\(path)"])
        #expect(r.status == 0, "\(path): \(r.err)")
        #expect(access("\(Self.dir)/\(path)", X_OK) == 0, "\(path) is not executable")
        let text = try String(contentsOfFile: "\(Self.dir)/\(path)", encoding: .utf8)
        if path.contains("init-top") || path.hasSuffix("boot-trace.sh") { #expect(text.contains("kernelkit boot trace --handover")) }
    }

    @Test("--finish with nothing handed over, and --handover with report options: one line, exit 2")
    func handoverErrors() throws {
        let r = try kernelkit(["boot", "trace", "--finish"])
        #expect(r.status == 2 && r.out.isEmpty && r.err.split(separator: "\n").count == 1, "\(r.status) \(r.err)")
        #expect(r.err.contains("no boot trace was handed over"), "\(r.err)")
        let u = try kernelkit(["boot", "trace", "--handover", "-o", "x.json"])
        #expect(u.status == 2 && u.err.contains("--handover only attaches"), "\(u.err)")
        let both = try kernelkit(["boot", "trace", "--handover", "--finish"])
        #expect(both.status == 2)
    }
}
