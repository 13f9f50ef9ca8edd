import KconfigKit
import KernelKitCore
import KernelKitData

/// KernelKit's own 6.18 Hyper-V/Azure kernel: the manifest and fragments shipped in
/// kconfigs/6.18 (embedded), built and checked.
public enum BundledKernel {
    public static let manifestPath = "6.18/manifest.toml"

    /// Reads a kconfigs/ file: from `directory` when given (a checkout), else embedded.
    public static func reader(directory: String?) -> (String) throws(KernelKitError) -> [UInt8] {
        { (path: String) throws(KernelKitError) -> [UInt8] in
            if let directory { return try InputFile.readBytes(directory + "/" + path) }
            guard let text = EmbeddedKconfigs.files[path] else {
                throw KernelKitError(.fileNotFound, "not among the bundled kconfigs", at: SourceLocation(file: "kconfigs/" + path, line: 0))
            }
            return Array(text.utf8)
        }
    }

    public static func manifest(directory: String?) throws(KernelKitError) -> ConfigManifest {
        let bytes = try reader(directory: directory)(manifestPath)
        return try ConfigManifest.load(text: String(decoding: bytes, as: UTF8.self), file: "kconfigs/" + manifestPath)
    }

    /// Builds a flavour; fragment and base paths in the manifest are relative to its directory.
    public static func build(arch: Arch, flavour: String?, directory: String?) throws(KernelKitError) -> ConfigBuild {
        let m = try manifest(directory: directory)
        let f = try m.flavour(arch: arch, name: flavour)
        let read = reader(directory: directory)
        return try ConfigBuild(flavour: f) { (path: String) throws(KernelKitError) -> [UInt8] in
            try read(normalize("6.18/" + path))
        }
    }

    /// `6.18/../azure-linux/x` → `azure-linux/x`.
    static func normalize(_ path: String) -> String {
        var parts = [Substring]()
        for p in path.split(separator: "/") {
            if p == ".." { if !parts.isEmpty { parts.removeLast() } } else if p != "." { parts.append(p) }
        }
        return parts.joined(separator: "/")
    }
}


/// A bundled flavour resolved through a kernel tree's Kconfig (`config build --tree`):
/// the .config olddefconfig writes, and every requested value the tree did not keep.
public struct BundledKernelResolution: Sendable {
    /// The resolved .config.
    public var config: [UInt8]
    /// Requested symbols the tree does not have at all.
    public var unknown: [DroppedRequest]
    /// Requested symbols the tree has but resolved to another value, each with its fragment line.
    public var lost: [(request: DroppedRequest, entry: FragmentEntry)]
    /// How many requests there were, and how many the tree kept.
    public var requested: Int
    public var kept: Int

    /// Resolves `build` through `srctree` for `arch` (olddefconfig), in memory: the
    /// merged config never touches the disk.
    public init(_ build: ConfigBuild, srctree: String, arch: Arch) throws(KernelKitError) {
        let resolver = KconfigResolver(srctree: srctree, arch: arch.makeArch)
        let name = "kconfigs/6.18 (\(build.flavour.name), \(arch))"
        config = Array(try resolver.resolve(.olddefconfig(.bytes(build.config, name: name))).config.utf8)
        let requests = build.finalRequests.map { (name: $0.name, value: ConfigValue.unquote($0.value)) }
        let dropped = try resolver.loadTree().droppedRequests(configBytes: build.config, configName: name, requests: requests)
        unknown = dropped.filter { !$0.exists }
        lost = []
        for d in dropped where d.exists {
            if let entry = build.finalRequests.first(where: { $0.name == d.name }) { lost.append((d, entry)) }
        }
        requested = build.finalRequests.count
        kept = requested - dropped.count
    }
}
