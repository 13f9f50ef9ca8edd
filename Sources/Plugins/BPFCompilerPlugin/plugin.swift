import Foundation
import PackagePlugin

/// Compiles a target's `.bpf.c` files with the toolchain's own clang (`-target bpf -O2
/// -g`) and turns each object into Swift source holding it, so that the objects live
/// inside the module and an installed `kernelkit` binary is self-contained.
///
/// The programs include the shared `probes.h` (the CBPFProbes target) and the target's
/// own `BPF/` headers; CO-RE relocations are resolved against the running kernel's BTF
/// when the program is loaded, never against the build host's.
@main
struct BPFCompilerPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard target is SourceModuleTarget else { return [] }
        let clang = try context.tool(named: "clang")
        let embed = try context.tool(named: "bpf-embed")
        let shared = context.package.directoryURL.appending(path: "Sources/CBPFProbes/include")
        // The BPF sources sit in the target's BPF/ directory, excluded from the Swift
        // sources (a Swift target cannot hold C), and read from there.
        let local = target.directoryURL.appending(path: "BPF")
        let files = (try? FileManager.default.contentsOfDirectory(at: local, includingPropertiesForKeys: nil)) ?? []
        let headers = files.filter { $0.pathExtension == "h" } + [shared.appending(path: "probes.h")]
        // bpf_tracing.h's kprobe macros need the target kernel's arch, which is the build's.
        #if arch(arm64)
        let targetArch = "-D__TARGET_ARCH_arm64"
        #else
        let targetArch = "-D__TARGET_ARCH_x86"
        #endif
        var commands = [Command]()
        for file in files.sorted(by: { $0.path < $1.path }) where file.lastPathComponent.hasSuffix(".bpf.c") {
            let name = file.lastPathComponent.replacingOccurrences(of: ".bpf.c", with: "")
            let object = context.pluginWorkDirectoryURL.appending(path: "\(name).bpf.o")
            let swift = context.pluginWorkDirectoryURL.appending(path: "BPFObject_\(name).swift")
            // One command, clang run by bpf-embed: a declared .o output would be taken for a
            // resource, and a resource bundle makes SwiftPM link Foundation into kernelkit.
            commands.append(.buildCommand(
                displayName: "Compiling and embedding BPF \(file.lastPathComponent)",
                executable: embed.url,
                arguments: ["--compile", clang.url.path(), object.path(), swift.path(), name, "--",
                            "-target", "bpf", "-O2", "-g", "-Wall", "-Werror", targetArch,
                            "-I", shared.path(), "-I", local.path(), "-c", file.path()],
                inputFiles: [file] + headers,
                outputFiles: [swift]))
        }
        return commands
    }
}
