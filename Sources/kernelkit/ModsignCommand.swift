import ArgumentParser
import Dispatch
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import KconfigKit
import KernelImageKit
import KernelKitCore
import ModuleSigning

struct ModsignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modsign",
        abstract: "Sign, verify, inspect and strip kernel module signatures, byte-identical to sign-file.",
        discussion: """
        Modules may be plain (.ko) or compressed (.ko.gz, .ko.xz, .ko.zst): the
        signature lies inside the compressed payload, and files are written back in
        their own compression. Every write is atomic (a temporary file, then a rename).

        Examples:
          kernelkit modsign keygen --out certs/
          kernelkit modsign sign --key certs/signing_key.pem \\
              --cert certs/signing_key.x509 /lib/modules/6.18.0
          kernelkit modsign verify \\
              --keyring /boot/vmlinuz-6.18.0 /lib/modules/6.18.0
          kernelkit modsign info --format modinfo hv_netvsc.ko.xz
          kernelkit modsign sign-file sha512 signing_key.pem signing_key.x509 \\
              hv_vmbus.ko
        """,
        subcommands: [ModsignKeygenCommand.self, ModsignSignCommand.self, ModsignSignFileCommand.self,
                      ModsignVerifyCommand.self, ModsignExtractCertsCommand.self, ModsignInfoCommand.self,
                      ModsignStripCommand.self, ModsignCheckConfigCommand.self]
    )
}

extension HashAlgorithm: ExpressibleByArgument {}
extension GeneratedKey.Algorithm: ExpressibleByArgument {}

/// A one-line progress display on standard error, only when it is a terminal.
final class Progress: Sendable {
    private let label: String
    private let enabled = isatty(2) == 1
    private let last = Mutex(0)

    init(_ label: String) { self.label = label }

    func update(_ done: Int, _ total: Int) {
        guard enabled else { return }
        last.withLock { last in
            // Redraw at most every 1% (and at the end), so printing never dominates.
            let step = max(1, total / 100)
            guard done == total || done - last >= step else { return }
            last = done
            let width = 30
            let filled = total == 0 ? width : done * width / total
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            Terminal.writeError("\r\(label) [\(bar)] \(done)/\(total)" + (done == total ? "\n" : ""))
        }
    }
}

struct ModsignKeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make a module signing key and certificate, as the kernel build does.",
        discussion: """
        Writes DIR/signing_key.pem (the private key, then the certificate; mode 0600)
        and DIR/signing_key.x509 (the certificate in DER), with the profile of the
        kernel's certs/default_x509.genkey: CA:FALSE (critical), keyUsage
        digitalSignature, subject and authority key ids, signed with SHA-512 (ML-DSA
        certificates are signed with ML-DSA itself, RFC 9881). Existing files are never
        overwritten.

        ml-dsa-65 and ml-dsa-87 are experimental: Linux 7.0 and later verify them
        (MODULE_SIG_KEY_TYPE_MLDSA_*); a 6.18 kernel does not.

        Examples:
          kernelkit modsign keygen --out certs/ --algo ecdsa-p384 \\
              --cn "Azure kernel signing key"
          kernelkit modsign keygen --out pq/ --algo ml-dsa-87
        """
    )
    @Option(help: "The directory to write signing_key.pem and signing_key.x509 into.") var out: String
    @Option(help: "rsa4096, ecdsa-p384, or (experimental, Linux 7.0+) ml-dsa-65 or ml-dsa-87.") var algo: GeneratedKey.Algorithm = .rsa4096
    @Option(help: "The certificate's common name.") var cn: String = GeneratedKey.defaultCommonName

    func run() throws {
        try Terminal.run {
            let key = try GeneratedKey(algorithm: algo, commonName: cn)
            let paths = try key.write(to: out)
            Terminal.write("wrote \(paths.pem) (private key and certificate, mode 0600)\nwrote \(paths.x509) (certificate, DER)\n")
        }
    }
}

