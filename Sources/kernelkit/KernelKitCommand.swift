import ArgumentParser
import KernelKitCore

@main
struct KernelKitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernelkit",
        abstract: "A toolkit for the Linux kernel: configs, hardening, module signing and eBPF probes.",
        discussion: """
        KernelKit works on kernel configs as the kernel's own tools do, byte for byte,
        and faster. It is tuned first for the 6.18 kernel for Hyper-V and Azure.

        Examples:
          kernelkit config diff old.config new.config
          kernelkit config diff --format json old.config new.config > diff.json
          kernelkit config merge -m base.config hyperv.fragment azure.fragment
          kernelkit config resolve --tree /usr/src/linux --arch x86_64 --olddefconfig .config -o new.config
          kernelkit config why --tree /usr/src/linux --arch x86_64 --config .config DRM_HYPERV --want y

        Each subcommand has its own --help with examples; docs/ has a page per command.
        """,
        version: KernelKitVersion.string,
        subcommands: [AuditCommand.self, ConfigCommand.self, HardenCommand.self, ModsignCommand.self, ProbeCommand.self]
    )
}

enum KernelKitVersion {
    static let string = "0.1.0"
}
