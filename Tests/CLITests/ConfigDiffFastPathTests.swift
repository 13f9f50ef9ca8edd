import Foundation
import Testing

/// `config diff` has a fast path that skips ArgumentParser (KernelKitCommand.main): it
/// must behave exactly as the parser's path. A `--` before the files is a spelling only
/// the parser handles, so each case runs both ways.
@Suite("config diff: the fast path equals the ArgumentParser path")
struct ConfigDiffFastPathTests {
    static let options: [[String]] = [
        [], ["--format", "json"], ["--format=text"], ["--format", "diffconfig"], ["-m"], ["--exit-code"],
        ["-m", "--exit-code"], ["--format", "diffconfig", "-m"], ["--exit-code", "--format=json"],
    ]

    @Test("same output, errors and exit status", arguments: options)
    func same(options: [String]) throws {
        let dir = try TemporaryDirectory()
        let old = try dir.write("old.config", "CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_S=\"x\"\n")
        let new = try dir.write("new.config", "CONFIG_A=m\nCONFIG_C=y\nCONFIG_S=\"y\"\nCONFIG_D=0x10\n")
        let dup = try dir.write("dup.config", "CONFIG_A=y\nCONFIG_A=n\n")
        let bad = try dir.write("bad.config", "CONFIG_A=y\nthis is not a config line\n")
        let pairs = [(old, new), (new, old), (old, old), (dup, new), (old, bad), (old, "\(dir.path)/missing"), (dir.path, new)]
        for (a, b) in pairs {
            let fast = try kernelkit(["config", "diff"] + options + [a, b])
            let parsed = try kernelkit(["config", "diff"] + options + ["--", a, b])
            #expect(fast.status == parsed.status, "\(options) \(a) \(b)")
            #expect(fast.out == parsed.out, "\(options) \(a) \(b)")
            #expect(fast.err == parsed.err, "\(options) \(a) \(b)")
        }
    }
}
