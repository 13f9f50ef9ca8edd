// swift-tools-version: 6.1
// KernelKit: a Swift toolkit for the Linux kernel. docs/architecture.md has the picture.
//
// Layout (one module per area, dependencies pointing down, a thin CLI on top):
//   kernelkit       the command-line tool: argument parsing and printing only
//   kernelkit-exporter  `kernelkit exporter`: /metrics over HTTP (Hummingbird) for fleets
//   KernelAudit     the bundled 6.18 Hyper-V/Azure kernel (manifest, build, resolution), the
//                   shipped baselines, and `audit`; composes the four area modules
//   KconfigKit      .config files and fragments, diffconfig-compatible diff, merge_config-
//                   compatible merge, the Kconfig language and conf-identical resolution
//   HardeningKit    the policy engine: rules (TOML, Azure Linux's JSON), checks of kconfig,
//                   command line and sysctl, waivers, reports (text, JSON, SARIF, JUnit)
//   ModuleSigning   module files (ELF, trailer), sign-file-identical PKCS#7, keys,
//                   certificates, keyrings and the certificates inside kernel images
//   KernelProbes    the libbpf runtime and the eBPF probes, histograms, reports
//   BootKit         boot timelines: initcalls (trace buffer, kernel log), phases, compare, SVG
//   KernelImageKit  compression (modules, payloads) and kernel images (vmlinux, IKCONFIG)
//   KernelKitCore   errors with input locations, Arch, input reading, atomic writes, TOML, JSON
//   KernelMetrics   results as Prometheus metrics (swift-prometheus), node_exporter textfiles
//   KernelKitData   kconfigs/ data the binary carries, generated at build time
//   C bridges, one per system library: CLibElf, CLibBPF, CLibKmod, CLibSystemd, CZlib,
//                   CLzma, CZstd, CLz4, CBzip2;
//   CBPFProbes      the structs the BPF programs and Swift share, libbpf's log hook
//   Sources/Plugins, Sources/Tools: the build tools (BPF programs compiled and embedded,
//                   kconfigs/ embedded)
import PackageDescription

// KERNELKIT_STATIC_PIE=1 (set by scripts/kernelkit and benchmarks/run.sh, which also pass
// --disable-local-rpath) links the kernelkit executable as a static PIE: glibc, libstdc++
// and the Swift runtime all inside, no dynamic loader, ASLR kept. A short command starts
// in half the time (a whole `config diff` of two configs: 5.3 ms -> 3.8 ms), and the
// binary runs on its own on any Linux of its architecture. glibc's static-PIE start-up
// refuses a DT_RUNPATH (elf/get-dynamic-info.h asserts it is absent), hence
// --disable-local-rpath, and gold cannot link a static PIE, hence lld.
// FoundationEssentials' own archives are named because -static-executable's link line
// (static-executable-args.lnk) lacks them.
// Off by default, so a plain `swift build` or `swift test` links as usual.
// libkmod and libsystemd come from .build/libkmod/libkmod.a and .build/libsystemd/libsystemd.a
// (scripts/build-static-libs.sh: Debian ships neither as a static archive), with what they
// use: OpenSSL for kmod's signer fields (libssl-dev's libcrypto.a), libcap for libsystemd.
let staticPIE: [LinkerSetting] = Context.environment["KERNELKIT_STATIC_PIE"] == "1"
    ? [.unsafeFlags(["-static-executable", "-use-ld=lld", "-Xclang-linker", "-static-pie",
                     "-l_FoundationCollections", "-l_FoundationCShims",
                     "-L\(Context.packageDirectory)/.build/libkmod", "-lcrypto",
                     "-L\(Context.packageDirectory)/.build/libsystemd", "-lcap"])]
    : []
// Hummingbird pulls in FoundationInternationalization (time zones for its Date header),
// whose ICU symbols the static link must be given too.
let exporterStaticPIE: [LinkerSetting] = staticPIE.isEmpty ? [] : staticPIE + [.linkedLibrary("_FoundationICU"), .linkedLibrary("CoreFoundation")]

