import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// Whether each probe can run on this system now, and if not, every reason why: the
/// privilege, the kernel's BTF, the driver's module, the attach targets and CO-RE types
/// (``ProbeCompatibility`` against the running kernel's BTF, the loaded modules'
/// included), and lockdown for the attach types it forbids.
public struct ProbeAvailability: Sendable {
    public let probe: String
    public let summary: String
    /// The variant a run would use; nil when none can run.
    public let attach: String?
    public let limitation: String?
    public let reasons: [String]
    public var canRun: Bool { attach != nil }

    /// What this process and kernel allow.
    public struct System: Sendable {
        public var privileged: Bool
        public var hasBTF: Bool
        /// /sys/kernel/security/lockdown's selected mode: none, integrity, confidentiality.
        public var lockdown: String
        /// Modules loaded or built in (/sys/module, /sys/kernel/btf).
        public var modules: Set<String>
        public var hyperVGuest: Bool
        /// kprobes can be attached (CONFIG_KPROBE_EVENTS: tracefs has kprobe_events).
        public var kprobes: Bool = true

        public static func current() -> System {
            let privileged = geteuid() == 0 || (BPFPreflight.hasCapability(39) && BPFPreflight.hasCapability(38))
            if access("/sys/kernel/security/lockdown", F_OK) != 0, geteuid() == 0 {
                _ = mount("securityfs", "/sys/kernel/security", "securityfs", 0, nil)
            }
            var lockdown = "none"
            if let bytes = try? InputFile.readBytes("/sys/kernel/security/lockdown") {
                let text = String(decoding: bytes, as: UTF8.self)
                if let open = text.firstIndex(of: "["), let close = text.firstIndex(of: "]"), open < close {
                    lockdown = String(text[text.index(after: open)..<close])
                }
            }
            var modules = Set<String>()
            for dir in ["/sys/module", "/sys/kernel/btf"] { modules.formUnion(InputFile.entries(dir)) }
            BPFPreflight.ensureTracefs()
            return System(privileged: privileged, hasBTF: access("/sys/kernel/btf/vmlinux", R_OK) == 0, lockdown: lockdown,
                          modules: modules, hyperVGuest: access("/sys/bus/vmbus", F_OK) == 0,
                          kprobes: access("/sys/kernel/tracing/kprobe_events", F_OK) == 0)
        }
    }

    /// Each probe on this system. The BTF part needs only read access to /sys/kernel/btf.
    public static func onThisSystem(_ system: System = .current()) -> [ProbeAvailability] {
        var compat: [ProbeCompatibility]?
        var btfError: String?
        if system.hasBTF {
            do {
                let kernel = try KernelBTF.running()
                compat = try ProbeCompatibility.check(against: kernel)
            } catch {
                btfError = error.message
            }
        }
        return ProbeCatalog.all.map { probe in
            evaluate(probe, system: system, compatibility: compat?.first { $0.probe == probe.name }, btfError: btfError)
        }
    }

    static func evaluate(_ probe: ProbeDefinition, system: System, compatibility: ProbeCompatibility?, btfError: String?) -> ProbeAvailability {
        var reasons = [String]()
        if !system.privileged { reasons.append("not root (loading BPF needs root, or CAP_BPF and CAP_PERFMON)") }
        if !system.hasBTF { reasons.append("the kernel has no BTF (/sys/kernel/btf/vmlinux; CONFIG_DEBUG_INFO_BTF)") }
        if let btfError { reasons.append(btfError) }
        if let driver = probe.driver, !system.modules.contains(driver) {
            reasons.append("module \(driver) is not loaded" + (system.hyperVGuest ? "" : " (not a Hyper-V guest: no /sys/bus/vmbus)"))
        }
        var chosen: ProbeCompatibility.VariantResult?
        var variantReasons = [String]()
        for v in compatibility?.variants ?? [] {
            var why = v.missing.map { "\($0.kind.rawValue) \($0.name) missing" }
            if v.attach == "kprobe", !system.kprobes {
                why.append("the kernel has no kprobes (no kprobe_events in tracefs: CONFIG_KPROBE_EVENTS)")
            }
            if ["fentry", "kprobe"].contains(v.attach), system.lockdown != "none" {
                why.append("lockdown (\(system.lockdown)) forbids \(v.attach)")
            }
            if why.isEmpty {
                chosen = v
                break
            }
            variantReasons.append(compatibility!.variants.count > 1 ? "\(v.attach): " + why.joined(separator: ", ") : why.joined(separator: ", "))
        }
        if chosen == nil { reasons += variantReasons }
        let runs = reasons.isEmpty && chosen != nil
        return ProbeAvailability(probe: probe.name, summary: probe.summary, attach: runs ? chosen?.attach : nil,
                                 limitation: runs ? chosen?.limitation : nil, reasons: runs ? [] : reasons)
    }
}
