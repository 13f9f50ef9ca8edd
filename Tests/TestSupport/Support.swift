import Foundation

// Shared by every test target: where the package, the built CLI and the oracles are,
// running programs, temporary directories, and the real configs.

/// Where things are: the package, the built CLI, and the real tools used as oracles.
public enum Paths {
    public static let packageRoot: String = {
        // Tests/KconfigKitTests/Support.swift -> package root
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()

    public static func fixture(_ name: String) -> String { "\(packageRoot)/Tests/Fixtures/\(name)" }
    public static func kconfigs(_ name: String) -> String { "\(packageRoot)/kconfigs/\(name)" }

    /// The `kernelkit` binary that `swift build` made (override with KERNELKIT_BIN).
    public static let kernelkit: String = {
        if let bin = ProcessInfo.processInfo.environment["KERNELKIT_BIN"] { return bin }
        return "\(packageRoot)/.build/debug/kernelkit"
    }()
    /// `kernelkit exporter`'s own binary, built beside `kernelkit` (scripts/kernelkit).
    public static var kernelkitExporter: String {
        URL(fileURLWithPath: kernelkit).deletingLastPathComponent().appendingPathComponent("kernelkit-exporter").path
    }
}

/// The kernel's own tools, laid out by scripts/setup-oracles.sh.
public enum Oracles {
    public static let directory = ProcessInfo.processInfo.environment["KERNELKIT_ORACLES"] ?? "\(Paths.packageRoot)/.build/oracles"
    public static let diffconfig = "\(directory)/linux-6.12/scripts/diffconfig"
    public static let mergeConfig = "\(directory)/linux-6.12/scripts/kconfig/merge_config.sh"
    public static let debianConfigs = "\(directory)/debian-6.12"

    /// scripts/test.sh sets KERNELKIT_REQUIRE_ORACLES=1: then a missing oracle fails the
    /// test instead of skipping it, so CI cannot pass without having compared.
    public static let required = ProcessInfo.processInfo.environment["KERNELKIT_REQUIRE_ORACLES"] == "1"
    public static var present: Bool { FileManager.default.fileExists(atPath: diffconfig) }
    public static var shouldRun: Bool { present || required }

    public static func debianConfig(_ flavour: String) -> String { "\(debianConfigs)/\(flavour).config" }

    /// Whole kernel trees, unpacked by scripts/setup-oracles.sh.
    public static let tree612 = "\(directory)/linux-6.12-tree"
    public static let tree72 = "\(directory)/linux-7.2-tree"
    public static var treesPresent: Bool {
        FileManager.default.fileExists(atPath: "\(tree612)/Makefile") && FileManager.default.fileExists(atPath: "\(tree72)/Makefile")
    }
    public static var treesShouldRun: Bool { treesPresent || required }

    /// The kernel's scripts/sign-file, built from the 6.12 tree.
    public static let signFile = "\(directory)/sign-file"
    /// Debian's signed cloud kernel package, unpacked.
    public static let cloudImage = "\(directory)/debian-cloud-image"
    public static var signingPresent: Bool {
        FileManager.default.fileExists(atPath: signFile) && FileManager.default.fileExists(atPath: "\(cloudImage)/lib/modules")
    }
    public static var signingShouldRun: Bool { signingPresent || required }
    /// The 7.2 kernel's lib/crypto/mldsa.c verifier, built for user space.
    public static let mldsaVerify = "\(directory)/mldsa-verify"

    /// The newest cloud kernel from unstable: linux-binary-V and linux-modules-V, unpacked.
    public static let cloudSid = "\(directory)/debian-cloud-sid"
    /// scripts/btf-merge.c: a kernel's BTF with one module's appended, for bpftool.
    public static let btfMerge = "\(directory)/btf-merge"
    public static let bpftool = "/usr/sbin/bpftool"
    public static var btfPresent: Bool {
        FileManager.default.fileExists(atPath: btfMerge) && FileManager.default.fileExists(atPath: "\(cloudSid)/.version")
            && FileManager.default.fileExists(atPath: bpftool) && FileManager.default.fileExists(atPath: "\(cloudImage)/boot")
    }
    public static var btfShouldRun: Bool { btfPresent || required }
}

/// The two Debian cloud kernels the probe checks are tested against: a vmlinuz and its
/// Hyper-V modules (and scsi_mod, which storvsc's fentry variant needs).
public struct CloudKernel: Sendable {
    public var release: String
    public var vmlinuz: String
    public var modules: [String: String]

    /// Debian 12's signed 6.1 cloud kernel (hv_vmbus is a module there).
    public static var debian12: CloudKernel {
        let boot = "\(Oracles.cloudImage)/boot"
        let vmlinuz = ((try? FileManager.default.contentsOfDirectory(atPath: boot)) ?? []).first { $0.hasPrefix("vmlinuz-") } ?? "vmlinuz-?"
        let release = String(vmlinuz.dropFirst("vmlinuz-".count))
        let k = "\(Oracles.cloudImage)/lib/modules/\(release)/kernel"
        return CloudKernel(release: release, vmlinuz: "\(boot)/\(vmlinuz)", modules: [
            "hv_vmbus": "\(k)/drivers/hv/hv_vmbus.ko", "hv_storvsc": "\(k)/drivers/scsi/hv_storvsc.ko",
            "hv_netvsc": "\(k)/drivers/net/hyperv/hv_netvsc.ko", "scsi_mod": "\(k)/drivers/scsi/scsi_mod.ko",
        ])
    }

