import Foundation
import Testing

/// `scripts/initramfs-e2e`: the shipped initramfs-tools hook and init-top script in an
/// initramfs that Debian's own mkinitramfs built (boot d), and the shipped dracut module
/// in one dracut built with systemd inside (boot e, as Azure Linux boots), each booted
/// with Debian's cloud kernel under QEMU; the initramfs's own init runs the handover and
/// switches root, and the new root's init collects the trace.
@Suite("boot trace across a real initramfs (mkinitramfs) and switch of root", .serialized,
       .enabled(if: VMEnvironment.available, "needs qemu-system-x86_64, initramfs-tools-core and the cloud kernel (scripts/test.sh installs them)"))
struct InitramfsE2ETests {
    static let results: Result<String, any Error> = Result { try e2eResults("initramfs-e2e") }

    @Test("the hook puts kernelkit into the initramfs; its handover records the initramfs's own processes and modules; --finish on the new root collects them and removes the pins",
          arguments: ["d", "e"])
    func handover(run: String) throws {
        let dir = try Self.results.get()
        if run == "d" {
            let list = try String(contentsOfFile: "\(dir)/initrd.list", encoding: .utf8).split(separator: "\n")
            #expect(list.contains("usr/bin/kernelkit") || list.contains("bin/kernelkit"))
            #expect(list.contains("scripts/init-top/kernelkit"))
        } else {
            let list = try String(contentsOfFile: "\(dir)/initrd-dracut.list", encoding: .utf8)
            #expect(list.contains("usr/bin/kernelkit") && list.contains("hooks/pre-udev/00-kernelkit-boot-trace.sh"))
        }
        #expect(try String(contentsOfFile: "\(dir)/\(run)/finish.status", encoding: .utf8).hasPrefix("0"))
        #expect(try String(contentsOfFile: "\(dir)/\(run)/pins-after.txt", encoding: .utf8).isEmpty, "the pins are gone")
        let trace = try BootE2ETests.json("\(dir)/\(run)/handover.json")
        let processes = trace["processes"] as! [[String: Any]]
        let names = Set(processes.compactMap { $0["argv0"] as? String })
        // Started by the initramfs after the hook: udev, and what mounts and switches the
        // root (initramfs-tools' run-init; under dracut, systemd's fsck and fstab check).
        #expect(names.contains("/lib/systemd/systemd-udevd") || names.contains("systemd-udevd"), "\(names)")
        if run == "d" {
            #expect(names.contains("run-init"), "\(names)")
        } else {
            #expect(names.contains("/lib/systemd/systemd-fsck") && names.contains("systemd-sysroot-fstab-check"), "\(names)")
        }
        // Started on the new root, before --finish.
        let stage2 = Int(try String(contentsOfFile: "\(dir)/\(run)/stage2.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
        let p = processes.first { $0["pid"] as? Int == stage2 }
        #expect(p?["ppid"] as? Int == 1 && p?["exit_code"] as? Int == 0, "\(String(describing: p))")
        // udev loaded the virtio disk driver from the initramfs while traced.
        let modules = trace["modules"] as! [[String: Any]]
        let blk = modules.first { $0["module"] as? String == "virtio_blk" }
        #expect(blk != nil && (blk?["init_duration_us"] as? Int ?? 0) > 0, "\(modules)")
    }
}
