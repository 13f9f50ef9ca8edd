import HardeningKit
import KconfigKit
import KernelKitCore
import KernelProbes
import ModuleSigning
#if canImport(Glibc)
import Glibc
#endif

/// `kernelkit audit --live`: one verdict on the running system. It composes what the
/// area modules know: the running kernel's config, command line and sysctls against the
/// hardening baselines (HardeningKit); every module the kernel could load, verified
/// against the certificates the kernel trusts (ModuleSigning, with libkmod for the loaded
/// modules); lockdown and the LSMs; what the probes need (KernelProbes, the same answer
/// as `probe list`); Hyper-V and confidential-VM facts. Every finding names where it was
/// read; a source that cannot be read is a finding, never an error.
public struct LiveAudit: Sendable {
    /// Where the running system is read. The defaults are the live paths; tests point
    /// them elsewhere to see how missing or broken sources are reported.
    public struct Sources: Sendable {
        public var proc = "/proc"
        public var sys = "/sys"
        /// The kernel release (`uname -r`).
        public var release = LiveAudit.unameRelease()
        /// A config file; default /proc/config.gz, else /boot/config-RELEASE.
        public var config: String?
        /// The modules tree; default /lib/modules/RELEASE.
        public var modules: String?
        /// The kernel image whose built-in certificates are trusted; default
        /// /boot/vmlinuz-RELEASE.
        public var kernelImage: String?
        /// More certificate files (DER, PEM, bundles) or kernel images to trust.
        public var keyrings: [String] = []
        /// Check the probes' needs (loads nothing; reads BTF and tracefs).
        public var probes = true
        public init() {}

        var modulesDirectory: String { modules ?? "/lib/modules/\(release)" }
        var image: String { kernelImage ?? "/boot/vmlinuz-\(release)" }
    }

    public enum Section: String, Sendable, CaseIterable {
        case config, signing, lockdown, probes, hyperv
        public var title: String {
            switch self {
            case .config: "Kernel config"
            case .signing: "Module signing"
            case .lockdown: "Lockdown and LSMs"
            case .probes: "What the probes need"
            case .hyperv: "Hyper-V and confidential VM"
            }
        }
    }

    /// One thing found, and where.
    public struct Finding: Sendable {
        public enum Status: String, Sendable { case ok, info, warn, fail, waived }
        public var section: Section
        /// Stable, for waivers (`live.ID`) and SARIF: e.g. `signing.sig_enforce`.
        public var id: String
        public var status: Status
        public var severity: Severity
        public var message: String
        /// The path read, with a line where there is one.
        public var source: SourceLocation?
        public var note: String?

        public init(_ section: Section, _ id: String, _ status: Status, _ message: String, source: String? = nil,
                    line: Int = 0, severity: Severity = .medium) {
            self.section = section
            self.id = id
            self.status = status
            self.message = message
            self.source = source.map { SourceLocation(file: $0, line: line) }
            self.severity = severity
        }
    }

    /// A module file's verdict, in the four classes the kernel's module_sig_check()
    /// tells apart, and one for files it would not take as modules at all.
    public enum ModuleVerdict: String, Sendable, CaseIterable {
        case signedTrusted = "signed-trusted"
        case unknownKey = "unknown-key"
        case badSignature = "bad-signature"
        case unsigned
        case malformed
    }

    public struct ModuleFileResult: Sendable {
        public var path: String
        public var verdict: ModuleVerdict
        public var signer: String?
        public var keyID: [UInt8]?
        public var detail: String?
    }

    public struct Loaded: Sendable {
        public var module: LoadedModule
        /// /sys/module/NAME/taint: the module's own taint letters ("" when clean).
        public var taint: String?
    }

    public struct TaintFlag: Sendable {
        public var bit: Int
        public var letter: Character
        public var meaning: String
    }

    public var sources: Sources
    public var kernelVersion: String?
    public var arch: Arch?
    public var check: HardeningCheck?
    public var findings: [Finding] = []
    public var moduleFiles: [ModuleFileResult] = []
    public var loaded: [Loaded] = []
    /// /proc/sys/kernel/tainted, decoded.
    public var taint: (value: UInt64, flags: [TaintFlag])?
    public var probes: [ProbeAvailability] = []
    /// Certificates trusted, and from where.
    public var trusted: [(source: String, count: Int)] = []
    public var failOn: Severity

