import Dispatch
import HardeningKit
import KconfigKit
import KernelImageKit
import KernelKitCore
import KernelProbes
import ModuleSigning
#if canImport(Glibc)
import Glibc
#endif

extension LiveAudit {
    // MARK: module signing

    /// The kernel's taint bits (include/linux/panic.h, kernel/panic.c's taint_flags).
    public static let taintFlags: [(letter: Character, meaning: String)] = [
        ("P", "proprietary module loaded"), ("F", "module force-loaded"), ("S", "CPU out of specification"),
        ("R", "module force-unloaded"), ("M", "machine check"), ("B", "bad page"), ("U", "tainted by user space"),
        ("D", "kernel died (oops or BUG)"), ("A", "ACPI table overridden"), ("W", "kernel warning"),
        ("C", "staging driver loaded"), ("I", "firmware bug worked around"), ("O", "out-of-tree module loaded"),
        ("E", "unsigned module loaded"), ("L", "soft lockup"), ("K", "kernel live-patched"),
        ("X", "auxiliary (distribution-defined) taint"), ("T", "built with a struct-layout randomisation plugin"),
        ("N", "test taint"), ("J", "fwctl used"),
    ]

    public static func decodeTaint(_ value: UInt64) -> [TaintFlag] {
        var out = [TaintFlag]()
        for bit in 0..<64 where value & (1 << UInt64(bit)) != 0 {
            let known: (letter: Character, meaning: String) = bit < taintFlags.count ? taintFlags[bit] : ("?", "bit \(bit), unknown to KernelKit")
            out.append(TaintFlag(bit: bit, letter: known.letter, meaning: known.meaning))
        }
        return out
    }

    mutating func readSigning(config: ConfigFile?) {
        let source = config?.entries.first?.location.file
        func configLine(_ name: String) -> (value: String?, line: Int) {
            guard let e = config?[name] else { return (nil, 0) }
            return (e.value.tristate == .no ? nil : e.value.description, e.location.line)
        }
        // Can this kernel load modules at all?
        let modulesFile = path("/proc/modules")
        let hasModuleSupport = InputFile.exists(modulesFile)
        let cm = configLine("MODULES")
        var canLoad = hasModuleSupport
        if config != nil && cm.value == nil {
            add(Finding(.signing, "signing.modules", .ok, "CONFIG_MODULES is not set: the kernel loads no modules", source: source, line: cm.line))
            canLoad = false
        } else if !hasModuleSupport {
            add(Finding(.signing, "signing.modules", .ok, "no \(modulesFile): the kernel has no module support", source: modulesFile))
        }
        let disabledFile = path("/proc/sys/kernel/modules_disabled")
        if let d = readIfPresent(disabledFile), canLoad {
            if d == "1" {
                add(Finding(.signing, "signing.modules_disabled", .ok, "modules_disabled is 1: no more modules can be loaded until reboot", source: disabledFile))
                canLoad = false
            } else {
                add(Finding(.signing, "signing.modules_disabled", .info, "modules_disabled is \(d): modules can be loaded", source: disabledFile))
            }
        }
        // Enforcement: the kernel refuses modules without a valid signature.
        let enforceFile = path("/sys/module/module/parameters/sig_enforce")
        var enforced = false
        if let e = readIfPresent(enforceFile) {
            enforced = e == "Y"
            add(Finding(.signing, "signing.sig_enforce", enforced || !canLoad ? .ok : .fail,
                        enforced ? "sig_enforce is Y: modules without a valid, trusted signature are refused"
                                 : "sig_enforce is N: the kernel loads unsigned or untrusted modules (tainting itself E)",
                        source: enforceFile, severity: .high))
        } else if canLoad {
            add(Finding(.signing, "signing.sig_enforce", .fail, "no \(enforceFile): the kernel does not check module signatures (CONFIG_MODULE_SIG)",
                        source: enforceFile, severity: .high))
        }
        if let t = readIfPresent(path("/proc/sys/kernel/tainted")), let v = UInt64(t) {
            taint = (v, Self.decodeTaint(v))
            let letters = taint!.flags.map { "\($0.letter) (\($0.meaning))" }.joined(separator: ", ")
            add(Finding(.signing, "signing.tainted", v == 0 ? .ok : .warn, v == 0 ? "the kernel is not tainted" : "the kernel is tainted \(v): \(letters)",
                        source: path("/proc/sys/kernel/tainted")))
        }
        readLoadedModules(canLoad: hasModuleSupport)
        readModuleTree(canLoad: canLoad, enforced: enforced)
    }