struct ModsignSignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign modules in place, in parallel: files, directories, a whole /lib/modules tree.",
        discussion: """
        Each module's old signatures are replaced. The signature is what sign-file
        makes with the same key, certificate and hash, byte for byte. Writes are
        atomic, so an interrupted run leaves every module either as it was or fully
        signed; the temporary files a killed run leaves (.NAME.kernelkit-…) are
        removed by the next run over the same directories.

        Example:
          kernelkit modsign sign --key signing_key.pem --cert signing_key.x509 \\
              --hash sha512 /lib/modules/6.18.0
        """
    )
    @Option(help: "The private key (PEM; KBUILD_SIGN_PIN decrypts an encrypted one).") var key: String
    @Option(help: "The certificate (DER or PEM) the signatures name.") var cert: String
    @Option(help: "sha256, sha384 or sha512; sha1 and sha224 (weak) only when named.") var hash: HashAlgorithm = .sha512
    @Flag(name: .customShort("k"), help: "Name the signer by subject key id instead of issuer and serial.") var keyID = false
    @Argument(help: "Module files and directories.") var paths: [String]

    func run() throws {
        try Terminal.run {
            let signer = try ModuleSigner.load(key: key, certificate: cert, hash: hash, useKeyID: keyID, pin: ProcessInfo.processInfo.environment["KBUILD_SIGN_PIN"])
            let files = try ModuleTree.collect(paths)
            let stale = ModuleTree.removeAbandonedTemporaries(besides: files)
            if !stale.isEmpty {
                Terminal.error("removed \(stale.count) temporary file\(stale.count == 1 ? "" : "s") left by an interrupted run (e.g. \(stale[0]))")
            }
            let progress = Progress("signing")
            let start = DispatchTime.now()
            let errors = ModuleTree.map(files, progress: { progress.update($0, $1) }) { path -> String? in
                do {
                    try signer.sign(try ModuleFile.read(path)).write()
                    return nil
                } catch {
                    return "kernelkit: \(error)"
                }
            }.compactMap { $0 }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            for e in errors { Terminal.error(e) }
            Terminal.error("signed \(files.count - errors.count) of \(files.count) modules with \(hash.rawValue) in \(fixedPoint(seconds, decimals: 2)) s")
            if !errors.isEmpty { throw ExitCode(2) }
        }
    }
}

struct ModsignSignFileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign-file",
        abstract: "A drop-in for the kernel's scripts/sign-file: the same arguments, the same bytes.",
        discussion: """
        Usage as sign-file's:
          kernelkit modsign sign-file [-dpk] HASH KEY X509 MODULE [DEST]
          kernelkit modsign sign-file -s RAWSIG HASH X509 MODULE [DEST]

        -d writes only MODULE.p7s (the detached PKCS#7); -p writes it as well; -k names
        the signer by subject key id; -s appends a signature made elsewhere. Without
        DEST the module is signed in place. KBUILD_SIGN_PIN is the pass phrase of an
        encrypted key. Unlike sign-file, a signed module's old signature is replaced
        rather than kept under the new one, and compressed modules are handled.
        """
    )
    @Flag(name: .customShort("d"), help: "Only write MODULE.p7s.") var detachedOnly = false
    @Flag(name: .customShort("p"), help: "Also write MODULE.p7s.") var saveSignature = false
    @Flag(name: .customShort("k"), help: "Name the signer by subject key id.") var keyID = false
    @Flag(name: .customShort("s"), help: "The first argument is a raw PKCS#7 signature to append.") var rawSignature = false
    @Argument(help: "HASH KEY X509 MODULE [DEST], or with -s: RAWSIG HASH X509 MODULE [DEST].") var arguments: [String]

    func run() throws {
        try Terminal.run {
            try SignFile(detachedOnly: detachedOnly, saveSignature: saveSignature, useKeyID: keyID,
                         rawSignature: rawSignature, pin: ProcessInfo.processInfo.environment["KBUILD_SIGN_PIN"]).run(arguments)
        }
    }
}

struct ModsignVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify module signatures against certificates or a kernel image's built-in keyring.",
        discussion: """
        Each module gets a verdict: valid, bad-signature, unknown-key, unsigned or
        malformed-trailer, with its signer, key id and hash. The exit status is 0 only
        when every module is valid.

        Examples:
          kernelkit modsign verify --keyring /boot/vmlinuz-$(uname \\
              -r) /lib/modules/$(uname -r)
          kernelkit modsign verify --cert signing_key.x509 \\
              --format json hv_vmbus.ko
        """
    )
    @Option(help: "A trusted certificate file (DER, PEM or a bundle); repeatable.") var cert: [String] = []
    @Option(help: "A kernel image (vmlinuz, bzImage, Image.gz, vmlinux) whose built-in certificates to trust.") var keyring: String?
    @Option(help: "text or json.") var format: TextOrJSON = .text
    @Flag(help: "In text, list valid modules too (by default only the others).") var all = false
    @Argument(help: "Module files and directories.") var paths: [String]

    func run() throws {
        var failed = false
        try Terminal.run { failed = try verifyAll() }
        if failed { throw ExitCode(1) }
    }

    /// Prints the report; true when some module is not valid.
    private func verifyAll() throws -> Bool {
            guard keyring != nil || !cert.isEmpty else {
                throw KernelKitError(.usage, "give --cert FILE (repeatable) or --keyring IMAGE")
            }
            var certs = [X509Certificate]()
            for c in cert { certs += try X509Certificate.load(try InputFile.readBytes(c), file: c) }
            if let keyring { certs += try KernelImage.certificates(imageFile: keyring) }
            let ring = Keyring(certs)
            // A file named on the command line that is no module at all is bad input (exit
            // 2), not a module that fails to verify (exit 1).
            for p in paths where !InputFile.kind(p).isDirectory { _ = try ModuleFile.read(p) }
            let files = try ModuleTree.collect(paths)
            let progress = Progress("verifying")
            let onProgress: (@Sendable (Int, Int) -> Void)? = format == .text ? { @Sendable in progress.update($0, $1) } : nil
            let results: [Verification] = ModuleTree.map(files, progress: onProgress) { ring.verify(file: $0) }
            let report = VerificationReport(results)
            Terminal.write(format == .json ? report.json.serialized() : report.text(all: all, certificates: certs.count))
            return !report.allValid
    }
}

