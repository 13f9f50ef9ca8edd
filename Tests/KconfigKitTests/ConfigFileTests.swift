import Foundation
import KconfigKit
import KernelKitCore
import PropertyBased
import Testing

@Suite("ConfigFile: the .config and fragment model")
struct ConfigFileTests {
    @Test("every line form the kernel writes or accepts")
    func lineForms() throws {
        let text = """
            # x86_64
            #
            # Automatically generated file; DO NOT EDIT.
            CONFIG_A=y
            CONFIG_B=m
            CONFIG_C=n
            # CONFIG_D is not set
            CONFIG_S="quote \\" backslash \\\\ end"
            CONFIG_EMPTY=""
            CONFIG_INT=-42
            CONFIG_HEX=0x1F
            CONFIG_HEXBARE=ff

            # just a comment with CONFIG_A inside
            CONFIG_CRLF=y
            """ + "\r\n"
        let file = try ConfigFile(text: text, path: "t.config")
        #expect(file.archMarker == "x86_64")
        #expect(file.value(of: "A") == .tristate(.yes))
        #expect(file.value(of: "B") == .tristate(.module))
        #expect(file.value(of: "C") == .tristate(.no))
        #expect(file.value(of: "D") == .notSet)
        #expect(file.value(of: "S") == .string("quote \" backslash \\ end"))
        #expect(file.value(of: "EMPTY") == .string(""))
        #expect(file.value(of: "INT") == .number("-42"))
        #expect(file.value(of: "HEX") == .number("0x1F"))
        #expect(file.value(of: "HEXBARE") == .number("ff"))
        #expect(file.value(of: "CRLF") == .tristate(.yes))
        #expect(file.lines.last?.terminator == .crlf)
        #expect(file.count == 10)
        #expect(file["D"]?.location == SourceLocation(file: "t.config", line: 7))
        #expect(file.text == text)
        #expect(file.warnings.isEmpty)
    }

    @Test("a '# word' first line is an arch marker only for a known arch")
    func archMarkerOnlyWhenKnown() throws {
        #expect(try ConfigFile(text: "# arm64\nCONFIG_A=y\n").archMarker == "arm64")
        #expect(try ConfigFile(text: "# hello\nCONFIG_A=y\n").archMarker == nil)
        #expect(try ConfigFile(text: "CONFIG_A=y\n# arm64\n").archMarker == nil)
    }

    @Test("the CONFIG_ prefix can be overridden, as the CONFIG_ environment variable does")
    func prefixOverride() throws {
        let file = try ConfigFile(text: "BR2_A=y\n# BR2_B is not set\n# CONFIG_C is not set\n", prefix: "BR2_")
        #expect(file.value(of: "A") == .tristate(.yes))
        #expect(file.value(of: "B") == .notSet)
        #expect(file.value(of: "C") == nil) // a comment under this prefix
        #expect(throws: KernelKitError.self) { try ConfigFile(text: "CONFIG_A=y\n", prefix: "BR2_") }
    }

