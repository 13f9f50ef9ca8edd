import BootKit
import HardeningKit
import KconfigKit
import KernelImageKit
import KernelKitCore
import KernelProbes
import ModuleSigning

/// One parser under the fuzzer: a thin call of the library entry that production code
/// uses on the same kind of input, errors ignored (a thrown error is a correct answer to
/// bad input; a crash, a hang or a sanitizer report is not).
struct FuzzTarget: Sendable {
    var name: String
    /// What the input is, for `--list` and docs/reliability.md. The seeds, real files of
    /// each kind, are scripts/fuzz.sh's (seed_NAME there).
    var summary: String
    var body: @Sendable ([UInt8]) -> Void
}

/// The name every error carries; nothing is read from or written to it.
private let file = "fuzz-input"

let fuzzTargets: [FuzzTarget] = [
    // MARK: configs and Kconfig
    FuzzTarget(name: "config", summary: ".config files and fragments (ConfigFile, FragmentEntry, diffconfig's reader)") { bytes in
        _ = try? ConfigFile(bytes: bytes, path: file)
        _ = try? FragmentEntry.parse(bytes, path: file)
        _ = Diffconfig.readconfig(bytes)
    },
    FuzzTarget(name: "kconfig", summary: "Kconfig files: lexer, preprocessor, parser, menu finalisation, checks, then a config resolved against them") { bytes in
        fuzzKconfig(bytes)
    },
    FuzzTarget(name: "manifest", summary: "the TOML config-build manifest (kconfigs/6.18/manifest.toml)") { bytes in
        _ = try? ConfigManifest.load(text: String(decoding: bytes, as: UTF8.self), file: file)
    },

    // MARK: policies and their inputs
    FuzzTarget(name: "toml", summary: "the TOML reader every policy, waiver and manifest goes through") { bytes in
        _ = try? TOML.parse(bytes, file: file)
    },
    FuzzTarget(name: "policy", summary: "TOML hardening baselines (combinators, gates, expectations)") { bytes in
        _ = try? PolicyLoader.load(text: String(decoding: bytes, as: UTF8.self), file: file)
    },
    FuzzTarget(name: "waivers", summary: "waiver files ([[waiver]] with validated dates)") { bytes in
        _ = try? WaiverFile.load(bytes: bytes, file: file)
    },
    FuzzTarget(name: "azl-policy", summary: "Azure Linux's required-config JSON policy") { bytes in
        _ = try? AzureLinuxPolicy.load(bytes: bytes, file: file)
    },
    FuzzTarget(name: "cmdline-sysctl", summary: "kernel command lines and sysctl dumps (harden check --cmdline/--sysctl)") { bytes in
        let text = String(decoding: bytes, as: UTF8.self)
        let cmdline = KernelCommandLine(text: text, file: file)
        for p in cmdline.parameters { _ = cmdline.value(of: p.name) }
        _ = try? SysctlValues(dump: text, file: file)
    },

    // MARK: reports read back
    FuzzTarget(name: "json", summary: "the JSON reader of every report read back, and what the writers make of it read back the same") { bytes in
        guard let value = try? JSONValue.parse(bytes, file: file) else { return }
        // json.dumps's style (khc-json) reads back as the very value written; ours too, but
        // for integral doubles, which it writes as integers. Non-finite doubles (an
        // overflowing literal) have no JSON spelling in either.
        func finite(_ v: JSONValue) -> Bool {
            switch v {
            case .double(let d): d.isFinite
            case .array(let items): items.allSatisfy(finite)
            case .object(let members): members.allSatisfy { finite($0.1) }
            default: true
            }
        }
        guard finite(value) else { return }
        let python = value.pythonSerialized()
        precondition(python.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "pythonSerialized() wrote a byte outside printable ASCII")
        precondition((try? JSONValue.parse(Array(python.utf8), file: file)) == value, "pythonSerialized() did not read back as the value")
        precondition((try? JSONValue.parse(Array(value.serialized().utf8), file: file)) != nil, "serialized() did not read back")
    },
    FuzzTarget(name: "probe-report", summary: "probe JSON reports (probe compare), and the comparison of one with itself") { bytes in
        if let r = try? ProbeReport.load(bytes, file: file) { _ = ProbeComparison(r, r) }
    },
    FuzzTarget(name: "boot-report", summary: "boot timeline JSON (boot compare), compared with itself and drawn as text") { bytes in
        guard let json = try? JSONValue.parse(bytes, file: file), let t = try? BootTimeline(json: json, file: file) else { return }
        _ = BootComparison(t, t).text(aName: "a", bName: "b")
        _ = t.text()
    },
    FuzzTarget(name: "initcall-trace", summary: "tracefs `trace` text with initcall events (boot timeline --trace)") { bytes in
        _ = try? InitcallTrace.parse(bytes, file: file)
    },
    FuzzTarget(name: "kernel-log", summary: "kernel log lines, dmesg and /dev/kmsg forms, with initcall_debug's lines") { bytes in
        if let log = try? KernelLog.parse(bytes, file: file) { _ = InitcallDebugLog(log) }
    },

    FuzzTarget(name: "boot-timeline", summary: "a boot timeline from its sources (FPDT values, kernel log, initcall trace), merged, then drawn as text, JSON and SVG") { bytes in
        fuzzBootTimeline(bytes)
    },
    FuzzTarget(name: "btf", summary: "BTF: a kernel's (raw, or an ELF's .BTF) and modules' split BTF through libbpf, then every probe's CO-RE relocations matched against it (probe check)") { bytes in
        let parts = split(bytes, at: Array("#module#".utf8))
        let modules = parts.dropFirst().enumerated().map { (name: "module\($0.offset)", bytes: $0.element) }
        guard let kernel = try? KernelBTF(kernel: parts[0], file: file, modules: modules) else { return }
        _ = try? ProbeCompatibility.check(against: kernel, concurrently: false)
    },

    // MARK: modules, signatures, keys, images
    FuzzTarget(name: "module", summary: "module files: compression, the signature trailer, PKCS#7, .modinfo (modsign info/verify)") { bytes in
        guard let m = try? ModuleFile.decode(bytes, path: file) else { return }
        _ = try? m.info()
        _ = try? SignatureInfo(module: m)
    },
    FuzzTarget(name: "elf", summary: "ELF objects as modules (.modinfo and the sections list)") { bytes in
        _ = try? ModuleInfo(elf: bytes[...], file: file)
    },
    FuzzTarget(name: "signature-trailer", summary: "the appended-signature trailer (module_signature and the magic)") { bytes in
        _ = try? SignatureTrailer.parse(bytes, file: file)
        _ = try? SignatureTrailer.unsignedLength(bytes, file: file)
    },
    FuzzTarget(name: "pkcs7", summary: "PKCS#7 SignedData DER as the kernel's pkcs7_parser reads it") { bytes in
        _ = try? PKCS7Signature(der: bytes[...], file: file)
    },
    FuzzTarget(name: "x509", summary: "X.509 certificates, PEM or DER (--keyring, sign-file's certificate)") { bytes in
        _ = try? X509Certificate.load(bytes, file: file)
    },
    FuzzTarget(name: "signing-key", summary: "private keys: PEM, PKCS#8, encrypted PKCS#8 and legacy PEM encryption, PKCS#1, SEC1") { bytes in
        _ = try? SigningKey.load(bytes, file: file, passphrase: "fuzz")
    },
    FuzzTarget(name: "kernel-image", summary: "kernel images: the payload finder, each decompressor, ikconfig, the release string, built-in certificates") { bytes in
        guard let vmlinux = try? KernelImage.vmlinux(bytes, file: file) else { return }
        _ = try? KernelImage.ikconfig(vmlinux, file: file)
        _ = KernelImage.release(in: vmlinux)
        _ = KernelImage.certificates(inKernel: vmlinux)
    },
    FuzzTarget(name: "decompress", summary: "gzip, xz, zstd, lz4, bzip2, lzma, lzo streams by their magic") { bytes in
        let c = Compression.detect(bytes)
        _ = try? c.decompress(bytes[...], file: file)
    },
]

