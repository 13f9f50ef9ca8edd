import Foundation
import KconfigKit
import Testing

/// The kernel's own Kconfig selftests (scripts/kconfig/tests in the 7.2 tree), run
/// against KernelKit's engine the way their conftest.py runs conf: srctree is the test
/// directory, KCONFIG_DEFCONFIG_LIST is empty, and results are compared with the
/// expected_* files that ship with the kernel (produced by the kernel's conf).
///
/// oldconfig/oldaskconfig are answered as conftest.py answers them (the keys, then Enter
/// until conf exits), with stdin not a terminal so that answers are echoed.
@Suite("Kconfig: the kernel's own selftests", .enabled(if: Oracles.treesShouldRun, "needs the 7.2 tree"))
struct KconfigSelftests {
    static let root = "\(Oracles.tree72)/scripts/kconfig/tests"

    func conf(_ test: String, _ mode: ConfProgram.Mode, dotConfig: String? = nil,
              env extra: [String: String] = [:]) throws -> ConfProgram.Run {
        var env = ProcessInfo.processInfo.environment
        env["srctree"] = "\(Self.root)/\(test)"
        env["KCONFIG_DEFCONFIG_LIST"] = ""
        for (k, v) in extra { env[k] = v }
        let dot = try dotConfig.map { Array(try Data(contentsOf: URL(fileURLWithPath: "\(Self.root)/\(test)/\($0)"))) }
        return ConfProgram.run(mode, srctree: "\(Self.root)/\(test)", environment: env, dotConfig: dot)
    }

    func expected(_ test: String, _ file: String) throws -> String {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: "\(Self.root)/\(test)/\(file)")), as: UTF8.self)
    }

    @Test("errors: recursive dependency, recursive and repeated inclusion, circular expansion", arguments: [
        "err_recursive_dep", "err_recursive_inc", "err_repeated_inc", "preprocess/circular_expansion",
    ])
    func errors(test: String) throws {
        let r = try conf(test, .olddefconfig)
        #expect(r.status != 0)
        let want = try expected(test, "expected_stderr")
        // As the kernel's tests assert: stderr_contains for err_*, stderr_matches for preprocess.
        let ok = test.hasPrefix("err_") ? r.stderr.contains(want) : r.stderr == want
        #expect(ok, "ours:\n\(r.stderr)\nconf's:\n\(want)")
    }

    @Test("preprocess: variables, escapes, built-in functions", arguments: [
        "preprocess/variable", "preprocess/escape", "preprocess/builtin_func",
    ])
    func preprocess(test: String) throws {
        let r = try conf(test, .olddefconfig)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr == (try expected(test, "expected_stderr")))
        if FileManager.default.fileExists(atPath: "\(Self.root)/\(test)/expected_stdout") {
            #expect(r.stdout.contains(try expected(test, "expected_stdout")))
        }
    }

    @Test("transitional: old values migrate to the new symbols and are not written")
    func transitional() throws {
        let r = try conf("transitional", .olddefconfig, dotConfig: "initial_config")
        #expect(r.status == 0, "\(r.stderr)")
        #expect((r.config ?? "").contains(try expected("transitional", "expected_config")))
    }

    @Test("warn_changed_input: user values that Kconfig changed are listed, for olddefconfig and savedefconfig")
    func warnChangedInput() throws {
        let env = ["KCONFIG_WARN_CHANGED_INPUT": "1"]
        let old = try conf("warn_changed_input", .olddefconfig, dotConfig: "config", env: env)
        #expect(old.status == 0)
        #expect(old.stderr.contains(try expected("warn_changed_input", "expected_stderr")))
        #expect((old.config ?? "").contains(try expected("warn_changed_input", "expected_config")))
        let save = try conf("warn_changed_input", .savedefconfig, dotConfig: "config", env: env)
        #expect(save.stderr.contains(try expected("warn_changed_input", "expected_stderr")))
        #expect(save.config == (try expected("warn_changed_input", "expected_defconfig")))
    }

    /// conftest.py feeds the keys, then Enter until conf exits.
    static func keys(_ s: String) -> [UInt8] { Array((s + String(repeating: "\n", count: 200)).utf8) }

    @Test("oldconfig and oldaskconfig: the prompts conf prints, answered as conftest.py answers")
    func interactive() throws {
        // transitional: symbols with transitional defaults are not asked, except when the
        // conditional default is 'no'.
        let t = try conf("transitional", .oldconfig(input: Self.keys("n\n")), dotConfig: "initial_config")
        #expect(t.status == 0)
        #expect(t.stdout.contains(try expected("transitional", "expected_stdout")), "\(t.stdout)")
        let c = try conf("choice", .oldaskconfig(input: Self.keys("")))
        #expect(c.stdout.contains(try expected("choice", "oldask0_expected_stdout")), "\(c.stdout)")
        // auto_submenu: entries that depend on the one before become its submenu and are
        // asked with deeper indentation.
        let a = try conf("auto_submenu", .oldaskconfig(input: Self.keys("")))
        #expect(a.stdout.contains(try expected("auto_submenu", "expected_stdout")), "\(a.stdout)")
        // new_choice_with_dep: "Choice ?" depends on A, so menu_finalize() nests it under A
        // as an automatic submenu, and conf indents it.
        let n = try conf("new_choice_with_dep", .oldconfig(input: Self.keys("y")), dotConfig: "config")
        #expect(n.stdout.contains(try expected("new_choice_with_dep", "expected_stdout")), "\(n.stdout)")
        let w = try conf("no_write_if_dep_unmet", .oldaskconfig(input: Self.keys("n")), dotConfig: "config")
        #expect(w.config == (try expected("no_write_if_dep_unmet", "expected_config")), "\(w.config ?? "")")
        for k in 1...3 {
            let d = try conf("conditional_dep", .oldconfig(input: Self.keys("")), dotConfig: "test_config\(k)")
            #expect(d.config == (try expected("conditional_dep", "expected_config\(k)")))
        }
    }

    @Test("err_transitional: transitional symbols can only have help sections")
    func errTransitional() throws {
        let r = try conf("err_transitional", .olddefconfig)
        #expect(r.status == 1)
        #expect(r.stderr.contains(try expected("err_transitional", "expected_stderr")))
    }

    @Test("choice: all*config", arguments: [
        (ConfProgram.Mode.allyesconfig, "allyes_expected_config"), (.allmodconfig, "allmod_expected_config"),
        (.allnoconfig, "allno_expected_config"), (.alldefconfig, "alldef_expected_config"),
    ])
    func choice(mode: ConfProgram.Mode, expectedFile: String) throws {
        let r = try conf("choice", mode)
        #expect(r.status == 0)
        let want = try expected("choice", expectedFile)
        #expect((r.config ?? "").contains(want), "ours:\n\(r.config ?? "")\nconf's:\n\(want)")
    }

    @Test("conditional_dep: `depends on X if Y` (oldconfig, nothing left to ask)", arguments: [1, 2, 3])
    func conditionalDep(n: Int) throws {
        let r = try conf("conditional_dep", .olddefconfig, dotConfig: "test_config\(n)")
        #expect(r.status == 0)
        #expect(r.config == (try expected("conditional_dep", "expected_config\(n)")))  // config_matches
    }
}
