// swift-tools-version: 6.1
// KernelKit: a Swift toolkit for the Linux kernel.
//
// Layout (one module per area, a thin CLI on top):
//   KernelKitCore  diagnostics with input locations, safe input reading, atomic writes
//   KconfigKit     .config files and fragments, diffconfig-compatible diff, merge_config-compatible merge
//   kernelkit      the command-line tool (argument parsing and printing only)
import PackageDescription

let package = Package(
    name: "KernelKit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kernelkit", targets: ["kernelkit"]),
        .library(name: "KconfigKit", targets: ["KconfigKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    ],
    targets: [
        .target(name: "KernelKitCore"),
        .target(name: "KconfigKit", dependencies: ["KernelKitCore"]),
        .executableTarget(
            name: "kernelkit",
            dependencies: [
                "KernelKitCore", "KconfigKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // In-process timings of the hot paths; the peer comparisons are benchmarks/compare.py.
        .executableTarget(
            name: "kernelkit-benchmarks",
            dependencies: ["KconfigKit", "KernelKitCore"],
            path: "benchmarks/InProcess"
        ),
        .testTarget(
            name: "KconfigKitTests",
            dependencies: [
                "KconfigKit", "KernelKitCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: []
        ),
    ],
    swiftLanguageModes: [.v6]
)
