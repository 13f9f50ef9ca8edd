import Foundation
import KernelKitCore
import KernelProbes
import ModuleSigning
import Testing

/// What audit --live asks libkmod, against kmod's own tools on Debian's cloud tree (a
/// copy indexed by kmod's depmod, as the package's postinst does).
@Suite("libkmod lookups: VMBus modaliases and module states, as modinfo and modprobe resolve them",
       .enabled(if: Oracles.signingShouldRun, "needs Debian's cloud kernel: run scripts/setup-oracles.sh"))
struct KmodLookupTests {
    @Test("a VMBus class's modalias is the alias its driver declares, and kmod resolves it to that driver as modprobe -R does")
    func vmbusAliases() throws {
        let k = CloudKernel.debian12
        let dir = try TemporaryDirectory()
        let copy = "\(dir.path)/lib/modules/\(k.release)"
        let tree = "\(Oracles.cloudImage)/lib/modules/\(k.release)"
        #expect(try run("/bin/sh", ["-c", "mkdir -p \(dir.path)/lib/modules && cp -a \(tree) \(copy) && /sbin/depmod -b \(dir.path) \(k.release)"]).status == 0)
        let kmod = try KmodContext(directory: copy)
        // include/linux/hyperv.h's HV_NIC_GUID and HV_SCSI_GUID, as sysfs prints class_id.
        for (guid, driver) in [("f8615163-df3e-46c5-913f-f2d2f965ed0e", "hv_netvsc"), ("ba6163d9-04a1-4d29-b605-72e2ffb1dc7f", "hv_storvsc")] {
            let alias = try #require(VMBus.modalias(classID: "{\(guid)}"))
            let declared = try run("/sbin/modinfo", ["-b", dir.path, "-k", k.release, "-F", "alias", driver]).out.split(separator: "\n")
            #expect(declared.contains(Substring(alias)), "\(alias) not in \(declared)")
            let resolved = try run("/sbin/modprobe", ["-d", dir.path, "-S", k.release, "-R", alias])
            #expect(resolved.status == 0 && resolved.out.split(separator: "\n").map(String.init) == [driver], "\(resolved.out)\(resolved.err)")
            #expect(kmod.lookup(alias: alias) == [driver])
        }
        #expect(kmod.lookup(alias: "vmbus:00000000000000000000000000000000").isEmpty)
        #expect(VMBus.modalias(classID: "not a guid") == nil)
        #expect(kmod.state(of: "hv_vmbus") == "in the tree" && kmod.state(of: "no_such_module") == "absent")
    }
}
