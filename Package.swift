// swift-tools-version: 6.1
// KernelKit: a Swift toolkit for the Linux kernel.
//
// Layout (one module per area, a thin CLI on top):
//   KernelKitCore  diagnostics with input locations, safe input reading, atomic writes
//   KconfigKit     .config files and fragments, diffconfig-compatible diff, merge_config-compatible merge,
//                  the Kconfig language and conf-identical resolution
//   ModuleSigning  module files (ELF, trailer, compression), sign-file-identical PKCS#7, keys,
//                  certificates and the keyring inside kernel images
//   HardeningKit   hardening policies (TOML baselines, Azure Linux's JSON), checks of kconfig,
//                  command line and sysctl, waivers, reports (text, JSON, SARIF, JUnit), fix-ups
//   KernelProbes   libbpf runtime, block I/O probes (biolatency, bitesize, biosnoop), histograms
//   CLibElf, CCompression, CLibBPF, CBPFProbes  C bridges and the probes' shared structs
//   BPFCompilerPlugin, bpf-embed  the build tool that compiles .bpf.c and embeds the objects
//   kernelkit      the command-line tool (argument parsing and printing only)
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
let staticPIE: [LinkerSetting] = Context.environment["KERNELKIT_STATIC_PIE"] == "1"
    ? [.unsafeFlags(["-static-executable", "-use-ld=lld", "-Xclang-linker", "-static-pie",
                     "-l_FoundationCollections", "-l_FoundationCShims"])]
    : []

let package = Package(
    name: "KernelKit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kernelkit", targets: ["kernelkit"]),
        .library(name: "KconfigKit", targets: ["KconfigKit"]),
        .library(name: "ModuleSigning", targets: ["ModuleSigning"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    ],
    targets: [
        .target(name: "KernelKitCore", dependencies: ["CCompression"]),
        .target(name: "KconfigKit", dependencies: ["KernelKitCore"]),
        // kconfigs/ data the binary needs at run time (baselines, 6.18 fragments), generated
        // into Swift by scripts/embed-kconfigs.py so that a copied binary is self-contained.
        .target(name: "KernelKitData"),
        .target(name: "HardeningKit", dependencies: ["KernelKitCore", "KconfigKit", "KernelKitData"]),
        .systemLibrary(name: "CLibElf", providers: [.apt(["libelf-dev"])]),
        .systemLibrary(name: "CCompression",
                       providers: [.apt(["zlib1g-dev", "liblzma-dev", "libzstd-dev", "liblz4-dev", "libbz2-dev"])]),
        .target(
            name: "ModuleSigning",
            dependencies: [
                "KernelKitCore", "KconfigKit", "CLibElf", "CCompression",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        // eBPF probes: the BPF programs (KernelProbes/BPF/*.bpf.c) are compiled by the
        // BPFCompilerPlugin with the toolchain's clang and embedded as Swift; CBPFProbes
        // holds the structs both sides share; CLibBPF bridges libbpf.
        .systemLibrary(name: "CLibBPF", providers: [.apt(["libbpf-dev"])]),
        .target(name: "CBPFProbes", dependencies: ["CLibBPF"]),
        .executableTarget(name: "bpf-embed"),
        .plugin(name: "BPFCompilerPlugin", capability: .buildTool(), dependencies: ["bpf-embed"],
                path: "Sources/BPFCompilerPlugin"),
        .target(
            name: "KernelProbes",
            dependencies: ["KernelKitCore", "CLibBPF", "CBPFProbes"],
            exclude: ["BPF"],
            plugins: ["BPFCompilerPlugin"]
        ),
        .executableTarget(
            name: "kernelkit",
            dependencies: [
                "KernelKitCore", "KconfigKit", "ModuleSigning", "HardeningKit", "KernelKitData", "KernelProbes",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: staticPIE
        ),
        // In-process timings of the hot paths; the peer comparisons are benchmarks/compare.py.
        .executableTarget(
            name: "kernelkit-benchmarks",
            dependencies: ["KconfigKit", "KernelKitCore"],
            path: "benchmarks/InProcess"
        ),
        // Helpers every test target shares: paths, oracles, running programs.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "KconfigKitTests",
            dependencies: [
                "KconfigKit", "KernelKitCore", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: []
        ),
        .testTarget(
            name: "HardeningKitTests",
            dependencies: ["HardeningKit", "KconfigKit", "KernelKitCore", "KernelKitData", "TestSupport"]
        ),
        .testTarget(
            name: "KernelProbesTests",
            dependencies: ["KernelProbes", "KernelKitCore", "TestSupport"]
        ),
        .testTarget(
            name: "ModuleSigningTests",
            dependencies: ["ModuleSigning", "KernelKitCore", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