    mutating func readLoadedModules(canLoad: Bool) {
        guard canLoad else { return }
        do {
            let kmod = try KmodContext(directory: sources.modulesDirectory)
            for m in try kmod.loaded() {
                let t = readIfPresent(path("/sys/module/\(m.name)/taint"))
                loaded.append(Loaded(module: m, taint: t))
            }
        } catch {
            add(Finding(.signing, "signing.loaded", .warn, "could not list the loaded modules: \(error.message)", source: path("/proc/modules")))
            return
        }
        let tainted = loaded.filter { !($0.taint ?? "").isEmpty }
        add(Finding(.signing, "signing.loaded", tainted.isEmpty ? .ok : .warn,
                    "\(loaded.count) module(s) loaded" + (tainted.isEmpty ? ", none tainted"
                        : "; tainted: " + tainted.map { "\($0.module.name) (\($0.taint!))" }.joined(separator: ", ")),
                    source: path("/proc/modules")))
    }

    mutating func readModuleTree(canLoad: Bool, enforced: Bool) {
        let dir = sources.modulesDirectory
        guard InputFile.kind(dir).isDirectory else {
            add(Finding(.signing, "signing.tree", canLoad ? .warn : .info, "no modules directory \(dir)", source: dir))
            return
        }
        // The certificates the running kernel trusts: those built into its image, and
        // any the user adds.
        var certs = [X509Certificate]()
        for (i, k) in ([sources.image] + sources.keyrings).enumerated() {
            do {
                // The kernel image, then --keyring files: certificates, or kernel images.
                let found: [X509Certificate]
                if i > 0, let certs = try? X509Certificate.load(try InputFile.readBytes(k), file: k) {
                    found = certs
                } else {
                    found = try KernelImage.certificates(imageFile: k)
                }
                certs += found
                trusted.append((k, found.count))
            } catch {
                add(Finding(.signing, "signing.keyring", .warn, "could not read trusted certificates from \(k): \(error.message)", source: k))
            }
        }
        let files: [String]
        do {
            files = try ModuleTree.collect([dir])
        } catch {
            add(Finding(.signing, "signing.tree", .warn, "could not list \(dir): \(error.message)", source: dir))
            return
        }
        let ring = Keyring(certs)
        moduleFiles = ModuleTree.map(files) { Self.verdict(ring.verify(file: $0)) }
        var counts = [ModuleVerdict: Int]()
        for m in moduleFiles { counts[m.verdict, default: 0] += 1 }
        let summary = ModuleVerdict.allCases.compactMap { v in counts[v].map { "\($0) \(v.rawValue)" } }.joined(separator: ", ")
        let certNote = "against \(certs.count) trusted certificate(s)"
        let bad = moduleFiles.count - (counts[.signedTrusted] ?? 0)
        // The kernel refuses them when it enforces signatures, so they are then clutter,
        // not a risk.
        let severity: Severity = enforced || !canLoad ? .low : .high
        add(Finding(.signing, "signing.tree", bad == 0 ? .ok : .fail,
                    moduleFiles.isEmpty ? "no module files in \(dir)" : "\(moduleFiles.count) module file(s) \(certNote): \(summary)",
                    source: dir, severity: severity))
        for i in ["modules.dep", "modules.builtin"] where !InputFile.exists(dir + "/" + i) && !moduleFiles.isEmpty {
            add(Finding(.signing, "signing.index", .warn, "no \(i) in \(dir) (run depmod): kmod cannot resolve names or dependencies", source: dir + "/" + i))
        }
        // Indexes older than a module file, as `depmod -A` decides (depmod.c,
        // depfile_up_to_date): modprobe would not find what changed since.
        var dep = stat()
        if stat(dir + "/modules.dep", &dep) == 0 {
            let newer = files.filter { f in
                var st = stat()
                return stat(f, &st) == 0 && (st.st_mtim.tv_sec, st.st_mtim.tv_nsec) > (dep.st_mtim.tv_sec, dep.st_mtim.tv_nsec)
            }
            if let first = newer.first {
                add(Finding(.signing, "signing.index", .warn,
                            "modules.dep is older than \(newer.count) module file(s) (first \(first)): run depmod", source: dir + "/modules.dep"))
            }
        }
    }

