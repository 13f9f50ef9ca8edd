import HardeningKit
import KconfigKit
import KernelKitCore

/// `kernelkit audit`: the bundled 6.18 kernel for an arch, checked against baselines, with
/// the module-signing settings and the probes' needs called out.
public struct Audit: Sendable {
    public var build: ConfigBuild
    public var check: HardeningCheck

    /// The tags of the azure-hyperv-6.18 rules, as report sections.
    public static let sections: [(tag: String, title: String)] = [
        ("signing", "Module signing"), ("observability", "What the probes need"), ("lockdown", "Lockdown"),
        ("hyperv", "Hyper-V guest"), ("confidential-vm", "Confidential VMs"),
    ]

    public init(arch: Arch, flavour: String?, baselines: [Baseline], waivers: [Waiver], today: String,
                directory: String? = nil) throws(KernelKitError) {
        build = try BundledKernel.build(arch: arch, flavour: flavour, directory: directory)
        let config = try ConfigFile(bytes: build.config, path: "kconfigs/6.18 (\(build.flavour.name), \(arch))", prefix: "CONFIG_")
        let state = SystemState(config: config, arch: arch, version: KernelVersion(6, 18))
        check = try HardeningCheck(baselines: baselines, state: state, waivers: waivers, today: today)
    }

    public func text(failOn: Severity, color: Bool) -> String {
        func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
        let failing = check.failures(atOrAbove: failOn)
        var out = paint(failing.isEmpty ? "AUDIT PASS" : "AUDIT FAIL", failing.isEmpty ? "1;32" : "1;31")
        out += ": Linux 6.18 for Hyper-V/Azure, \(build.flavour.name) flavour, \(check.state.arch?.rawValue ?? "?")"
        out += " — \(check.verdict(failOn: failOn))\n"
        out += "built from \(build.flavour.base.split(separator: "/").last ?? "") + \(build.flavour.fragments.count) fragments "
        out += "(\(build.finalRequests.count) options set) — kernelkit config build --arch \(check.state.arch?.rawValue ?? "") --flavour \(build.flavour.name)\n"
        out += "\n"
        for (tag, title) in Self.sections {
            let group = check.findings.filter { $0.rule.tags.contains(tag) && $0.status != .skipped }
            if group.isEmpty { continue }
            let bad = group.filter { $0.status == .fail }
            let mark = bad.isEmpty ? paint("ok  ", "32") : paint("FAIL", "31")
            out += "\(mark) \(title): \(group.count - bad.count)/\(group.count)"
            let names = group.map { $0.rule.kind == .kconfig ? "CONFIG_\($0.option)=\($0.actual ?? "n")" : "\($0.option)=\($0.actual ?? "absent")" }
            out += "  (" + names.prefix(6).joined(separator: ", ") + (names.count > 6 ? ", …" : "") + ")\n"
            for f in bad { out += "       \(f.rule.id): expected \(f.rule.expected), is \(f.actual ?? "absent")\n" }
        }
        // The full findings, without the check's own verdict line (given above).
        out += "\n" + check.text(failOn: failOn, color: color).split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).last.map(String.init)!
        return out
    }

    public func json(failOn: Severity) -> JSONValue {
        guard case .object(var members) = check.json(failOn: failOn) else { return .null }
        members[0] = ("schema", "kernelkit.audit-report/1")
        members.insert(("build", .object([
            ("flavour", .string(build.flavour.name)), ("base", .string(build.flavour.base)),
            ("fragments", .array(build.flavour.fragments.map { .string($0) })),
            ("options_set", .int(build.finalRequests.count)),
        ])), at: 1)
        members.insert(("sections", .array(Self.sections.map { s in
            let group = check.findings.filter { $0.rule.tags.contains(s.tag) }
            return .object([("tag", .string(s.tag)), ("title", .string(s.title)), ("rules", .int(group.count)),
                            ("failing", .array(group.filter { $0.status == .fail }.map { .string($0.rule.id) }))])
        })), at: 2)
        return .object(members)
    }
}
