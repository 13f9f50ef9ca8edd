import ArgumentParser
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

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
          kernelkit config resolve --tree /usr/src/linux --arch x86_64 \\
              --olddefconfig .config -o new.config
          kernelkit config why --tree /usr/src/linux --arch x86_64 \\
              --config .config DRM_HYPERV --want y

        Each subcommand has its own --help with examples; docs/ has a page per command.
        """,
        version: KernelKitVersion.string,
        subcommands: [AuditCommand.self, BootCommand.self, ConfigCommand.self, ExporterHandover.self, HardenCommand.self, ModsignCommand.self,
                      ProbeCommand.self]
    )

    /// `config diff` is often run in loops and hooks, where the argument parser's start-up
    /// (reflection over every command, ~2.5 ms) would cost more than the diff itself; its
    /// plain spellings are recognised directly. Everything else goes through ArgumentParser.
    static func main() {
        if CommandLine.arguments.count > 1 && CommandLine.arguments[1] == "exporter" { ExporterHandover.exec() }
        if let diff = ConfigDiffCommand.fastPath(CommandLine.arguments.dropFirst()) {
            // The diff's large buffers (each file and its index, 130-300 KB) would each get
            // their own mmap from glibc and an munmap when freed, just before exit frees
            // everything anyway (5% of the run). mallopt(3): freeing an mmap'd block raises
            // the mmap threshold to its size, so one untouched 1 MiB block, allocated and
            // freed first, puts them all on the heap.
            UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 16).deallocate()
            do {
                Glibc.exit(try diff())
            } catch {
                Terminal.error("kernelkit: \(error)")
                Glibc.exit(2)
            }
        }
        // The config commands read Kconfig trees, whose parser and evaluator recurse as
        // deep as the files nest: they run on a thread with a large stack.
        if CommandLine.arguments.count > 1 && CommandLine.arguments[1] == "config" {
            PosixThread.onLargeStack { runCommand() }
        }
        runCommand()
    }

    private static func runCommand() -> Never {
        // ArgumentParser's own exit code for a usage error is 64 (EX_USAGE); KernelKit's
        // is 2 for every usage or input error (docs/errors.md), as the kernel's tools use.
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                exit(withError: ExitCode(2), message: fullMessage(for: error))
            }
            exit(withError: error)
        }
        Glibc.exit(0)
    }

    /// Prints `message` as ArgumentParser prints a usage error, then exits with `code`.
    private static func exit(withError code: ExitCode, message: String) -> Never {
        Terminal.error(message)
        Glibc.exit(code.rawValue)
    }
}

/// `kernelkit exporter …` runs the `kernelkit-exporter` binary beside this one, with the
/// same arguments: the exporter links Hummingbird and SwiftNIO, which the short
/// commands need not load. Listed here only so that `kernelkit --help` names it.
struct ExporterHandover: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exporter",
        abstract: "Serve the probes and the live audit as Prometheus metrics over HTTP (kernelkit exporter --help).")

    static func exec() -> Never {
        let me = CommandLine.arguments[0]
        var path = [UInt8](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &path, path.count - 1)
        let own = n > 0 ? String(decoding: path[0..<n], as: UTF8.self) : me
        let dir = own.lastIndex(of: "/").map { String(own[..<$0]) } ?? "."
        let target = dir + "/kernelkit-exporter"
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup(target)] + CommandLine.arguments.dropFirst(2).map { strdup($0) } + [nil]
        execv(target, &argv)
        Terminal.error("kernelkit: exporter: cannot run \(target): \(String(cString: strerror(errno))) "
                       + "(it is built with kernelkit: scripts/kernelkit, or swift build --product kernelkit-exporter)")
        Glibc.exit(2)
    }

    func run() throws { Self.exec() }
}

enum KernelKitVersion {
    static let string = "0.1.0"
}