    static func verdict(_ v: Verification) -> ModuleFileResult {
        var r = ModuleFileResult(path: v.path, verdict: .malformed, signer: v.signer, keyID: v.keyID, detail: v.detail)
        switch v.verdict {
        case .valid: r.verdict = .signedTrusted
        case .unknownKey: r.verdict = .unknownKey
        case .badSignature: r.verdict = .badSignature
        case .unsigned: r.verdict = isELF(v.path) ? .unsigned : .malformed
            if r.verdict == .malformed { r.detail = "not an ELF object: the kernel would refuse it (ENOEXEC)" }
        case .malformedTrailer: r.verdict = .malformed
        }
        return r
    }

    /// Whether the file, decompressed, starts with the ELF magic.
    static func isELF(_ path: String) -> Bool {
        guard let m = try? ModuleFile.read(path) else { return false }
        return m.bytes.starts(with: [0x7F, 0x45, 0x4C, 0x46])
    }

    // MARK: lockdown and LSMs

    mutating func readLockdown() {
        let security = path("/sys/kernel/security")
        let lockdownFile = security + "/lockdown"
        if !InputFile.exists(lockdownFile), sources.sys == "/sys", geteuid() == 0 {
            // securityfs is not mounted (a container, a minimal init): mount it to read.
            _ = mount("securityfs", security, "securityfs", 0, nil)
        }
        if let text = readIfPresent(lockdownFile) {
            let mode = text.split(separator: " ").first { $0.hasPrefix("[") }.map { String($0.dropFirst().dropLast()) } ?? "?"
            add(Finding(.lockdown, "lockdown.mode", mode == "none" ? .warn : .ok,
                        "lockdown: \(mode)" + (mode == "none" ? " (nothing stops root from changing the running kernel)" : ""),
                        source: lockdownFile))
        } else if !InputFile.exists(security + "/lsm") {
            add(Finding(.lockdown, "lockdown.mode", .warn, "could not read \(lockdownFile): securityfs is not mounted and could not be", source: lockdownFile))
        } else {
            add(Finding(.lockdown, "lockdown.mode", .warn, "no \(lockdownFile): the lockdown LSM is not active", source: lockdownFile))
        }
        if let lsm = readIfPresent(security + "/lsm") {
            add(Finding(.lockdown, "lockdown.lsm", .info, "active LSMs: \(lsm)", source: security + "/lsm"))
        }
        let enforce = path("/sys/fs/selinux/enforce")
        if let e = readIfPresent(enforce) {
            add(Finding(.lockdown, "lockdown.selinux", e == "1" ? .ok : .warn, "SELinux is \(e == "1" ? "enforcing" : "permissive")", source: enforce))
        } else {
            add(Finding(.lockdown, "lockdown.selinux", .info, "SELinux is not active (no \(enforce))", source: enforce))
        }
        let efi = path("/sys/firmware/efi")
        if InputFile.kind(efi).isDirectory {
            let sb = efi + "/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e0c90dab9c0f"
            // efivarfs: four attribute bytes, then the variable: one byte, 1 when enabled.
            if let bytes = try? InputFile.readBytes(sb), bytes.count >= 5 {
                add(Finding(.lockdown, "lockdown.secureboot", bytes[4] == 1 ? .ok : .warn, "Secure Boot is \(bytes[4] == 1 ? "enabled" : "disabled")", source: sb))
            } else {
                add(Finding(.lockdown, "lockdown.secureboot", .warn, "booted by UEFI, but \(sb) cannot be read (efivarfs not mounted?)", source: sb))
            }
        } else {
            add(Finding(.lockdown, "lockdown.secureboot", .info, "not booted by UEFI (no \(efi)): no Secure Boot", source: efi))
        }
    }

