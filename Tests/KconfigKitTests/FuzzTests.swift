import Foundation
import KconfigKit
import KernelKitCore
import Testing

/// Bad input never crashes: mutated real inputs go through the parsers, which must
/// return a value or a located error, and finish.
@Suite("fuzz: mutated real inputs never crash the parsers")
struct FuzzTests {
    /// KERNELKIT_FUZZ_SCALE multiplies the iteration counts for a longer local run.
    static let scale = Int(ProcessInfo.processInfo.environment["KERNELKIT_FUZZ_SCALE"] ?? "") ?? 1

    static let alphabet = Array("\n\t \"'\\$()=!&|<>#:+-_abcyCONFIG_0x9".utf8)

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...8, using: &rng) {
            guard !bytes.isEmpty else { break }
            let i = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: bytes[i] = alphabet.randomElement(using: &rng)!
            case 1: bytes.remove(at: i)
            case 2: bytes.insert(alphabet.randomElement(using: &rng)!, at: i)
            default:
                let j = Int.random(in: i..<min(bytes.count, i + 40), using: &rng)
                bytes.insert(contentsOf: bytes[i...j], at: j)
            }
        }
        return bytes
    }

    @Test("ConfigFile: 3,000 mutations of a real config")
    func configFile() throws {
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: RealConfigs.host_618)).prefix(6000))
        var rng = SplitMix(seed: 0x5EED)
        for _ in 0..<(3000 * Self.scale) {
            let bytes = Self.mutate(original, &rng)
            if let file = try? ConfigFile(bytes: bytes, path: "fuzz") {
                #expect(file.bytes == bytes)
            }
        }
    }

    @Test("Kconfig: 1,500 mutations of the kernel's selftest Kconfig files", .enabled(if: Oracles.treesShouldRun))
    func kconfig() throws {
        let root = "\(Oracles.tree72)/scripts/kconfig/tests"
        let sources = ["choice/Kconfig", "transitional/Kconfig", "preprocess/variable/Kconfig",
                       "conditional_dep/Kconfig", "preprocess/escape/Kconfig", "err_recursive_dep/Kconfig"]
        var rng = SplitMix(seed: 0xC0FFEE)
        let dir = try TemporaryDirectory()
        var env = ProcessInfo.processInfo.environment
        env["srctree"] = dir.path
        for n in 0..<(1500 * Self.scale) {
            let original = Array(try Data(contentsOf: URL(fileURLWithPath: "\(root)/\(sources[n % sources.count])")))
            try dir.write("Kconfig", bytes: Self.mutate(original, &rng))
            // No $(shell,...) is run for real: a mutation could make any command.
            let run = ConfProgram.run(.olddefconfig, srctree: dir.path, environment: env, shell: { _ in "" })
            #expect(run.status == 0 || !run.stderr.isEmpty, "a failure must say why")
        }
    }
}