    @Test("the CLI reads the prefix from the CONFIG_ environment variable")
    func prefixFromEnvironment() throws {
        let dir = try TemporaryDirectory()
        let a = try dir.write("a", "BR2_A=y\nBR2_B=m\n")
        let b = try dir.write("b", "BR2_A=m\n")
        let r = try kernelkit(["config", "diff", "--format", "json", a, b], environment: ["CONFIG_": "BR2_"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("\"move\": \"y->m\""))
        let refused = try kernelkit(["config", "diff", a, b])
        #expect(refused.status == 2)
    }

    @Test("a duplicate assignment: the later one wins, with a warning naming both lines")
    func duplicates() throws {
        let file = try ConfigFile(text: "CONFIG_A=y\nCONFIG_B=y\nCONFIG_A=m\n", path: "f")
        #expect(file.value(of: "A") == .tristate(.module))
        #expect(file.entries.count == 3)
        #expect(file.count == 2)
        #expect(file.warnings.count == 1)
        let warning = try #require(file.warnings.first)
        #expect(warning.location == SourceLocation(file: "f", line: 3))
        #expect(warning.description.contains("line 3 overrides line 1"))
        #expect(warning.description.hasPrefix("f:3: warning: override: reassigning to symbol A"))
    }

    @Test("malformed lines are errors located at file:line:column", arguments: [
        ("CONFIG_A", 1, 9),
        ("CONFIG_=y", 1, 8),
        ("garbage", 1, 1),
        ("  CONFIG_A=y", 1, 1),
        ("CONFIG_A=y\nCONFIG_B=\"unterminated\n", 2, 10),
        ("CONFIG_A=\"x\" trailing", 1, 13),
        ("CONFIG_NR_CPUS=abc def", 1, 16),
        ("CONFIG_A=", 1, 10),
    ])
    func malformed(text: String, line: Int, column: Int) throws {
        let error = try #require(throws: KernelKitError.self) { try ConfigFile(text: text, path: "bad.config") }
        #expect(error.code == .malformedLine)
        #expect(error.location == SourceLocation(file: "bad.config", line: line, column: column))
    }

    @Test("binary and non-UTF-8 input are errors naming the line")
    func binaryAndEncoding() throws {
        let nul = try #require(throws: KernelKitError.self) {
            try ConfigFile(bytes: Array("CONFIG_A=y\nCONFIG_B=\u{0}y\n".utf8), path: "b")
        }
        #expect(nul.code == .binaryFile)
        #expect(nul.location?.line == 2)
        let latin1 = try #require(throws: KernelKitError.self) {
            try ConfigFile(bytes: Array("CONFIG_A=y\n\n# caf".utf8) + [0xE9, 0x0A], path: "e")
        }
        #expect(latin1.code == .invalidUTF8)
        #expect(latin1.location == SourceLocation(file: "e", line: 3, column: 6))
    }

    @Test("real configs parse and write back byte for byte", arguments: RealConfigs.bundled)
    func roundTripBundled(path: String) throws {
        try expectRoundTrip(path)
    }

    @Test("Debian's 6.12 configs parse and write back byte for byte", .enabled(if: Oracles.shouldRun),
          arguments: RealConfigs.debian)
    func roundTripDebian(path: String) throws {
        try expectRoundTrip(path)
    }

    private func expectRoundTrip(_ path: String) throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let file = try ConfigFile(contentsOf: path)
        #expect(Data(file.bytes) == original)
        // Parsed without its line records, a file gives the same lines (rebuilt on access),
        // bytes and entries.
        let compact = try ConfigFile(contentsOf: path, keepingLines: false)
        #expect(compact.lines == file.lines && compact.bytes == file.bytes)
        #expect(compact.effectiveEntries == file.effectiveEntries)
        #expect(file.count > 3000)
        #expect(file.warnings.isEmpty)
        // Cross-check the model's view of the symbols with a plain line count.
        let text = String(decoding: original, as: UTF8.self)
        let symbolLines = text.split(separator: "\n").filter {
            $0.hasPrefix("CONFIG_") || ($0.hasPrefix("# CONFIG_") && $0.hasSuffix(" is not set"))
        }
        #expect(file.entries.count == symbolLines.count)
    }

    @Test("the README's counts for the Azure Linux configs")
    func azureLinuxCounts() throws {
        // From ../shared/reference/azurelinux/README.md, computed there independently.
        let expected: [(String, Int, Int, Int)] = [
            (RealConfigs.azl4_618_x86, 7074, 2629, 2812),
            (RealConfigs.azl4_618_arm, 12413, 4002, 7214),
            (RealConfigs.azl3hwe_618_x86, 6839, 2155, 1149),
            (RealConfigs.azl3_66_arm, 9438, 3065, 2659),
        ]
        for (path, symbols, y, m) in expected {
            let file = try ConfigFile(contentsOf: path)
            #expect(file.count == symbols)
            #expect(file.effectiveEntries.filter { $0.value == .tristate(.yes) }.count == y)
            #expect(file.effectiveEntries.filter { $0.value == .tristate(.module) }.count == m)
        }
    }

    @Test("property: any generated config writes back exactly and reads back the same values")
    func roundTripProperty() async {
        let name = Gen.oneOf(Gen.always("A"), Gen.always("B_2"), Gen.always("HYPERV"), Gen.always("X"))
        let value = Gen.oneOf(
            Gen.always(ConfigValue.tristate(.yes)), Gen.always(.tristate(.module)), Gen.always(.tristate(.no)),
            Gen.always(.notSet),
            Gen.int(in: -1000...100000).map { ConfigValue.number(String($0)) },
            Gen.letterOrNumber.string(of: 0...8).map { ConfigValue.string($0 + "\"\\ x") })
        let line = Gen.oneOf(
            zip(name, value).map { $0.1.line(for: $0.0) },
            Gen.always("# a comment"), Gen.always(""))
        await propertyCheck(input: line.array(of: 0...30), Gen.bool) { lines, crlf in
            let text = lines.map { $0 + (crlf ? "\r\n" : "\n") }.joined()
            let file = try #require(try? ConfigFile(text: text))
            #expect(file.text == text)
            // Re-serialising each effective value gives the same value back.
            for entry in file.effectiveEntries {
                let again = try ConfigFile(text: entry.value.line(for: entry.name) + "\n")
                #expect(again.value(of: entry.name) == entry.value)
            }
        }
    }
}