    /// The newest from unstable (7.2 at the time of writing; VMBus built in).
    public static var unstable: CloudKernel {
        let release = ((try? String(contentsOfFile: "\(Oracles.cloudSid)/.version", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let m = "\(Oracles.cloudSid)/usr/lib/modules/\(release)"
        return CloudKernel(release: release, vmlinuz: "\(m)/vmlinuz", modules: [
            "hv_storvsc": "\(m)/kernel/drivers/scsi/hv_storvsc.ko.xz", "hv_netvsc": "\(m)/kernel/drivers/net/hyperv/hv_netvsc.ko.xz",
            "scsi_mod": "\(m)/kernel/drivers/scsi/scsi_mod.ko.xz",
        ])
    }
}

public struct ProcessResult {
    public var status: Int32
    public var stdout: Data
    public var stderr: Data
    public var out: String { String(decoding: stdout, as: UTF8.self) }
    public var err: String { String(decoding: stderr, as: UTF8.self) }
}

/// Runs a program and collects its output.
public func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
         in directory: String? = nil, input: Data? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "KCONFIG_CONFIG")
    env.removeValue(forKey: "CONFIG_")
    env.removeValue(forKey: "KBUILD_OUTPUT")
    for (k, v) in environment { env[k] = v }
    process.environment = env
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let outPipe = Pipe(), errPipe = Pipe()
    process.standardOutput = outPipe
    process.standardError = errPipe
    if let input {
        let inPipe = Pipe()
        process.standardInput = inPipe
        try inPipe.fileHandleForWriting.write(contentsOf: input)
        try inPipe.fileHandleForWriting.close()
    } else {
        process.standardInput = FileHandle.nullDevice
    }
    try process.run()
    // Read both pipes concurrently so neither fills up and blocks the child.
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errData = errPipe.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdout: outData, stderr: errData)
}

/// Runs the built `kernelkit`.
public func kernelkit(_ arguments: [String], environment: [String: String] = [:], in directory: String? = nil) throws -> ProcessResult {
    try run(Paths.kernelkit, arguments, environment: environment, in: directory)
}

/// A fresh temporary directory, removed when the returned object goes away.
public final class TemporaryDirectory {
    public let path: String
    public init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("kernelkit-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        let file = "\(path)/\(name)"
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    @discardableResult
    public func write(_ name: String, bytes: [UInt8]) throws -> String {
        let file = "\(path)/\(name)"
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    public func read(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: "\(path)/\(name)")) }
    public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: "\(path)/\(name)") }
}

/// Real configs used across the tests: Azure Linux (bundled) and Debian (from the oracle setup).
public enum RealConfigs {
    public static let azl3_66_x86 = Paths.fixture("configs/azl3-6.6-x86_64.config")
    public static let azl3_66_arm = Paths.fixture("configs/azl3-6.6-aarch64.config")
    public static let azl3hwe_618_x86 = Paths.kconfigs("azure-linux/azl3-hwe-6.18-x86_64.config")
    public static let azl3hwe_618_arm = Paths.kconfigs("azure-linux/azl3-hwe-6.18-aarch64.config")
    public static let host_618 = Paths.fixture("configs/host-6.18.config")
    public static let azl4_618_x86 = Paths.kconfigs("azure-linux/azl4-6.18-x86_64.config")
    public static let azl4_618_arm = Paths.kconfigs("azure-linux/azl4-6.18-aarch64.config")
    public static let debianAmd64 = Oracles.debianConfig("amd64_none_amd64")
    public static let debianCloud = Oracles.debianConfig("amd64_none_cloud-amd64")
    public static let debianRT = Oracles.debianConfig("amd64_rt_amd64")
    public static let debianArm64Cloud = Oracles.debianConfig("arm64_none_cloud-arm64")

    public static let bundled = [azl3_66_x86, azl3_66_arm, azl3hwe_618_x86, azl3hwe_618_arm, host_618, azl4_618_x86, azl4_618_arm]
    public static let debian = [debianAmd64, debianCloud, debianRT]
}

/// A small deterministic generator (SplitMix64), so that a failing mutation test names a
/// reproducible input.
public struct SplitMix: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The text exposition format's sample lines, for comparing what a server serves.
public enum PrometheusText {
    /// `NAME{labels} VALUE` lines starting with `prefix`, as (name with labels, value).
    public static func samples(_ text: String, _ prefix: String) -> [String: Double] {
        var out = [String: Double]()
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            guard let space = line.lastIndex(of: " "), let v = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = v
        }
        return out
    }
}
