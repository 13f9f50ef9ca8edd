import KconfigKit
import KernelKitCore

/// Cross-checks a signing setup against a kernel's .config: the digest must be the one
/// CONFIG_MODULE_SIG_HASH names and the key the type MODULE_SIG_KEY_TYPE_* selects
/// (certs/Kconfig); the enforcement settings are reported.
public struct SigningPolicyCheck: Sendable {
    public struct Finding: Sendable {
        public var option: String
        public var ok: Bool
        public var message: String
        public var location: SourceLocation?
    }

    public var findings: [Finding] = []
    public var passed: Bool { findings.allSatisfy(\.ok) }

    public init(config: ConfigFile, hash: HashAlgorithm?, keyType: X509Certificate.KeyType?) {
        func on(_ name: String) -> Bool { config.value(of: name)?.tristate == .yes }
        func loc(_ name: String) -> SourceLocation? { config[name]?.location }
        let sig = on("MODULE_SIG")
        findings.append(Finding(option: "MODULE_SIG", ok: sig,
                                message: sig ? "module signature checking is built in" : "the kernel does not check module signatures",
                                location: loc("MODULE_SIG")))
        if let hash {
            if case .string(let want)? = config.value(of: "MODULE_SIG_HASH") {
                findings.append(Finding(option: "MODULE_SIG_HASH", ok: want == hash.rawValue,
                                        message: want == hash.rawValue ? "signing with \(want), as the kernel is configured"
                                            : "signing with \(hash.rawValue), but the kernel is configured for \(want)",
                                        location: loc("MODULE_SIG_HASH")))
            } else {
                findings.append(Finding(option: "MODULE_SIG_HASH", ok: false,
                                        message: "the config has no MODULE_SIG_HASH", location: nil))
            }
        }
        if let keyType {
            // The choice in certs/Kconfig (7.x adds the ML-DSA members).
            let choices = [("MODULE_SIG_KEY_TYPE_RSA", "RSA"), ("MODULE_SIG_KEY_TYPE_ECDSA", "ECDSA"),
                           ("MODULE_SIG_KEY_TYPE_MLDSA_44", "ML-DSA-44"), ("MODULE_SIG_KEY_TYPE_MLDSA_65", "ML-DSA-65"),
                           ("MODULE_SIG_KEY_TYPE_MLDSA_87", "ML-DSA-87")]
            let chosen = choices.first { on($0.0) }
            let configured = chosen?.1
            let given = switch keyType {
            case .rsa: "RSA"
            case .ecdsaP256, .ecdsaP384: "ECDSA"
            case .mldsa65: "ML-DSA-65"
            case .mldsa87: "ML-DSA-87"
            case .other: keyType.rawValue
            }
            let option = chosen?.0 ?? "MODULE_SIG_KEY_TYPE_RSA"
            findings.append(Finding(option: option, ok: configured == given,
                                    message: configured == given ? "the key is \(given), as the kernel's build key type"
                                        : "the key is \(given), but the kernel's build key type is \(configured ?? "not set")",
                                    location: loc(option)))
        }
        let force = on("MODULE_SIG_FORCE"), all = on("MODULE_SIG_ALL")
        findings.append(Finding(option: "MODULE_SIG_FORCE", ok: true,
                                message: force ? "unsigned or badly signed modules are refused"
                                    : "unsigned modules load and taint the kernel (module.sig_enforce=1 or lockdown refuses them)",
                                location: loc("MODULE_SIG_FORCE")))
        findings.append(Finding(option: "MODULE_SIG_ALL", ok: true,
                                message: all ? "modules_install signs every module" : "modules_install does not sign modules; sign them yourself",
                                location: loc("MODULE_SIG_ALL")))
    }
}
