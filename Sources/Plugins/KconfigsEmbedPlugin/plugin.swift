import Foundation
import PackagePlugin

/// Generates the KernelKitData module's Swift source from `kconfigs/` at build time, so
/// the data lives once, in `kconfigs/`, and the `kernelkit` binary still carries what it
/// needs at run time (a copied binary has no repository beside it).
///
/// What is embedded: the hardening baselines and Azure Linux's JSON policy
/// (`baselines/`), the 6.18 fragments with their manifest (`6.18/`), and the two Azure
/// Linux 4.0 base configs they build on. Every file is declared as an input, so editing
/// one rebuilds the module. Raw string literals rather than SwiftPM resources: resources
/// need Foundation's `Bundle`, which the binary does not link.
@main
struct KconfigsEmbedPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL.appending(path: "kconfigs")
        var files = [String]()
        let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = walker?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let rel = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
            if rel.hasPrefix("baselines/") || rel.hasPrefix("6.18/")
                || rel == "azure-linux/azl4-6.18-x86_64.config" || rel == "azure-linux/azl4-6.18-aarch64.config" {
                files.append(rel)
            }
        }
        files.sort()
        let tool = try context.tool(named: "kconfigs-embed")
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedKconfigFiles.swift")
        return [.buildCommand(
            displayName: "Embedding \(files.count) kconfigs/ files",
            executable: tool.url,
            arguments: [output.path(), root.path()] + files,
            inputFiles: files.map { root.appending(path: $0) },
            outputFiles: [output])]
    }
}
