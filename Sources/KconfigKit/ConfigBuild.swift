import KernelKitCore

/// A kernel config defined as a base config plus ordered fragments, per arch and flavour
/// (kconfigs/6.18/manifest.toml), and building it.
public struct ConfigManifest: Sendable {
    public struct Flavour: Sendable {
        public var name: String
        public var description: String
        public var arch: Arch
        /// Paths relative to the manifest's directory.
        public var base: String
        public var fragments: [String]
        public var location: SourceLocation
    }

    public var flavours: [Flavour]

    public static func load(text: String, file: String) throws(KernelKitError) -> ConfigManifest {
        let doc = try TOML.parse(Array(text.utf8), file: file)
        func bad(_ line: Int, _ message: String) -> KernelKitError {
            KernelKitError(.malformedLine, message, at: SourceLocation(file: file, line: line))
        }
        var out = [Flavour]()
        for item in doc["flavour"]?.array ?? [] {
            guard let t = item.table else { throw bad(item.line, "flavour must be [[flavour]] tables") }
            func str(_ key: String) throws(KernelKitError) -> String {
                guard let v = t[key] else { throw bad(t.line, "[[flavour]] needs '\(key)'") }
                guard let s = v.string else { throw bad(v.line, "'\(key)' must be a string") }
                return s
            }
            guard let f = t["fragments"], let list = f.array else { throw bad(t.line, "[[flavour]] needs 'fragments' (an array)") }
            var fragments = [String]()
            for v in list {
                guard let s = v.string else { throw bad(v.line, "fragments are paths (strings)") }
                fragments.append(s)
            }
            let archName = try str("arch")
            guard let arch = Arch(normalizing: archName) else {
                throw bad(t["arch"]?.line ?? t.line, "unknown arch '\(archName)' (\(Arch.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            out.append(Flavour(name: try str("name"), description: (try? str("description")) ?? "", arch: arch,
                               base: try str("base"), fragments: fragments, location: SourceLocation(file: file, line: t.line)))
        }
        if out.isEmpty { throw bad(1, "the manifest has no [[flavour]]") }
        return ConfigManifest(flavours: out)
    }

    public func flavour(arch: Arch, name: String?) throws(KernelKitError) -> Flavour {
        let forArch = flavours.filter { $0.arch == arch }
        if forArch.isEmpty {
            throw KernelKitError(.usage, "no flavour for arch '\(arch)' (arches: \(Set(flavours.map(\.arch.rawValue)).sorted().joined(separator: ", ")))")
        }
        guard let name else { return forArch[0] }
        guard let f = forArch.first(where: { $0.name == name }) else {
            throw KernelKitError(.usage, "no flavour '\(name)' for \(arch) (flavours: \(forArch.map(\.name).joined(separator: ", ")))")
        }
        return f
    }
}

/// One option line of a fragment with the comment above it.
public struct FragmentEntry: Sendable {
    public var name: String
    /// The value as a .config writes it (`y`, `n` for "is not set", `"text"`, `0x10`).
    public var value: String
    /// The comment lines right above it, without `# `.
    public var comments: [String]
    public var location: SourceLocation
    public var fragment: String

    /// The one-line reason: the first comment line that is not the override marker.
    public var reason: String? { comments.first { !$0.hasPrefix("override:") } }
    /// Marked as a deliberate change of a value an earlier fragment sets.
    public var isOverride: Bool { comments.contains { $0.hasPrefix("override:") } }

    /// The entries of a fragment, with the comments directly above each.
    public static func parse(_ bytes: [UInt8], path: String) throws(KernelKitError) -> [FragmentEntry] {
        let file = try ConfigFile(bytes: bytes, path: path, prefix: "CONFIG_")
        var out = [FragmentEntry]()
        var comments = [String]()
        for (n, raw) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            if let entry = file.entries.first(where: { $0.location.line == n + 1 }) {
                out.append(FragmentEntry(name: entry.name, value: entry.value.configText, comments: comments,
                                         location: entry.location, fragment: path))
                comments = []
            } else if line.hasPrefix("#") {
                comments.append(String(line.drop { $0 == "#" || $0 == " " }))
            } else {
                comments = []
            }
        }
        return out
    }
}

/// Merges a flavour's fragments onto its base, as `merge_config.sh -m` does.
public struct ConfigBuild: Sendable {
    public var flavour: ConfigManifest.Flavour
    /// The merged .config text.
    public var config: [UInt8]
    /// Every option the fragments set, in merge order (later wins).
    public var requests: [FragmentEntry]
    public var basePath: String

    /// - Parameter read: reads a path relative to the manifest's directory.
    public init(flavour: ConfigManifest.Flavour, read: (String) throws(KernelKitError) -> [UInt8]) throws(KernelKitError) {
        self.flavour = flavour
        basePath = flavour.base
        let base = MergeConfig.Input(path: flavour.base, bytes: try read(flavour.base))
        var fragments = [MergeConfig.Input]()
        var requests = [FragmentEntry]()
        for f in flavour.fragments {
            let bytes = try read(f)
            requests += try FragmentEntry.parse(bytes, path: f)
            fragments.append(MergeConfig.Input(path: f, bytes: bytes))
        }
        self.requests = requests
        config = MergeConfig(options: MergeConfig.Options(quiet: true), prefix: "CONFIG_").merge(base: base, fragments: fragments).config
    }

    /// The final request for each symbol (the last fragment to set it wins).
    public var finalRequests: [FragmentEntry] {
        var seen = Set<String>()
        return requests.reversed().filter { seen.insert($0.name).inserted }.reversed()
    }
}