    // MARK: the probes

    mutating func readProbes() {
        let btf = path("/sys/kernel/btf/vmlinux")
        var st = stat()
        if stat(btf, &st) == 0 {
            add(Finding(.probes, "probes.btf", .ok, "kernel BTF: \(btf) (\(Int(st.st_size) / 1024) KiB)", source: btf))
        } else {
            add(Finding(.probes, "probes.btf", .warn, "no \(btf): CO-RE probes cannot run (CONFIG_DEBUG_INFO_BTF)", source: btf))
        }
        let moduleBTF = InputFile.regularFiles(under: path("/sys/kernel/btf")).filter { !$0.hasSuffix("/vmlinux") }
        if !loaded.isEmpty {
            let missing = loaded.map(\.module.name).filter { n in !moduleBTF.contains { $0.hasSuffix("/" + n) } }
            add(Finding(.probes, "probes.module_btf", missing.isEmpty ? .ok : .info,
                        "\(moduleBTF.count) module BTF file(s)" + (missing.isEmpty ? "" : "; loaded without BTF: \(missing.prefix(8).joined(separator: ", "))"),
                        source: path("/sys/kernel/btf")))
        }
        BPFPreflight.ensureTracefs()
        let events = path("/sys/kernel/tracing/events")
        if InputFile.kind(events).isDirectory {
            let available = readIfPresent(path("/sys/kernel/tracing/available_events"))?.split(separator: "\n").count ?? 0
            add(Finding(.probes, "probes.tracefs", .ok, "tracefs: \(available) trace events", source: path("/sys/kernel/tracing/available_events")))
        } else {
            add(Finding(.probes, "probes.tracefs", .warn, "no tracefs at \(path("/sys/kernel/tracing")) (CONFIG_TRACING)", source: path("/sys/kernel/tracing")))
        }
        let jit = path("/proc/sys/net/core/bpf_jit_enable")
        if let j = readIfPresent(jit) {
            add(Finding(.probes, "probes.jit", j == "0" ? .warn : .ok, j == "0" ? "the BPF JIT is off: programs are interpreted" : "the BPF JIT is on (bpf_jit_enable \(j))", source: jit))
        } else {
            add(Finding(.probes, "probes.jit", .warn, "no \(jit): the kernel has no BPF JIT", source: jit))
        }
        let unpriv = path("/proc/sys/kernel/unprivileged_bpf_disabled")
        if let u = readIfPresent(unpriv) {
            let text = switch u {
            case "0": "unprivileged BPF is allowed"
            case "1": "unprivileged BPF is disabled (until reboot)"
            case "2": "unprivileged BPF is disabled (root can change it)"
            default: "unprivileged_bpf_disabled is \(u)"
            }
            add(Finding(.probes, "probes.unprivileged_bpf", u == "0" ? .warn : .ok, text, source: unpriv))
        }
        probes = ProbeAvailability.onThisSystem()
        for p in probes {
            add(Finding(.probes, "probes.\(p.probe)", p.canRun ? .ok : .info,
                        p.canRun ? "\(p.probe): runs (\(p.attach!)\(p.limitation.map { "; \($0)" } ?? ""))" : "\(p.probe): cannot run: " + Self.shortened(p.reasons)))
        }
    }

    // MARK: Hyper-V and confidential VMs

