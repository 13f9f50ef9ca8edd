/// The files under `kconfigs/` that the binary carries (baselines, the 6.18 fragments and
/// manifest, the Azure Linux 4.0 base configs), by path relative to `kconfigs/`.
///
/// The contents are generated at build time from `kconfigs/` by the KconfigsEmbedPlugin
/// (Plugins/KconfigsEmbedPlugin), so there is no second copy of the data in git.
package enum EmbeddedKconfigs {
    package static let files: [String: String] = embeddedKconfigFiles
}
