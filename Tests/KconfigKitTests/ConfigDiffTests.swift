import Foundation
import KconfigKit
import Testing

@Suite("diff: text and JSON")
struct ConfigDiffTests {
    let old = """
        CONFIG_GONE=y
        # CONFIG_GONE_UNSET is not set
        CONFIG_DEMOTE=y
        CONFIG_PROMOTE=m
        CONFIG_DISABLE=y
        CONFIG_N_EQUALS=n
        # CONFIG_STILL_UNSET is not set
        CONFIG_STR="a"
        CONFIG_NUM=1

        """
    let new = """
        CONFIG_DEMOTE=m
        CONFIG_PROMOTE=y
        # CONFIG_DISABLE is not set
        # CONFIG_N_EQUALS is not set
        # CONFIG_STILL_UNSET is not set
        CONFIG_STR="b"
        CONFIG_NUM=2
        CONFIG_ADDED=m
        # CONFIG_ADDED_UNSET is not set

        """

    @Test("kinds, moves, and absent versus not set")
    func model() throws {
        let diff = ConfigDiff(old: try ConfigFile(text: old, path: "old"), new: try ConfigFile(text: new, path: "new"))
        #expect(diff.removed.map(\.name) == ["GONE", "GONE_UNSET"])
        #expect(diff.added.map(\.name) == ["ADDED", "ADDED_UNSET"])
        #expect(diff.changed.map(\.name) == ["DEMOTE", "DISABLE", "NUM", "PROMOTE", "STR"])
        let moves = Dictionary(uniqueKeysWithValues: diff.changed.compactMap { c in c.move.map { (c.name, $0.description) } })
        #expect(moves == ["DEMOTE": "y->m", "PROMOTE": "m->y", "DISABLE": "y->n"])
        // =n and "is not set" mean the same to the kernel: no change.
        #expect(!diff.changes.contains { $0.name == "N_EQUALS" || $0.name == "STILL_UNSET" })
    }

    @Test("JSON: schema fields, parsed by Foundation")
    func json() throws {
        let dir = try TemporaryDirectory()
        let a = try dir.write("old", old), b = try dir.write("new", new)
        let r = try kernelkit(["config", "diff", "--format", "json", a, b])
        #expect(r.status == 0)
        let doc = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        #expect(doc["schema"] as? String == "kernelkit.config-diff/1")
        let summary = try #require(doc["summary"] as? [String: Any])
        #expect(summary["removed"] as? Int == 2)
        #expect(summary["added"] as? Int == 2)
        #expect(summary["changed"] as? Int == 5)
        #expect((summary["moves"] as? [String: Int]) == ["y->m": 1, "m->y": 1, "y->n": 1])
        let changes = try #require(doc["changes"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: changes.map { ($0["name"] as! String, $0) })
        let gone = try #require(byName["GONE_UNSET"])
        #expect((gone["old"] as? [String: Any])?["state"] as? String == "not-set")
        #expect((gone["new"] as? [String: Any])?["state"] as? String == "absent")
        let str = try #require(byName["STR"])
        #expect((str["new"] as? [String: Any])?["string"] as? String == "b")
        #expect((str["new"] as? [String: Any])?["line"] as? Int == 6)
    }

    @Test("text: grouped sections, moves highlighted, no colour when not a terminal")
    func text() throws {
        let dir = try TemporaryDirectory()
        let a = try dir.write("old", old), b = try dir.write("new", new)
        let r = try kernelkit(["config", "diff", a, b])
        #expect(r.status == 0)
        #expect(!r.out.contains("\u{1B}["))
        #expect(r.out.contains("2 removed, 2 added, 5 changed (y→m 1, m→y 1, y→n 1)"))
        let sections = ["Removed (2)", "Added (2)", "Changed (5)", "y→m built-in demoted to module (1)", "values (2)"]
        var cursor = r.out.startIndex
        for section in sections {
            let found = try #require(r.out.range(of: section, range: cursor..<r.out.endIndex), "missing \(section)")
            cursor = found.upperBound
        }
        #expect(r.out.contains("~CONFIG_DEMOTE"))
        #expect(r.out.contains("+CONFIG_ADDED_UNSET"))
    }

    @Test("--exit-code: 1 when the configs differ, 0 when they do not")
    func exitCode() throws {
        let dir = try TemporaryDirectory()
        let a = try dir.write("a", old), b = try dir.write("b", new)
        #expect(try kernelkit(["config", "diff", "--exit-code", a, b]).status == 1)
        #expect(try kernelkit(["config", "diff", "--exit-code", "--format", "diffconfig", a, a]).status == 0)
        #expect(try kernelkit(["config", "diff", a, b]).status == 0)
        // -m prints nothing for a removal, but the files still differ.
        let c = try dir.write("c", "CONFIG_A=y\nCONFIG_GONE=y\n"), d = try dir.write("d", "CONFIG_A=y\n")
        let merged = try kernelkit(["config", "diff", "-m", "--exit-code", c, d])
        #expect(merged.out.isEmpty && merged.status == 1)
        #expect(try kernelkit(["config", "diff", "-m", "--exit-code", d, d]).status == 0)
    }
}
