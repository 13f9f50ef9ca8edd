import Foundation
import Testing

/// `--help` as a user reads it on an 80-column terminal: ArgumentParser wraps any longer
/// line where the column runs out, mid-sentence or mid-command. The discussion (examples
/// included) is written to fit, so it reads the same at 80 columns as at 400.
@Suite("--help fits an 80-column terminal")
struct HelpTextTests {
    /// Every command, found by walking `kernelkit help`'s SUBCOMMANDS lists.
    static func commands() throws -> [[String]] {
        var found: [[String]] = [[]], queue: [[String]] = [[]]
        while let c = queue.popLast() {
            let r = try kernelkit(c + ["--help"], environment: ["COLUMNS": "400"])
            var inList = false
            for line in r.out.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("SUBCOMMANDS:") { inList = true; continue }
                if inList {
                    if line.isEmpty || !line.hasPrefix("  ") { inList = false; continue }
                    guard let name = line.split(separator: " ").first.map(String.init), name != "help" else { continue }
                    found.append(c + [name])
                    queue.append(c + [name])
                }
            }
        }
        return found
    }

    @Test("each command's discussion and examples are the same at 80 columns as at 400")
    func fits() throws {
        let commands = try Self.commands()
        #expect(commands.count > 30, "\(commands)")
        for c in commands {
            // The part between the overview and USAGE: the discussion.
            func discussion(_ columns: String) throws -> String {
                let text = try kernelkit(c + ["--help"], environment: ["COLUMNS": columns]).out
                let body = text.components(separatedBy: "\nUSAGE:").first ?? text
                return body.components(separatedBy: "\n\n").dropFirst().joined(separator: "\n\n")
            }
            let wide = try discussion("400"), narrow = try discussion("80")
            if wide != narrow {
                let w = wide.split(separator: "\n"), n = narrow.split(separator: "\n")
                let first = zip(w, n).first { $0 != $1 }
                Issue.record("kernelkit \(c.joined(separator: " ")) --help wraps at 80 columns: \(first.map { "'\($0.0)'" } ?? "")")
            }
        }
    }
}
