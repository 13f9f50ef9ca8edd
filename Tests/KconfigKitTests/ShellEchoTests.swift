import Foundation
@testable import KconfigKit
import Testing

/// merge_config.sh prints through /bin/sh's echo with unquoted values; the emulation is
/// checked against the real /bin/sh here.
@Suite("ShellEcho: the same bytes as /bin/sh's echo")
struct ShellEchoTests {
    @Test("unquoted values with white space and backslash escapes", arguments: [
        "plain", "two  spaces\tand tab", "line\nbreak", "back\\slash", "\\\\double", "\\n newline escape",
        "\\t\\v\\f\\a\\b\\r", "octal \\0101 and \\101 and \\08 and \\8", "stop\\c here", "trailing\\",
        "\\\"quote\\\"", "nul \\0 cut", "CONFIG_CMDLINE=\"console=ttyS0   quiet \\\"x\\\" a\\\\b\"", "",
        "-n", "é ünïcode",
    ])
    func matchesShell(value: String) throws {
        let shell = try run("/bin/sh", ["-c", "V=\"$1\"; echo Previous  value: $V; echo \"$V\"", "sh", value])
        let ours = ShellEcho.echo([.quoted(Array("Previous".utf8)), .quoted(Array("value:".utf8)), .unquoted(Array(value.utf8))])
            + ShellEcho.echo([.quoted(Array(value.utf8))])
        #expect(Data(ours) == shell.stdout, "value \(value.debugDescription)")
    }
}