    mutating func readHyperV() {
        let vmbus = path("/sys/bus/vmbus/devices")
        if InputFile.kind(vmbus).isDirectory {
            let devices = VMBus.devices(sysfs: sources.sys)
            let kinds = Dictionary(grouping: devices, by: { $0.kind }).map { "\($0.value.count) \($0.key)" }.sorted()
            add(Finding(.hyperv, "hyperv.vmbus", .info, "Hyper-V guest: \(devices.count) VMBus device(s): \(kinds.joined(separator: ", "))", source: vmbus))
            // A device no driver took: which module would (its class's modalias, as
            // modprobe resolves it), so that an operator knows what to load.
            if let kmod = try? KmodContext(directory: sources.modulesDirectory) {
                for d in devices where d.driver == nil {
                    let alias = VMBus.modalias(classID: d.classID)
                    let serving = alias.map { kmod.lookup(alias: $0) } ?? []
                    add(Finding(.hyperv, "hyperv.unbound.\(d.instance)", .warn,
                                "VMBus device \(d.instance) (\(d.kind)) has no driver" + (serving.isEmpty ? "" : "; \(alias!) is served by \(serving.joined(separator: ", "))"),
                                source: vmbus + "/" + d.instance))
                }
            }
        } else {
            add(Finding(.hyperv, "hyperv.vmbus", .info, "not a Hyper-V guest (no \(vmbus))", source: vmbus))
        }
        // The Hyper-V drivers, as kmod finds them: loaded, built in, in the modules tree.
        if let kmod = try? KmodContext(directory: sources.modulesDirectory) {
            let drivers = ["hv_vmbus", "hv_storvsc", "hv_netvsc", "hv_utils", "hv_balloon", "hv_sock", "pci_hyperv",
                           "hid_hyperv", "hyperv_keyboard", "hyperv_drm"]
            let states = drivers.map { ($0, kmod.state(of: $0)) }.filter { $0.1 != "absent" }
            if !states.isEmpty {
                add(Finding(.hyperv, "hyperv.modules", .info,
                            "Hyper-V drivers: " + states.map { "\($0.0) \($0.1)" }.joined(separator: ", "),
                            source: sources.modulesDirectory))
            }
        }
        // Accelerated networking: a netvsc interface with a VF enslaved to it.
        let net = path("/sys/class/net")
        for iface in InputFile.entries(net).sorted() {
            let driver = Self.linkName(net + "/" + iface + "/device/driver")
            guard driver == "hv_netvsc" else { continue }
            let vfs = InputFile.entries(net + "/" + iface).filter { $0.hasPrefix("lower_") }.map { String($0.dropFirst(6)) }
            add(Finding(.hyperv, "hyperv.accelnet.\(iface)", .info,
                        vfs.isEmpty ? "\(iface): synthetic only (no VF: accelerated networking off)" : "\(iface): accelerated networking through \(vfs.joined(separator: ", "))",
                        source: net + "/" + iface))
        }
        // Confidential VMs: what the guest kernel exposes of SEV-SNP and TDX.
        let cpuinfo = path("/proc/cpuinfo")
        var flags = Set<Substring>()
        if let text = readIfPresent(cpuinfo), let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) {
            flags = Set(line.split(separator: " "))
        }
        var cvm = [String]()
        if flags.contains("tdx_guest") { cvm.append("Intel TDX guest (cpuinfo flag tdx_guest)") }
        if flags.contains("sev_snp") { cvm.append("AMD SEV-SNP (cpuinfo flag sev_snp)") } else if flags.contains("sev_es") { cvm.append("AMD SEV-ES") } else if flags.contains("sev") { cvm.append("AMD SEV") }
        for dev in ["/dev/sev-guest", "/dev/tdx_guest"] where InputFile.exists(dev) { cvm.append("attestation device \(dev)") }
        add(Finding(.hyperv, "hyperv.cvm", .info,
                    cvm.isEmpty ? "not a confidential VM (no tdx_guest or sev flags in cpuinfo, no sev-guest or tdx_guest device)" : "confidential VM: " + cvm.joined(separator: "; "),
                    source: cpuinfo))
    }

    /// The first reasons, and how many more (the JSON's probes list has them all).
    static func shortened(_ reasons: [String]) -> String {
        func cut(_ r: String) -> String {
            guard r.count > 110 else { return r }
            var out = ""
            for part in r.split(separator: ",") {
                if !out.isEmpty && out.count + part.count > 110 { return out + ", …" }
                out += (out.isEmpty ? "" : ",") + part
            }
            return out
        }
        return reasons.prefix(2).map(cut).joined(separator: "; ") + (reasons.count > 2 ? "; and \(reasons.count - 2) more (probe list)" : "")
    }

    static func linkName(_ path: String) -> String? {
        InputFile.linkTarget(path)?.split(separator: "/").last.map(String.init)
    }
}
