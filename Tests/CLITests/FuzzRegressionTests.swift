import Foundation
import Testing
import TestSupport

/// What the fuzzer found (scripts/fuzz.sh, docs/reliability.md), kept: each file under
/// Tests/Fixtures/fuzz/TARGET/ crashed or leaked in that target before its fix, and is
/// replayed here through the same target by the plain build of kernelkit-fuzz (which
/// scripts/test.sh's `swift build` makes). A crash comes back as a signal.
@Suite("fuzz regressions (Tests/Fixtures/fuzz)")
struct FuzzRegressionTests {
    static let root = "\(Paths.packageRoot)/Tests/Fixtures/fuzz"
    static let replay = "\(Paths.packageRoot)/.build/debug/kernelkit-fuzz"

    static var targets: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
    }

    @Test("every reproducer runs through its target without a crash", arguments: targets)
    func reproducers(target: String) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.replay) else {
            Issue.record("no \(Self.replay): build it with `swift build` (scripts/test.sh does)")
            return
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(Self.root)/\(target)").sorted().map { "\(Self.root)/\(target)/\($0)" }
        #expect(!files.isEmpty)
        let r = try run(Self.replay, [target] + files)
        #expect(r.status == 0, "\(target): exit \(r.status): \(r.err.suffix(800))")
    }
}