// KERNELKIT_FUZZ=1 (set by scripts/fuzz.sh, with `--sanitize address`) instruments our own
// libraries for libFuzzer's coverage and links the fuzzer only into kernelkit-fuzz. Not
// SwiftPM's `--sanitize fuzzer`: that links libFuzzer's main() into every executable,
// the build tools of the plugins included, which then no longer run as themselves.
let fuzzing = Context.environment["KERNELKIT_FUZZ"] == "1"
let fuzzCoverage: [SwiftSetting] = fuzzing ? [.unsafeFlags(["-sanitize=fuzzer"])] : []
// The release builds of the Kconfig engine, the core (its TOML reader and JSON writer) and
// the hardening checks drop the run-time exclusivity checks (every access to a class's
// stored property that might overlap a mutation calls swift_beginAccess): the Kconfig
// lexer, evaluator and dependency checks touch tree fields millions of times a run, and
// loading the khc baseline's 421 rules made 3 M instructions of such checks out of 71 M
// (session 22). Debug builds, which run every test, keep them; the compile-time checks stay.
let hotPathRelease: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

// The C bridges link the static archives of Debian's -dev packages (`link ":libz.a"` in
// each module.modulemap), so the binary needs none of the shared libraries. That is also
// why they name no pkgConfig: its `-lz` would link the shared library instead.
func cLibrary(_ name: String, _ package: String) -> Target {
    .systemLibrary(name: name, providers: [.apt([package])])
}

