import Foundation
import KconfigKit
import Testing

/// `config impact` against the kernel's own tools: make on the old tree and on an edited
/// copy, and scripts/diffconfig between the two .config files of each defconfig.
@Suite("config impact: the changes diffconfig shows between make on the two trees", .serialized,
       .enabled(if: Oracles.treesShouldRun, "needs the kernel trees from scripts/setup-oracles.sh"))
struct ConfigImpactTests {
    /// Four real edits to the 7.2 tree: a changed default (LOG_BUF_SHIFT 17 → 18), an
    /// added `depends on` (POSIX_MQUEUE on BROKEN), an added `select` (PROC_FS selects
    /// IKCONFIG) and a removed symbol (CROSS_MEMORY_ATTACH).
    static func edited() throws -> [(path: String, old: String, new: String)] {
        let tree = Oracles.tree72
        var initK = try String(contentsOfFile: "\(tree)/init/Kconfig", encoding: .utf8)
        let original = initK
        func replace(after marker: String, _ old: String, _ new: String) throws {
            let m = try #require(initK.range(of: marker))
            let r = try #require(initK.range(of: old, range: m.upperBound..<initK.endIndex))
            initK.replaceSubrange(r, with: new)
        }
        try replace(after: "config LOG_BUF_SHIFT\n", "\tdefault 17\n", "\tdefault 18\n")
        try replace(after: "config POSIX_MQUEUE\n", "\tdepends on NET\n", "\tdepends on NET\n\tdepends on BROKEN\n")
        let start = try #require(initK.range(of: "config CROSS_MEMORY_ATTACH\n"))
        let end = try #require(initK.range(of: "config AUDIT\n", range: start.upperBound..<initK.endIndex))
        initK.removeSubrange(start.lowerBound..<end.lowerBound)
        let proc = try String(contentsOfFile: "\(tree)/fs/proc/Kconfig", encoding: .utf8)
        let procNew = proc.replacingOccurrences(of: "config PROC_FS\n\tbool \"/proc file system support\" if EXPERT\n\tdefault y\n",
                                                with: "config PROC_FS\n\tbool \"/proc file system support\" if EXPERT\n\tdefault y\n\tselect IKCONFIG\n")
        #expect(procNew != proc)
        return [("init/Kconfig", original, initK), ("fs/proc/Kconfig", proc, procNew)]
    }

    /// The edited tree, made here without KernelKit: links to the 7.2 tree, with real
    /// directories down to each edited file.
    static func overlay(_ edits: [(path: String, old: String, new: String)], in dir: String) throws -> String {
        let fm = FileManager.default
        let root = "\(dir)/new-tree"
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        func link(_ rel: String) throws {
            for e in try fm.contentsOfDirectory(atPath: "\(Oracles.tree72)/\(rel)") where !fm.fileExists(atPath: "\(root)/\(rel)/\(e)") {
                try fm.createSymbolicLink(atPath: "\(root)/\(rel)/\(e)", withDestinationPath: "\(Oracles.tree72)/\(rel)/\(e)")
            }
        }
        for edit in edits {
            var rel = ""
            for part in edit.path.split(separator: "/").dropLast() {
                rel += (rel.isEmpty ? "" : "/") + part
                if (try? fm.destinationOfSymbolicLink(atPath: "\(root)/\(rel)")) != nil { try fm.removeItem(atPath: "\(root)/\(rel)") }
                try fm.createDirectory(atPath: "\(root)/\(rel)", withIntermediateDirectories: true)
            }
            try? fm.removeItem(atPath: "\(root)/\(edit.path)")
            try edit.new.write(toFile: "\(root)/\(edit.path)", atomically: true, encoding: .utf8)
        }
        for edit in edits {
            var rel = ""
            for part in edit.path.split(separator: "/").dropLast() { rel += (rel.isEmpty ? "" : "/") + part; try link(rel) }
        }
        try link("")
        return root
    }

