import Foundation
import KconfigKit
import Testing

/// `kernelkit config diff --format diffconfig` against the kernel's scripts/diffconfig,
/// run on the same files in the same test.
@Suite("diff: byte-identical to scripts/diffconfig", .enabled(if: Oracles.shouldRun, "needs scripts/setup-oracles.sh"))
struct DiffconfigOracleTests {
    static let pairs: [(String, String)] = [
        (RealConfigs.azl3_66_x86, RealConfigs.azl3hwe_618_x86),   // AZL 6.6 -> AZL-hwe 6.18
        (RealConfigs.azl3_66_arm, RealConfigs.azl3hwe_618_arm),
        (RealConfigs.azl3hwe_618_x86, RealConfigs.azl4_618_x86),  // AZL3-hwe -> AZL4, same 6.18
        (RealConfigs.azl4_618_x86, RealConfigs.azl4_618_arm),     // across arches
        (RealConfigs.debianAmd64, RealConfigs.debianCloud),       // Debian generic -> cloud
        (RealConfigs.debianCloud, RealConfigs.azl4_618_x86),      // Debian cloud 6.12 -> AZL4 6.18
        (RealConfigs.host_618, RealConfigs.azl4_618_x86),
        (RealConfigs.debianRT, RealConfigs.debianAmd64),
    ]

    @Test("real config pairs, plain and -m", arguments: pairs)
    func realPairs(old: String, new: String) throws {
        for merge in [false, true] {
            let flags = merge ? ["-m"] : []
            let expected = try run("/usr/bin/python3", [Oracles.diffconfig] + flags + [old, new])
            let actual = try kernelkit(["config", "diff", "--format", "diffconfig"] + flags + [old, new])
            #expect(expected.status == 0)
            #expect(actual.status == 0, "\(actual.err)")
            #expect(!expected.stdout.isEmpty)
            #expect(actual.stdout == expected.stdout, "diffconfig \(flags) \(old) \(new)")
            // -m alone selects the diffconfig format, as the command line has it.
            if merge {
                #expect(try kernelkit(["config", "diff", "-m", old, new]).stdout == expected.stdout)
            }
        }
    }

    /// The same cases on both paths: files with diffconfig's quirks (no final newline,
    /// CRLF) are re-read with diffconfig's rules, plain ones are diffed from the indexes.
    static let quirkyOld = """
        CONFIG_A=y
        CONFIG_B=m
        # CONFIG_C is not set
        CONFIG_D=n
        CONFIG_E="x"
        CONFIG_DUP=y
        CONFIG_DUP=m
        CONFIG_S="two  spaces \\\\ and \\"quotes\\""
        CONFIG_Z=1
        """
    static let quirkyNew = """
        CONFIG_A=m
        CONFIG_C=n
        # CONFIG_D is not set
        CONFIG_E=""
        CONFIG_NEW=""
        CONFIG_DUP=m
        CONFIG_S="changed"
        CONFIG_Z=0x1
        """

    @Test("diffconfig's quirks: no final newline, CRLF, empty values, =n against is-not-set, duplicates")
    func quirks() throws {
        let dir = try TemporaryDirectory()
        let old = try dir.write("old", Self.quirkyOld + "\r\nCONFIG_CR=y\r\n# CONFIG_LAST is not set")
        let new = try dir.write("new", Self.quirkyNew + "\nCONFIG_LAST=y")
        try expectSameAsDiffconfig(old, new)
    }

    @Test("plain files (diffconfig's reading equals the model's): diffed from the parsed indexes")
    func plainQuirks() throws {
        let dir = try TemporaryDirectory()
        // No carriage returns, final newlines: Diffconfig.isPlain holds for both.
        let old = try dir.write("old", Self.quirkyOld + """

            CONFIG_a_lower=y
            CONFIG_AB=y
            # a comment
            # CONFIG_GONE is not set

            """)
        let new = try dir.write("new", Self.quirkyNew + """

            CONFIG_DUP=y
            CONFIG_A_=y
            CONFIG_AB=n
            CONFIG_ZZ=-3
            # CONFIG_NEWOFF is not set

            """)
        // A comment that ends in " is not set" is an entry to diffconfig (its name from
        // the line's 10th character on): such a file is not plain and is re-read.
        let lookalike = try dir.write("lookalike", "CONFIG_A=y\n# not a symbol is not set\n# CONFIG_B is not set\n")
        for (a, b) in [(old, new), (new, old), (old, old), (lookalike, old), (old, lookalike)] {
            try expectSameAsDiffconfig(a, b)
        }
    }

    /// Both the plain and the -m output of `config diff --format diffconfig` equal the
    /// kernel's diffconfig on the same two files.
    func expectSameAsDiffconfig(_ old: String, _ new: String) throws {
        for flags in [[], ["-m"]] {
            let expected = try run("/usr/bin/python3", [Oracles.diffconfig] + flags + [old, new])
            let actual = try kernelkit(["config", "diff", "--format", "diffconfig"] + flags + [old, new])
            #expect(expected.status == 0)
            #expect(actual.out == expected.out, "flags \(flags)")
        }
    }

    @Test("with no files it compares .config.old and .config, honouring KBUILD_OUTPUT")
    func defaultFiles() throws {
        let dir = try TemporaryDirectory()
        try dir.write(".config.old", "CONFIG_A=y\n")
        try dir.write(".config", "CONFIG_A=m\n")
        let expected = try run("/usr/bin/python3", [Oracles.diffconfig], environment: ["KBUILD_OUTPUT": dir.path])
        let actual = try kernelkit(["config", "diff", "--format", "diffconfig"], environment: ["KBUILD_OUTPUT": dir.path])
        #expect(expected.out == " A y -> m\n")
        #expect(actual.out == expected.out)
    }
}