let package = Package(
    name: "KernelKit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kernelkit", targets: ["kernelkit"]),
        .library(name: "KconfigKit", targets: ["KconfigKit"]),
        .library(name: "HardeningKit", targets: ["HardeningKit"]),
        .library(name: "ModuleSigning", targets: ["ModuleSigning"]),
        .library(name: "KernelProbes", targets: ["KernelProbes"]),
        .library(name: "KernelAudit", targets: ["KernelAudit"]),
        .library(name: "BootKit", targets: ["BootKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        // MARK: the core and the data
        .target(name: "KernelKitCore", swiftSettings: fuzzCoverage + hotPathRelease),
        .target(name: "KernelKitData", plugins: ["KconfigsEmbedPlugin"]),
        .executableTarget(name: "kconfigs-embed", path: "Sources/Tools/kconfigs-embed"),
        .plugin(name: "KconfigsEmbedPlugin", capability: .buildTool(), dependencies: ["kconfigs-embed"], path: "Sources/Plugins/KconfigsEmbedPlugin"),

        // MARK: C bridges, one per system library
        cLibrary("CLibElf", "libelf-dev"),
        cLibrary("CLibBPF", "libbpf-dev"),
        cLibrary("CZlib", "zlib1g-dev"),
        cLibrary("CLzma", "liblzma-dev"),
        cLibrary("CZstd", "libzstd-dev"),
        cLibrary("CLz4", "liblz4-dev"),
        cLibrary("CBzip2", "libbz2-dev"),
        cLibrary("CLibKmod", "libkmod-dev"),
        cLibrary("CLibSystemd", "libsystemd-dev"),
        // Our CO-RE matcher (core_check.c) walks BTF that the `btf` fuzz target makes.
        .target(name: "CBPFProbes", dependencies: ["CLibBPF"],
                cSettings: fuzzing ? [.unsafeFlags(["-fsanitize=fuzzer-no-link"])] : []),

        // MARK: the areas
        .target(name: "KernelImageKit", dependencies: ["KernelKitCore", "CZlib", "CLzma", "CZstd", "CLz4", "CBzip2"], swiftSettings: fuzzCoverage),
        .target(name: "KconfigKit", dependencies: ["KernelKitCore"], swiftSettings: fuzzCoverage + hotPathRelease),
        .target(name: "HardeningKit", dependencies: ["KernelKitCore", "KconfigKit", "KernelImageKit"], swiftSettings: fuzzCoverage + hotPathRelease),
        .target(
            name: "ModuleSigning",
            dependencies: [
                "KernelKitCore", "KconfigKit", "KernelImageKit", "CLibElf", "CLibKmod",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: fuzzCoverage
        ),
        // eBPF probes: the BPF programs (KernelProbes/BPF/*.bpf.c) are compiled by the
        // BPFCompilerPlugin with the toolchain's clang and embedded as Swift.
        .executableTarget(name: "bpf-embed", path: "Sources/Tools/bpf-embed"),
        .plugin(name: "BPFCompilerPlugin", capability: .buildTool(), dependencies: ["bpf-embed"], path: "Sources/Plugins/BPFCompilerPlugin"),
        .target(
            name: "KernelProbes",
            dependencies: ["KernelKitCore", "KernelImageKit", "CLibBPF", "CBPFProbes"],
            exclude: ["BPF"],
            swiftSettings: fuzzCoverage,
            plugins: ["BPFCompilerPlugin"]
        ),
        // Boot timelines: initcalls from the trace buffer and the kernel log, phases, charts.
        .target(name: "BootKit", dependencies: ["KernelKitCore", "KernelProbes", "CLibSystemd"], swiftSettings: fuzzCoverage),
        .target(
            name: "KernelAudit",
            dependencies: ["KernelKitCore", "KernelKitData", "KconfigKit", "HardeningKit", "ModuleSigning", "KernelProbes"]
        ),

        // Results as Prometheus metrics (swift-prometheus): node_exporter textfiles and the exporter.
        .target(
            name: "KernelMetrics",
            dependencies: ["KernelKitCore", "HardeningKit", "KernelProbes", .product(name: "Prometheus", package: "swift-prometheus")]
        ),

        // MARK: the CLI
        .executableTarget(
            name: "kernelkit",
            dependencies: [
                "KernelKitCore", "KernelImageKit", "KconfigKit", "ModuleSigning", "HardeningKit", "KernelProbes", "KernelAudit", "BootKit",
                "KernelMetrics", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: staticPIE
        ),
        // The long-running exporter: probes kept attached, the live audit re-run, /metrics
        // served by Hummingbird. Its own executable, so that NIO's start-up and size stay
        // out of the short commands; `kernelkit exporter` hands over to it.
        .executableTarget(
            name: "kernelkit-exporter",
            dependencies: [
                "KernelKitCore", "KernelMetrics", "KernelProbes", "KernelAudit", "HardeningKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            linkerSettings: exporterStaticPIE
        ),
        // libFuzzer targets, one per parser (scripts/fuzz.sh builds them with the fuzzer and
        // address sanitizer; a plain build replays files through the same targets).
        .executableTarget(
            name: "kernelkit-fuzz",
            dependencies: ["KernelKitCore", "KconfigKit", "HardeningKit", "ModuleSigning", "KernelImageKit", "KernelProbes", "BootKit"],
            exclude: ["Dictionaries"],
            swiftSettings: fuzzing ? fuzzCoverage + [.define("KERNELKIT_FUZZING")] : [],
            linkerSettings: fuzzing ? [.unsafeFlags(["-sanitize=fuzzer"])] : []
        ),
        // In-process timings of the hot paths; the peer comparisons are benchmarks/compare.py.
        .executableTarget(
            name: "kernelkit-benchmarks",
            dependencies: ["KconfigKit", "KernelKitCore", "KernelProbes", "CBPFProbes"],
            path: "benchmarks/InProcess"
        ),

        // MARK: tests
        // Helpers every test target shares: paths, oracles, running programs.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "KernelKitCoreTests", dependencies: ["KernelKitCore", "KernelImageKit", "TestSupport"]),
        .testTarget(
            name: "KconfigKitTests",
            dependencies: [
                "KconfigKit", "KernelKitCore", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(name: "HardeningKitTests", dependencies: ["HardeningKit", "KernelAudit", "KconfigKit", "KernelKitCore", "TestSupport"]),
        .testTarget(name: "KernelAuditTests", dependencies: ["KernelAudit", "HardeningKit", "KconfigKit", "ModuleSigning", "KernelProbes", "KernelKitCore", "TestSupport"]),
        .testTarget(name: "BootKitTests", dependencies: ["BootKit", "KernelKitCore", "TestSupport"]),
        .testTarget(name: "KernelProbesTests", dependencies: ["KernelProbes", "CBPFProbes", "KernelMetrics", "KernelKitCore", "TestSupport"]),
        .testTarget(name: "ModuleSigningTests", dependencies: ["ModuleSigning", "KernelImageKit", "KernelKitCore", "TestSupport"]),
        // End-to-end tests of the kernelkit binary (KERNELKIT_BIN, the release build users get).
        .testTarget(name: "CLITests", dependencies: ["KernelKitCore", "KconfigKit", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