struct ModsignExtractCertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract-certs",
        abstract: "Extract the X.509 certificates built into a kernel image (its module signing keyring).",
        discussion: """
        Takes a vmlinuz/bzImage (payload compressed with gzip, xz, zstd, lz4, lzma or
        bzip2), an arm64 Image.gz or EFI zboot image, or a vmlinux, and writes each
        certificate as DIR/cert-N.der.

        Example:
          kernelkit modsign extract-certs /boot/vmlinuz-6.18.0 -o certs/
        """
    )
    @Argument(help: "The kernel image.") var image: String
    @Option(name: .shortAndLong, help: "The directory to write cert-N.der files into.") var output: String

    func run() throws {
        try Terminal.run {
            let certs = try KernelImage.certificates(imageFile: image)
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            for (i, c) in certs.enumerated() {
                let path = "\(output)/cert-\(i + 1).der"
                try AtomicFile.write(c.der, to: path)
                var line = "\(path): \(c.subjectCommonName ?? "(no CN)") [\(c.keyType.rawValue)]"
                if let skid = c.subjectKeyIdentifier { line += " skid=\(hexColon(skid))" }
                Terminal.write(line + "\n")
            }
        }
    }
}

struct ModsignInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print a module's .modinfo and signature fields, as kmod's modinfo does.",
        discussion: """
        --format modinfo prints every field kmod's modinfo prints, in its order and
        byte for byte (read through libkmod): filename, the .modinfo fields, the
        signature fields (sig_id, signer, sig_key, sig_hashalgo, signature), then parm
        lines. --format json gives the signature fields (schema in docs/modsign.md; an
        unsigned module has "signature": null). A file that is not a kernel module is
        an error (exit 2). .ko, .ko.xz, .ko.zst and .ko.gz are read.

        Examples:
          kernelkit modsign info hv_netvsc.ko.xz
          kernelkit modsign info --format json /lib/modules/$(uname \\
              -r)/kernel/drivers/hv/hv_vmbus.ko.xz
        """
    )
    @Option(help: "modinfo or json.") var format: ModinfoFormat = .modinfo
    @Argument(help: "Module files.") var modules: [String]

    func run() throws {
        try Terminal.run {
            var report = SignatureInfoReport()
            let kmod = try KmodContext()
            for path in modules {
                let module = try ModuleFile.read(path)
                // Our own reading first: a file that is not a module gets its located error.
                let info = try SignatureInfo(module: module)
                if format == .modinfo {
                    Terminal.write(ModinfoText.render(filename: InputFile.absolutePath(path), fields: try kmod.info(path: path)))
                } else {
                    report.add(module, info)
                }
            }
            if format == .json { Terminal.write(report.json.serialized()) }
        }
    }
}

struct ModsignStripCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strip",
        abstract: "Remove every appended signature, restoring the exact unsigned module.",
        discussion: """
        In place and atomically, or to -o OUT for a single module.

        Example:
          kernelkit modsign strip hv_vmbus.ko.zst
        """
    )
    @Option(name: .shortAndLong, help: "Write the stripped module here (one module only).") var output: String?
    @Argument(help: "Module files.") var modules: [String]

    func run() throws {
        try Terminal.run {
            if output != nil && modules.count != 1 { throw KernelKitError(.usage, "-o takes exactly one module") }
            for path in modules {
                try ModuleFile.read(path).stripped().write(to: output)
            }
        }
    }
}

struct ModsignCheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a signing key and hash against a kernel .config's module signing settings.",
        discussion: """
        The hash must be CONFIG_MODULE_SIG_HASH and the key the type that
        MODULE_SIG_KEY_TYPE_RSA/ECDSA selects; MODULE_SIG_FORCE and MODULE_SIG_ALL are
        reported. Exits 1 when something does not match.

        Example:
          kernelkit modsign check-config --config /boot/config-6.18.0 \\
              --cert signing_key.x509 --hash sha512
        """
    )
    @Option(help: "The kernel .config.") var config: String
    @Option(help: "The signing certificate.") var cert: String?
    @Option(help: "The digest you sign with.") var hash: HashAlgorithm?

    func run() throws {
        var failed = false
        try Terminal.run {
            let file = try ConfigFile(contentsOf: config)
            let keyType = try cert.map { try X509Certificate.load(try InputFile.readBytes($0), file: $0)[0].keyType }
            let check = SigningPolicyCheck(config: file, hash: hash, keyType: keyType)
            for f in check.findings {
                let place = f.location.map { "\($0): " } ?? "\(config): "
                Terminal.write("\(place)\(f.ok ? "ok" : "MISMATCH") \(f.option): \(f.message)\n")
            }
            failed = !check.passed
        }
        if failed { throw ExitCode(1) }
    }
}