/// The Kconfig target's input is a small source tree: the first file is `Kconfig`, and a
/// line `#file NAME` starts the next one, so that `source`, `rsource` and their errors
/// (missing, recursive) are reached. `$(shell,…)` answers "" and never runs anything.
func fuzzKconfig(_ bytes: [UInt8]) {
    let root = "/fuzz-srctree"
    var files: [String: [UInt8]] = [:]
    for (name, text) in sections(bytes, first: "Kconfig", header: { line in
        line.starts(with: "#file ".utf8) ? String(decoding: line.dropFirst(6), as: UTF8.self) : nil
    }) { files["\(root)/\(name)"] = text }
    let environment = ["ARCH": "x86", "SRCARCH": "x86", "KERNELVERSION": "6.18.0", "CC": "gcc", "LD": "ld",
                       "srctree": root, "CC_VERSION_TEXT": "gcc (Debian 12.2.0-14) 12.2.0"]
    let tree: KconfigTree
    do {
        tree = try KconfigTree.load(srctree: root, environment: environment, shell: { _ in "" }, readFile: { path throws(KernelKitError) in
            guard let f = files[path] else { throw KernelKitError(.fileNotFound, "no such file", at: SourceLocation(file: path, line: 0)) }
            return f
        })
    } catch { return }
    // A config naming the input's own symbols (the word after each `config`), so that
    // reading and resolving meet them.
    var config = ""
    let words = bytes.split(whereSeparator: { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 })
    var n = 0
    for (word, next) in zip(words, words.dropFirst()) where word.elementsEqual("config".utf8) && n < 64 {
        let name = String(decoding: next, as: UTF8.self)
        config += n % 3 == 0 ? "# CONFIG_\(name) is not set\n" : "CONFIG_\(name)=\(n % 3 == 1 ? "y" : "m")\n"
        n += 1
    }
    tree.readConfig(bytes: Array(config.utf8), name: ".config")
    _ = tree.writeConfig()
    _ = tree.writeDefconfig()
    _ = tree.writeAutoconf()
}

