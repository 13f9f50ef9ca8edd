import Foundation
import KconfigKit
import Testing

/// `config defconfigs`: many defconfigs in one process, one loaded tree per ARCH=, each
/// .config byte-identical to what `make ARCH=… NAME` writes in a fresh conf process.
@Suite("config defconfigs: every defconfig of the chosen arches in one run, identical to make",
       .serialized, .enabled(if: Oracles.treesShouldRun, "needs the kernel trees from scripts/setup-oracles.sh"))
struct DefconfigsBatchTests {
    /// 13 arch directories on 6.12 (25 defconfigs) and 6 on 7.2 (18): every defconfig
    /// of each, so that several share one loaded tree (riscv's 4, openrisc's 6, s390's 3).
    static let runs: [(version: String, arches: [String])] = [
        ("6.12", ["alpha", "arm64", "csky", "hexagon", "loongarch", "microblaze", "nios2", "openrisc", "parisc",
                  "riscv", "s390", "sparc", "x86"]),
        ("7.2", ["x86", "arm64", "riscv", "loongarch", "s390", "openrisc"]),
    ]

    @Test("each .config as make writes it; savedefconfig as make savedefconfig; stale ones named", arguments: [0, 1])
    func batch(run index: Int) throws {
        let (version, arches) = Self.runs[index]
        let tree = version == "6.12" ? Oracles.tree612 : Oracles.tree72
        let out = try TemporaryDirectory()
        let r = try kernelkit(["config", "defconfigs", "--tree", tree, "--dummy-tools", "--savedefconfig", "-o", out.path]
                              + arches.flatMap { ["--arch", $0] })
        #expect(r.status == 0, "\(r.err)")
        var count = 0, stale: [String] = []
        for dir in arches {
            let names = try FileManager.default.contentsOfDirectory(atPath: "\(tree)/arch/\(dir)/configs")
                .filter { $0.hasSuffix("defconfig") }.sorted()
            for name in names {
                let arch = KconfigResolver.makeArch(archDirectory: dir, defconfig: name)
                let theirs = try KconfigOracleTests.confRun(tree: tree, arch: arch, target: name, dummyTools: dir != "x86", workspace: "defconfigs")
                let ours = try Data(contentsOf: URL(fileURLWithPath: "\(out.path)/\(dir)/\(name).config"))
                KconfigOracleTests.expectIdentical(ours, theirs.config, "\(version) \(dir)/\(name)")
                // make savedefconfig on the .config make just wrote.
                let saved = try KconfigOracleTests.confRun(tree: tree, arch: arch, target: "savedefconfig",
                                                           dummyTools: dir != "x86", startingFrom: nil, keepConfig: true, workspace: "defconfigs")
                let want = try #require(saved.defconfig)
                let ourSaved = try Data(contentsOf: URL(fileURLWithPath: "\(out.path)/\(dir)/\(name).savedefconfig"))
                #expect(ourSaved == want, "\(version) \(dir)/\(name): savedefconfig differs from make's")
                if want != (try Data(contentsOf: URL(fileURLWithPath: "\(tree)/arch/\(dir)/configs/\(name)"))) {
                    stale.append("arch/\(dir)/configs/\(name)")
                }
                count += 1
            }
        }
        #expect(count >= 18)
        #expect(r.out.contains("\(count) of \(count) defconfigs written"), "\(r.out)")
        // The stale list is exactly the defconfigs whose make savedefconfig differs.
        let listed = r.out.split(separator: "\n").filter { $0.hasPrefix("  arch/") }.map { String($0.dropFirst(2)) }
        #expect(listed == stale.sorted(), "\(r.out)")
    }

    @Test("bad input: not a kernel tree, no defconfig matching; a defconfig that cannot be read is reported and the rest written")
    func badInput() throws {
        let out = try TemporaryDirectory()
        var r = try kernelkit(["config", "defconfigs", "--tree", out.path, "-o", "\(out.path)/o"])
        #expect(r.status == 2)
        #expect(r.err.hasPrefix("kernelkit: \(out.path): error: not a kernel tree"), "\(r.err)")
        r = try kernelkit(["config", "defconfigs", "--tree", Oracles.tree612, "--arch", "riscv", "--match", "nothing*", "-o", "\(out.path)/o"])
        #expect(r.status == 2)
        #expect(r.err.contains("no defconfig"), "\(r.err)")
        // A copy of the 6.12 tree's riscv configs with one unreadable defconfig (a
        // directory of that name): an overlay tree, the rest by symlink.
        let overlay = try TemporaryDirectory()
        for entry in try FileManager.default.contentsOfDirectory(atPath: Oracles.tree612) where entry != "arch" {
            try FileManager.default.createSymbolicLink(atPath: "\(overlay.path)/\(entry)", withDestinationPath: "\(Oracles.tree612)/\(entry)")
        }
        try FileManager.default.createDirectory(atPath: "\(overlay.path)/arch", withIntermediateDirectories: true)
        for entry in try FileManager.default.contentsOfDirectory(atPath: "\(Oracles.tree612)/arch") where entry != "riscv" {
            try FileManager.default.createSymbolicLink(atPath: "\(overlay.path)/arch/\(entry)", withDestinationPath: "\(Oracles.tree612)/arch/\(entry)")
        }
        try FileManager.default.createDirectory(atPath: "\(overlay.path)/arch/riscv", withIntermediateDirectories: true)
        for entry in try FileManager.default.contentsOfDirectory(atPath: "\(Oracles.tree612)/arch/riscv") where entry != "configs" {
            try FileManager.default.createSymbolicLink(atPath: "\(overlay.path)/arch/riscv/\(entry)", withDestinationPath: "\(Oracles.tree612)/arch/riscv/\(entry)")
        }
        try FileManager.default.createDirectory(atPath: "\(overlay.path)/arch/riscv/configs/broken_defconfig", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "\(Oracles.tree612)/arch/riscv/configs/defconfig", toPath: "\(overlay.path)/arch/riscv/configs/defconfig")
        r = try kernelkit(["config", "defconfigs", "--tree", overlay.path, "--arch", "riscv", "--dummy-tools", "-o", "\(out.path)/o"])
        #expect(r.status == 1, "\(r.err)")
        #expect(r.err.split(separator: "\n").count == 1 && r.err.contains("broken_defconfig") && r.err.contains("is a directory"), "\(r.err)")
        #expect(FileManager.default.fileExists(atPath: "\(out.path)/o/riscv/defconfig.config"))
        #expect(!FileManager.default.fileExists(atPath: "\(out.path)/o/riscv/broken_defconfig.config"))
        #expect(r.out.contains("1 of 2 defconfigs written"), "\(r.out)")
    }
}