    /// The patch, written by diff -u from copies under a/ and b/.
    static func patch(_ edits: [(path: String, old: String, new: String)], in dir: String) throws -> String {
        var text = ""
        for edit in edits {
            for (side, body) in [("a", edit.old), ("b", edit.new)] {
                let p = "\(dir)/\(side)/\(edit.path)"
                try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try body.write(toFile: p, atomically: true, encoding: .utf8)
            }
            let r = try run("/usr/bin/diff", ["-u", "a/\(edit.path)", "b/\(edit.path)"], in: dir)
            #expect(r.status == 1)
            text += r.out
        }
        let file = "\(dir)/edits.patch"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// 7 arches, 18 defconfigs: every defconfig of x86 (both), arm64, riscv, s390,
    /// loongarch and openrisc.
    static let arches = ["x86_64", "i386", "arm64", "riscv", "s390", "loongarch", "openrisc"]

    @Test("18 defconfigs on 7 arches: --tree NEW and --patch both give diffconfig's changes")
    func againstDiffconfig() throws {
        let dir = try TemporaryDirectory()
        let edits = try Self.edited()
        let newTree = try Self.overlay(edits, in: dir.path)
        let patch = try Self.patch(edits, in: dir.path)
        let diffconfig = "\(Oracles.tree72)/scripts/diffconfig"
        // What the kernel's tools say, per ARCH= and defconfig.
        var expected: [String: [String]] = [:]
        for arch in Self.arches {
            let srcarch = KconfigEnvironment.srcarch(for: arch)
            let names = try FileManager.default.contentsOfDirectory(atPath: "\(Oracles.tree72)/arch/\(srcarch)/configs")
                .filter { $0.hasSuffix("defconfig") && KconfigResolver.makeArch(archDirectory: srcarch, defconfig: $0) == arch }
            for name in names {
                let a = try KconfigOracleTests.confRun(tree: Oracles.tree72, arch: arch, target: name, dummyTools: srcarch != "x86", workspace: "impact").config
                let b = try KconfigOracleTests.confRun(tree: newTree, arch: arch, target: name, dummyTools: srcarch != "x86", workspace: "impact").config
                try a.write(to: URL(fileURLWithPath: "\(dir.path)/old.config"))
                try b.write(to: URL(fileURLWithPath: "\(dir.path)/new.config"))
                let r = try run("/usr/bin/python3", [diffconfig, "old.config", "new.config"], in: dir.path)
                #expect(r.status == 0, "\(r.err)")
                expected["\(arch) \(name)"] = r.out.split(separator: "\n").map(String.init)
            }
        }
        #expect(expected.count == 18)
        #expect(expected.values.filter { !$0.isEmpty }.count >= 12, "the edits change at least 12 of them")
        let archArgs = Self.arches.flatMap { ["--arch", $0] }
        for second in [["--tree", newTree], ["--patch", patch]] {
            let r = try kernelkit(["config", "impact", "--tree", Oracles.tree72] + second + archArgs + ["--dummy-tools", "--format", "json"])
            #expect(r.status == 0, "\(second): \(r.err)")
            let json = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
            #expect(json["schema"] as? String == "kernelkit.config-impact/1")
            let configs = try #require(json["configs"] as? [[String: Any]])
            var ours: [String: [String]] = [:]
            for c in configs {
                let changes = try #require(c["changes"] as? [[String: Any]], "\(c)")
                ours["\(c["arch"]!) \(c["config"]!)"] = changes.map { ch in
                    let option = ch["option"] as! String, old = ch["old"] as? String, new = ch["new"] as? String
                    if old == nil { return "+\(option) \(new!)" }
                    if new == nil { return "-\(option) \(old!)" }
                    return " \(option) \(old!) -> \(new!)"
                }
            }
            #expect(ours.keys.sorted() == expected.keys.sorted(), "\(second)")
            for (key, lines) in expected {
                // diffconfig lists removed, then added, then changed options; ours is by name.
                #expect(Set(ours[key] ?? []) == Set(lines), "\(second) \(key): ours \(ours[key] ?? []), diffconfig \(lines)")
                #expect(ours[key]?.count == lines.count)
            }
        }
    }

    @Test("--why explains on the new tree: the added depends on, the new default, the removed symbol")
    func why() throws {
        let dir = try TemporaryDirectory()
        let patch = try Self.patch(try Self.edited(), in: dir.path)
        let r = try kernelkit(["config", "impact", "--tree", Oracles.tree72, "--patch", patch, "--arch", "arm64", "--dummy-tools", "--why"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("depends on: NET [=y] && BROKEN [=n]"), "\(r.out)")
        #expect(r.out.contains("CONFIG_LOG_BUF_SHIFT=18\n          from its default: init/Kconfig:"), "\(r.out)")
        #expect(r.out.contains("CONFIG_CROSS_MEMORY_ATTACH is not defined in the new tree"), "\(r.out)")
    }

    @Test("bad input: a patch that does not apply names the file and hunk; a patch with no file; not a tree; nothing left behind")
    func badInput() throws {
        let dir = try TemporaryDirectory()
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: "/tmp").filter { $0.hasPrefix("kernelkit-patched-") })
        let bad = try dir.write("bad.patch", "--- a/init/Kconfig\n+++ b/init/Kconfig\n@@ -1,2 +1,2 @@\n-no such line\n+other\n context\n")
        var r = try kernelkit(["config", "impact", "--tree", Oracles.tree72, "--patch", bad, "--arch", "arm64"])
        #expect(r.status == 2)
        #expect(r.err.split(separator: "\n").count == 1 && r.err.contains("\(bad): error: does not apply") && r.err.contains("init/Kconfig: Hunk #1 FAILED"), "\(r.err)")
        let empty = try dir.write("empty.patch", "just words\n")
        r = try kernelkit(["config", "impact", "--tree", Oracles.tree72, "--patch", empty, "--arch", "arm64"])
        #expect(r.status == 2)
        #expect(r.err.contains("\(empty):1: error: no file in the patch"), "\(r.err)")
        r = try kernelkit(["config", "impact", "--tree", dir.path, "--tree", Oracles.tree72, "--arch", "arm64"])
        #expect(r.status == 2)
        #expect(r.err.contains("not a kernel tree"), "\(r.err)")
        let after = Set(try FileManager.default.contentsOfDirectory(atPath: "/tmp").filter { $0.hasPrefix("kernelkit-patched-") })
        #expect(after == before, "temporary trees left: \(after.subtracting(before))")
        // The tree itself is untouched by --patch.
        let k = try String(contentsOfFile: "\(Oracles.tree72)/init/Kconfig", encoding: .utf8)
        #expect(k.contains("config CROSS_MEMORY_ATTACH\n"))
    }
}
