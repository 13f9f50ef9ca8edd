import ArgumentParser
import KernelKitCore
import KernelProbes

struct ProbeCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check offline that every probe fits a kernel: its BTF, attach targets and CO-RE relocations.",
        discussion: """
        Loads nothing and needs no root. For each probe, its tracepoints and
        functions are looked up in the kernel's BTF and its CO-RE relocations are
        computed by libbpf's own code, as a load would compute them; the report says
        `ok` (and which way the probe would attach) or exactly what is missing: a
        tracepoint, a function, a type or a field.

        --btf takes a vmlinuz, a vmlinux ELF or raw BTF (/sys/kernel/btf/vmlinux).
        --module-btf takes a module (.ko, .ko.xz, .ko.zst, .ko.gz) or raw split BTF
        (/sys/kernel/btf/hv_vmbus), read over the kernel's BTF. Give the modules the
        probes watch: hv_vmbus, hv_storvsc, hv_netvsc (and scsi_mod for storvsc's
        fentry variant, where SCSI is a module).

        Exit status: 0 when every probe checked fits, 1 when one does not, 2 on bad
        input.

        Examples:
          m=/lib/modules/6.1.0-57-cloud-amd64/kernel/drivers
          kernelkit probe check --btf /boot/vmlinuz-6.1.0-57-cloud-amd64 \\
              --module-btf $m/hv/hv_vmbus.ko --module-btf $m/scsi/hv_storvsc.ko \\
              --module-btf $m/net/hyperv/hv_netvsc.ko
          kernelkit probe check --btf /sys/kernel/btf/vmlinux --format json
        """
    )
    @Option(help: ArgumentHelp("The target kernel: vmlinuz, vmlinux or raw BTF.", valueName: "IMAGE")) var btf: String
    @Option(name: .customLong("module-btf"), help: ArgumentHelp("A module of that kernel (repeatable).", valueName: "MODULE"))
    var moduleBTF: [String] = []
    @Option(help: ArgumentHelp("Only this probe (repeatable; see `kernelkit probe list`).", valueName: "NAME")) var probe: [String] = []
    @Option(help: "text or json.") var format: TextOrJSON = .text

    func validate() throws {
        for p in probe where ProbeCatalog.named(p) == nil {
            throw ValidationError("no probe '\(p)'; the probes are \(ProbeCatalog.all.map(\.name).joined(separator: ", "))")
        }
    }

    func run() throws {
        var allOK = true
        try Terminal.run {
            let kernel = try KernelBTF(image: btf, modules: moduleBTF)
            let probes = probe.isEmpty ? ProbeCatalog.all : probe.compactMap(ProbeCatalog.named)
            let report = ProbeCheckReport(kernel: kernel, results: try ProbeCompatibility.check(probes, against: kernel))
            Terminal.write(format == .json ? report.json.serialized() : report.text)
            allOK = report.allOK
        }
        if !allOK { throw ExitCode(1) }
    }
}

struct ProbeListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List every probe and whether it can run here; if not, exactly why.",
        discussion: """
        Checks, for each probe: root (or CAP_BPF and CAP_PERFMON), the kernel's BTF,
        the driver's module, the tracepoints, functions and CO-RE types against the
        running kernel's BTF (loaded modules included), and what lockdown forbids.

        Examples:
          kernelkit probe list
          kernelkit probe list --format json
        """
    )
    @Option(help: "text or json.") var format: TextOrJSON = .text

    func run() throws {
        let all = ProbeAvailability.onThisSystem()
        if format == .json {
            Terminal.write(JSONValue.object([
                ("schema", "kernelkit.probe-list/1"),
                ("probes", .array(all.map { a in
                    .object([("probe", .string(a.probe)), ("summary", .string(a.summary)), ("can_run", .bool(a.canRun)),
                             ("attach", a.attach.map { .string($0) } ?? .null),
                             ("limitation", a.limitation.map { .string($0) } ?? .null),
                             ("reasons", .array(a.reasons.map { .string($0) }))])
                })),
            ]).serialized())
            return
        }
        let width = all.map(\.probe.count).max() ?? 8
        var out = ""
        for a in all {
            out += a.probe.leftAligned(width) + "  "
            if let attach = a.attach {
                out += "can run (\(attach))" + (a.limitation.map { "; \($0)" } ?? "") + "\n"
            } else {
                out += "cannot run: " + a.reasons.joined(separator: "; ") + "\n"
            }
            out += "".leftAligned(width) + "  " + a.summary + "\n"
        }
        Terminal.write(out)
    }
}
