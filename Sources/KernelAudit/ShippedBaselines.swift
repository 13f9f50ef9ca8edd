import HardeningKit
import KernelKitCore
import KernelKitData

/// The baselines that ship with KernelKit (kconfigs/baselines/, embedded at build time),
/// and loading `--baseline NAME|FILE`. They are data handed to HardeningKit's policy
/// engine, which knows no particular baseline.
public enum ShippedBaselines {
    /// Names users pass to --baseline, in the order `harden list` shows them.
    public static let names = ["kspp", "khc", "kernel-hardening", "azure-hyperv-6.18", "azure-linux"]

    static func file(for name: String) -> (path: String, text: String)? {
        let path = name == "azure-linux" ? "azure-linux/azl3-os-required-kernel-configs.json" : "\(name).toml"
        return EmbeddedKconfigs.files["baselines/" + path].map { ("kconfigs/baselines/\(path)", $0) }
    }

    /// A shipped baseline by name.
    public static func named(_ name: String) throws(KernelKitError) -> Baseline {
        guard let f = file(for: name) else {
            throw KernelKitError(.usage, "no shipped baseline '\(name)' (shipped: \(names.joined(separator: ", ")))")
        }
        if f.path.hasSuffix(".json") {
            var b = try AzureLinuxPolicy.load(bytes: Array(f.text.utf8), file: f.path)
            b.name = "azure-linux"
            for i in b.rules.indices { b.rules[i].baseline = "azure-linux" }
            return b
        }
        return try PolicyLoader.load(text: f.text, file: f.path)
    }

    /// `--baseline NAME|FILE`: a shipped name, a TOML policy file or an Azure Linux JSON policy.
    public static func load(_ nameOrFile: String) throws(KernelKitError) -> Baseline {
        if names.contains(nameOrFile) { return try named(nameOrFile) }
        if nameOrFile.hasSuffix(".json") { return try AzureLinuxPolicy.load(file: nameOrFile) }
        if !InputFile.exists(nameOrFile) && !nameOrFile.contains("/") && !nameOrFile.contains(".") {
            throw KernelKitError(.usage, "no shipped baseline '\(nameOrFile)' (shipped: \(names.joined(separator: ", "))) and no such file")
        }
        return try PolicyLoader.load(file: nameOrFile)
    }

    /// The default set for `harden check` without --baseline: the hardening baselines
    /// (the Azure Linux JSON policy is package-specific and is asked for by name).
    public static let defaultNames = ["kspp", "kernel-hardening", "azure-hyperv-6.18"]
}