    /// Reads the running system and checks it. Throws only for what the user gave
    /// (a baseline or waiver that is wrong); everything read from the system becomes a
    /// finding.
    public init(baselines: [Baseline], waivers: [Waiver], today: String, failOn: Severity = .low,
                sources: Sources = Sources()) throws(KernelKitError) {
        self.sources = sources
        self.failOn = failOn
        let ruleWaivers = waivers.filter { !$0.rule.hasPrefix("live.") }
        let config = try readConfiguration(baselines: baselines, waivers: ruleWaivers, today: today)
        readSigning(config: config)
        readLockdown()
        if sources.probes { readProbes() }
        readHyperV()
        for w in waivers where w.rule.hasPrefix("live.") {
            let id = String(w.rule.dropFirst(5))
            guard let i = findings.firstIndex(where: { $0.id == id }) else {
                throw KernelKitError(.badPolicy, "the waiver names '\(w.rule)', which this audit did not find", at: w.location)
            }
            guard findings[i].status == .fail else { continue }
            if w.expires < today {
                findings[i].note = "waiver by \(w.owner) expired on \(w.expires) (\(w.location))"
            } else {
                findings[i].status = .waived
                findings[i].note = "waived by \(w.owner) until \(w.expires): \(w.reason)"
            }
        }
    }

    /// Failing findings at or above `failOn`: the hardening rules and the live findings.
    public var failing: (rules: [HardeningKit.Finding], live: [Finding]) {
        (check?.failures(atOrAbove: failOn) ?? [], findings.filter { $0.status == .fail && $0.severity >= failOn })
    }

    public var passed: Bool { failing.rules.isEmpty && failing.live.isEmpty }

    static func unameRelease() -> String {
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    // MARK: reading the system

    func path(_ p: String) -> String { p.hasPrefix("/proc/") ? sources.proc + p.dropFirst(5) : sources.sys + p.dropFirst(4) }

    /// A small text file, trimmed; the error message when it cannot be read.
    func read(_ p: String) -> Result<String, KernelKitError> {
        do {
            return .success(String(decoding: try InputFile.readBytes(p), as: UTF8.self).trimming(" \t\n"))
        } catch {
            return .failure(error)
        }
    }

    func readIfPresent(_ p: String) -> String? { try? read(p).get() }

    mutating func add(_ f: Finding) { findings.append(f) }

    /// The kernel config, command line and sysctls, checked against the baselines.
    mutating func readConfiguration(baselines: [Baseline], waivers: [Waiver], today: String) throws(KernelKitError) -> ConfigFile? {
        kernelVersion = readIfPresent(path("/proc/sys/kernel/osrelease")) ?? sources.release
        arch = Arch.host
        var candidates = [String]()
        if let c = sources.config { candidates = [c] } else { candidates = [path("/proc/config.gz"), "/boot/config-\(sources.release)"] }
        var config: ConfigFile?
        var reasons = [String]()
        for c in candidates {
            guard InputFile.exists(c) else {
                reasons.append("\(c): no such file")
                continue
            }
            do {
                config = try SystemState.readConfig(c)
                add(Finding(.config, "config.source", .info, "the running kernel's config", source: c))
                break
            } catch {
                reasons.append("\(c): \(error.message)")
                add(Finding(.config, "config.unreadable", .warn, "could not read \(c): \(error.message)", source: c))
            }
        }
        if config == nil {
            add(Finding(.config, "config.missing", .warn,
                        "no kernel config (\(reasons.joined(separator: "; "))): only the command line and sysctls are checked "
                        + "(CONFIG_IKCONFIG_PROC gives /proc/config.gz)", source: candidates[0]))
        }
        var cmdline: KernelCommandLine?
        switch read(path("/proc/cmdline")) {
        case .success(let text): cmdline = KernelCommandLine(text: text, file: path("/proc/cmdline"))
        case .failure(let e): add(Finding(.config, "config.cmdline", .warn, "could not read \(path("/proc/cmdline")): \(e.message)", source: path("/proc/cmdline")))
        }
        var sysctl = SysctlValues.live()
        sysctl.file = path("/proc/sys")
        let version = kernelVersion.flatMap { KernelVersion($0) }
        let state = SystemState(config: config, cmdline: cmdline, sysctl: InputFile.exists(path("/proc/sys/kernel")) ? sysctl : nil,
                                arch: arch, version: version)
        check = try HardeningCheck(baselines: baselines, state: state, waivers: waivers, today: today)
        return config
    }
}