/// An input of several parts, cut at header lines: the text before the first header is
/// `first`, and each line for which `header` gives a name starts the part of that name
/// (a later part of the same name replaces an earlier one).
func sections(_ bytes: [UInt8], first: String, header: (ArraySlice<UInt8>) -> String?) -> [String: [UInt8]] {
    var parts = [String: [UInt8]]()
    var name = first
    var current = [UInt8]()
    for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
        if let next = header(line) {
            parts[name] = current
            name = next
            current = []
        } else {
            current += line
            current.append(0x0A)
        }
    }
    parts[name] = current
    return parts
}

/// `bytes` cut at each occurrence of `marker` (which is dropped).
func split(_ bytes: [UInt8], at marker: [UInt8]) -> [[UInt8]] {
    var parts = [[UInt8]]()
    var start = 0, i = 0
    while i + marker.count <= bytes.count {
        if bytes[i] == marker[0] && bytes[i..<(i + marker.count)].elementsEqual(marker) {
            parts.append(Array(bytes[start..<i]))
            i += marker.count
            start = i
        } else {
            i += 1
        }
    }
    parts.append(Array(bytes[start...]))
    return parts
}

/// The boot-timeline target's input: FPDT values, a line each in the order of the sysfs
/// files (firmware_start_ns first), then a line `#log` and a kernel log, then a line
/// `#trace` and a tracefs trace. A source left out is one the machine did not have.
func fuzzBootTimeline(_ bytes: [UInt8]) {
    let parts = sections(bytes, first: "fpdt", header: { line in
        line.elementsEqual("#log".utf8) || line.elementsEqual("#trace".utf8) ? String(decoding: line.dropFirst(), as: UTF8.self) : nil
    })
    let missing = { (what: String) in KernelKitError(.fileNotFound, "no such file", at: SourceLocation(file: what, line: 0)) }
    let values = parts["fpdt", default: []].split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
    var n = 0
    let fpdt = Result { () throws(KernelKitError) -> [String: Int] in
        try BootSources.fpdtValues(in: file) { path throws(KernelKitError) in
            defer { n += 1 }
            guard n < values.count else { throw missing(path) }
            return values[n]
        }
    }
    let log = Result { () throws(KernelKitError) -> KernelLog in
        guard let text = parts["log"] else { throw missing("log") }
        return try KernelLog.parse(text, file: file)
    }
    let trace = Result { () throws(KernelKitError) -> InitcallTrace in
        guard let text = parts["trace"] else { throw missing("trace") }
        return try InitcallTrace.parse(text, file: file)
    }
    let t = BootTimeline(trace: trace, log: log, fpdt: fpdt)
    _ = t.text()
    _ = t.json.serialized(pretty: false)
    _ = BootChart.svg(t)
}
