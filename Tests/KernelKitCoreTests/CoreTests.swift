import Foundation
import KernelImageKit
import KernelKitCore
import Testing

@Suite("KernelKitCore: the pieces every module shares")
struct CoreTests {
    @Test("every spelling of an arch normalises once, and unknown ones are refused")
    func archNames() {
        let cases: [(String, Arch?)] = [
            ("x86_64", .x86_64), ("amd64", .x86_64), ("X86-64", .x86_64), ("i386", .x86_32), ("i686", .x86_32),
            ("x86_32", .x86_32), ("arm64", .arm64), ("aarch64", .arm64), ("armhf", .arm), ("armv7l", .arm),
            ("riscv64", .riscv), ("riscv", .riscv), ("x86", nil), ("mips", nil), ("", nil),
        ]
        for (name, arch) in cases { #expect(Arch(normalizing: name) == arch, "\(name)") }
        #expect(Arch.arm64.rpmName == "aarch64" && Arch.x86_64.rpmName == "x86_64")
        // This machine's uname -m, through the same table as every other input.
        let machine = try? run("/usr/bin/uname", ["-m"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Arch.hostMachine == machine)
    }

    @Test("input errors name the file, and the line for binary and non-UTF-8 text")
    func inputErrors() throws {
        let dir = try TemporaryDirectory()
        func code(_ path: String) -> (KernelKitError.Code, KernelKitCore.SourceLocation?)? {
            do { _ = try InputFile.readText(path); return nil } catch { return (error.code, error.location) }
        }
        let missing = code("\(dir.path)/nothing")
        #expect(missing?.0 == .fileNotFound && missing?.1?.file == "\(dir.path)/nothing")
        #expect(code(dir.path)?.0 == .isDirectory)
        let binary = try dir.write("binary", bytes: Array("CONFIG_A=y\nCONFIG_B=\0y\n".utf8))
        let b = code(binary)
        #expect(b?.0 == .binaryFile && b?.1?.line == 2)
        let latin1 = try dir.write("latin1", bytes: Array("# a\n# b\n# caf".utf8) + [0xE9, 0x0A])
        let l = code(latin1)
        #expect(l?.0 == .invalidUTF8 && l?.1?.line == 3)
        let text = try dir.write("ok", "CONFIG_A=y\n")
        #expect(try InputFile.readText(text) == Array("CONFIG_A=y\n".utf8))
    }

    /// `-o /dev/null` as root once renamed a regular file over /dev/null. Here on nodes
    /// of our own: a null device made with mknod, a FIFO, a link to a file, a link into /proc.
    /// Each nesting level is a recursive call: 40,000 levels overflowed the stack.
    @Test("TOML and JSON nested tens of thousands deep: a located error, not a stack overflow")
    func deepNesting() throws {
        let d = 40_000
        let toml = "x = " + String(repeating: "[", count: d) + String(repeating: "]", count: d) + "\n"
        do {
            _ = try TOML.parse(Array(toml.utf8), file: "deep.toml")
            Issue.record("a 40,000-deep TOML array was accepted")
        } catch {
            #expect(error.code == .malformedLine && error.location?.file == "deep.toml" && error.location?.line == 1)
            #expect(error.message.contains("nested deeper than"), "\(error)")
        }
        let inline = "x = " + String(repeating: "{ a = ", count: d) + "1" + String(repeating: " }", count: d) + "\n"
        #expect(throws: KernelKitError.self) { try TOML.parse(Array(inline.utf8), file: "deep.toml") }
        let json = String(repeating: "{\"a\":[", count: d) + "1" + String(repeating: "]}", count: d)
        do {
            _ = try JSONValue.parse(Array(json.utf8), file: "deep.json")
            Issue.record("a 40,000-deep JSON document was accepted")
        } catch {
            #expect(error.location?.file == "deep.json" && error.location?.line == 1 && error.message.contains("nested deeper than"), "\(error)")
        }
        // Real documents are far inside the limits.
        #expect(throws: Never.self) { try JSONValue.parse(Array((String(repeating: "[", count: 500) + String(repeating: "]", count: 500)).utf8), file: "ok.json") }
        #expect(throws: Never.self) { try TOML.parse(Array(("x = " + String(repeating: "[", count: 60) + String(repeating: "]", count: 60) + "\n").utf8), file: "ok.toml") }
    }

    @Test("atomic writes to a device, a FIFO or a link write through them and never replace them")
    func atomicWritesToSpecialFiles() throws {
        let dir = try TemporaryDirectory()
        let null = "\(dir.path)/null"
        if getuid() == 0 {
            #expect(mknod(null, S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0)
            try AtomicFile.write(Array("gone\n".utf8), to: null)
            var st = stat()
            lstat(null, &st)
            #expect(st.st_mode & S_IFMT == S_IFCHR, "the device node was replaced")
        }
        let fifo = "\(dir.path)/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = try Process.run(URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", "cat '\(fifo)' > '\(dir.path)/from-fifo'"])
        try AtomicFile.write(Array("through the fifo\n".utf8), to: fifo)
        var st = stat()
        lstat(fifo, &st)
        if st.st_mode & S_IFMT == S_IFIFO {
            reader.waitUntilExit()
            #expect(try String(contentsOfFile: "\(dir.path)/from-fifo", encoding: .utf8) == "through the fifo\n")
        } else {
            reader.terminate() // it waits on the FIFO that the write replaced
            Issue.record("the FIFO was replaced")
        }
        try dir.write("target", "old\n")
        symlink("\(dir.path)/target", "\(dir.path)/link")
        try AtomicFile.write(Array("new\n".utf8), to: "\(dir.path)/link")
        #expect(try String(contentsOfFile: "\(dir.path)/target", encoding: .utf8) == "new\n")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "\(dir.path)/link")) == "\(dir.path)/target")
        // A link into /proc (as /dev/stdout is): written through, the link kept.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dir.path)/target"))
        symlink("/proc/self/fd/\(handle.fileDescriptor)", "\(dir.path)/fd-link")
        try AtomicFile.write(Array("via fd\n".utf8), to: "\(dir.path)/fd-link")
        try handle.close()
        #expect(try String(contentsOfFile: "\(dir.path)/target", encoding: .utf8).hasPrefix("via fd\n"))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "\(dir.path)/fd-link")) != nil)
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: dir.path)).contains { $0.contains(".tmp") || $0.hasPrefix(".") })
    }

    @Test("atomic writes replace whole files, keep their mode, and leave no temporary file")
    func atomicWrites() throws {
        let dir = try TemporaryDirectory()
        let path = "\(dir.path)/out.config"
        try AtomicFile.write(Array("one\n".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "one\n")
        chmod(path, 0o600)
        try AtomicFile.write(Array("two\n".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "two\n")
        var st = stat()
        stat(path, &st)
        #expect(st.st_mode & 0o7777 == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.config"])
        // A new file gets 0666 less the umask, as any program's would: compare with a file the shell creates.
        try AtomicFile.write([], to: "\(dir.path)/new")
        _ = try run("/bin/sh", ["-c", "touch '\(dir.path)/touched'"])
        var a = stat(), b = stat()
        stat("\(dir.path)/new", &a)
        stat("\(dir.path)/touched", &b)
        #expect(a.st_mode & 0o7777 == b.st_mode & 0o7777)
        do {
            try AtomicFile.write([], to: dir.path)
            Issue.record("writing over a directory succeeded")
        } catch { #expect(error.code == .isDirectory) }
        do {
            try AtomicFile.write([], to: "\(dir.path)/no/such/dir/file")
            Issue.record("writing into a missing directory succeeded")
        } catch { #expect(error.code == .writeFailed && error.location?.file == "\(dir.path)/no/such/dir/file") }
        do {
            try AtomicFile.create([1], at: path, mode: 0o600)
            Issue.record("create replaced an existing file")
        } catch { #expect(error.code == .writeFailed) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "two\n")
    }

    @Test("temporary files of killed writes are swept; a live writer's, and files of other names, are not")
    func abandonedTemporaries() throws {
        let dir = try TemporaryDirectory()
        for name in [".a.config.kernelkit-1x9z", ".b.ko.kernelkit-zzzzzzz", ".c.kernelkit-", "notes.kernelkit-12",
                     "..kernelkit-ab", ".d.kernelkit-ABC", ".e.kernelkit-12345678", "plain.config"] {
            try dir.write(name, "x")
        }
        try FileManager.default.createDirectory(atPath: "\(dir.path)/.f.kernelkit-1", withIntermediateDirectories: false)
        // A write in progress in another process: util-linux's flock(1) holds the same
        // lock a writer holds, on a file named as the writer names it, while its command
        // (which does not inherit the lock: -o) runs; the command prints its pid once the
        // lock is held.
        try dir.write(".live.config.kernelkit-abc", "partial")
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["-o", "\(dir.path)/.live.config.kernelkit-abc", "/bin/sh", "-c", "echo $$; exec sleep 60"]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        let child = pid_t(String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        defer {
            if holder.isRunning { kill(holder.processIdentifier, SIGKILL) }
            if child > 0 { kill(child, SIGKILL) }
        }
        #expect(child > 0)
        let removed = AtomicFile.removeAbandonedTemporaries(in: dir.path).map { String($0.split(separator: "/").last!) }
        #expect(Set(removed) == [".a.config.kernelkit-1x9z", ".b.ko.kernelkit-zzzzzzz"])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)) ==
                [".c.kernelkit-", "notes.kernelkit-12", "..kernelkit-ab", ".d.kernelkit-ABC", ".e.kernelkit-12345678",
                 "plain.config", ".f.kernelkit-1", ".live.config.kernelkit-abc"])
        // The writer is killed: the kernel drops its lock, and the file is abandoned. (Its
        // command goes too, or waiting would wait for the pipe it still holds.)
        kill(holder.processIdentifier, SIGKILL)
        kill(child, SIGKILL)
        holder.waitUntilExit()
        #expect(AtomicFile.removeAbandonedTemporaries(in: dir.path) == ["\(dir.path)/.live.config.kernelkit-abc"])
        // Writes still work, and leave only their file.
        try AtomicFile.write(Array("new\n".utf8), to: "\(dir.path)/plain.config")
        try AtomicFile.create([1], at: "\(dir.path)/created", mode: 0o600)
        #expect(AtomicFile.removeAbandonedTemporaries(in: dir.path).isEmpty)
        #expect(try String(contentsOfFile: "\(dir.path)/plain.config", encoding: .utf8) == "new\n")
    }

    @Test("TOML values keep their lines, and errors point at line and column")
    func toml() throws {
        let doc = try TOML.parse(Array("""
            # a baseline
            name = "kspp"
            [[rule]]
            id = "kspp.BUG"
            arch = ["x86_64", "arm64"]

            [[rule]]
            id = 'literal\\n'
            level = 3
            """.utf8), file: "p.toml")
        #expect(doc["name"]?.string == "kspp" && doc["name"]?.line == 2)
        let rules = try #require(doc["rule"]?.array)
        #expect(rules.count == 2)
        #expect(rules[0].table?["arch"]?.array?.compactMap(\.string) == ["x86_64", "arm64"])
        #expect(rules[1].table?["id"]?.string == "literal\\n" && rules[1].table?["level"]?.integer == 3)
        #expect(rules[1].table?.line == 7)
        // A table past 16 keys is indexed by a dictionary: every key is still found, and a
        // repeated one is still an error.
        let keys = (0..<40).map { "key\($0)" }
        let big = try TOML.parse(Array(("[t]\n" + keys.enumerated().map { "\($1) = \($0)" }.joined(separator: "\n") + "\n").utf8),
                                 file: "big.toml")
        #expect(keys.enumerated().allSatisfy { big["t"]?.table?[$1]?.integer == Int64($0) })
        #expect(throws: KernelKitError.self) {
            try TOML.parse(Array(("[t]\n" + keys.map { "\($0) = 1" }.joined(separator: "\n") + "\nkey30 = 2\n").utf8), file: "dup.toml")
        }
        // Keys go into the last table of a nested array of tables; an escaped string and a
        // plain one.
        let nested = try TOML.parse(Array("[[a]]\n[[a.b]]\nx = \"q\\\"uote\"\n[[a.b]]\nx = \"plain\"\n".utf8), file: "n.toml")
        let inner = try #require(nested["a"]?.array?.last?.table?["b"]?.array)
        #expect(inner.count == 2 && inner[0].table?["x"]?.string == "q\"uote" && inner[1].table?["x"]?.string == "plain")
        for (text, line, column) in [("a = \"open\n", 1, 5), ("x = 1\ny = [1, 2\n", 3, 1), ("ok = true\n= 2\n", 2, 1)] {
            do {
                _ = try TOML.parse(Array(text.utf8), file: "bad.toml")
                Issue.record("accepted \(text.debugDescription)")
            } catch {
                #expect(error.location?.file == "bad.toml" && error.location?.line == line, "\(text.debugDescription): \(error)")
                #expect(error.location?.column != nil, "\(error)")
                _ = column
            }
        }
    }

    @Test("JSON is written in the order given and reads back the same in Python's json")
    func json() throws {
        let value: JSONValue = .object([
            ("schema", "kernelkit.test/1"), ("z", 1), ("a", .array([true, false, .null, .double(0.25)])),
            ("text", .string("tab\tquote\" backslash\\ newline\n control\u{01} é ☃")),
        ])
        let text = value.serialized()
        #expect(text.firstRange(of: "\"z\"")!.lowerBound < text.firstRange(of: "\"a\"")!.lowerBound)
        let dir = try TemporaryDirectory()
        let file = try dir.write("v.json", text)
        // Python's json module is the oracle: it must read what we wrote, and its own
        // re-serialisation must parse back to the same value in ours.
        let py = try run("/usr/bin/python3", ["-c", """
            import json, sys
            v = json.load(open(sys.argv[1]))
            assert list(v) == ["schema", "z", "a", "text"], list(v)
            assert v["text"] == "tab\\tquote\\" backslash\\\\ newline\\n control\\u0001 é ☃", repr(v["text"])
            assert v["a"] == [True, False, None, 0.25]
            print(json.dumps(v, ensure_ascii=True))
            """, file])
        #expect(py.status == 0, "\(py.err)")
        #expect(try JSONValue.parse(Array(py.out.utf8), file: "py.json") == value)
        do {
            _ = try JSONValue.parse(Array("{\"a\": [1, 2,\n  }".utf8), file: "bad.json")
            Issue.record("accepted a truncated array")
        } catch { #expect(error.location?.file == "bad.json" && error.location?.line == 2) }
    }

    @Test("pythonSerialized() is what Python's json.dumps writes, byte for byte")
    func jsonAsPython() throws {
        // Every escape json.dumps makes: quote, backslash, the short forms, other control
        // characters, DEL, non-ASCII in and above the BMP; and numbers, empty containers.
        let value: JSONValue = .object([
            ("s", .string("q\" b\\ n\n r\r t\t b\u{08} f\u{0C} c\u{01}\u{1F} del\u{7F} é ☃ 𝄞 😀 ~")),
            ("n", .array([.int(-3), .double(0.25), .double(-2.5), .double(1e16), .bool(true), .null])),
            ("e", .array([.object([]), .array([])])),
        ])
        let dir = try TemporaryDirectory()
        let file = try dir.write("v.json", value.serialized())
        let py = try run("/usr/bin/python3", ["-c", "import json, sys; sys.stdout.write(json.dumps(json.load(open(sys.argv[1]))))", file])
        #expect(py.status == 0, "\(py.err)")
        #expect(value.pythonSerialized() == py.out)
    }

    @Test("an array written on every core is byte for byte the array written in turn")
    func jsonArrayInParallel() throws {
        // Items of every shape, nested, empty and not, many more than there are cores.
        let items: [JSONValue] = (0..<37).map { i in
            switch i % 5 {
            case 0: .object([("n", .int(i)), ("list", .array([.string("a\n\(i)"), .null, .bool(i % 2 == 0)]))])
            case 1: .array([])
            case 2: .object([])
            case 3: .string("item \(i) \"quoted\"")
            default: .array([.object([("deep", .array([.double(Double(i) / 4)]))])])
            }
        }
        for n in [0, 1, 2, items.count] {
            let some = Array(items.prefix(n))
            for pretty in [true, false] {
                #expect(JSONValue.serialized(array: some, pretty: pretty) == JSONValue.array(some).serialized(pretty: pretty),
                        "\(n) items, pretty \(pretty)")
            }
        }
        // And Python's json reads the same 37 items back, in order.
        let dir = try TemporaryDirectory()
        let file = try dir.write("a.json", JSONValue.serialized(array: items))
        let py = try run("/usr/bin/python3", ["-c", "import json, sys; v = json.load(open(sys.argv[1])); print(len(v), v[5]['n'], v[3])", file])
        #expect(py.status == 0, "\(py.err)")
        #expect(py.out == "37 5 item 3 \"quoted\"\n")
    }

    @Test("each compression round-trips through the real command-line tool", arguments: [
        (Compression.gzip, "/usr/bin/gzip", ["-c"], ["-dc"]),
        (.xz, "/usr/bin/xz", ["-c", "--check=crc32"], ["-dc"]),
        (.zstd, "/usr/bin/zstd", ["-c", "-q"], ["-dc", "-q"]),
        (.lzma, "/usr/bin/xz", ["-c", "--format=lzma"], ["-dc", "--format=lzma"]),
        (.lz4, "/usr/bin/lz4", ["-c", "-l"], ["-dc"]),
        (.bzip2, "/usr/bin/bzip2", ["-c"], ["-dc"]),
    ])
    func compression(format: Compression, tool: String, compressArgs: [String], decompressArgs: [String]) throws {
        let dir = try TemporaryDirectory()
        var plain = [UInt8]()
        for i in 0..<200_000 { plain.append(UInt8(truncatingIfNeeded: i &* 31 ^ (i >> 7))) }
        // Then 9 MiB of zeros: the best ratio a format reaches (LZ4's ~255:1 sizes our
        // decoder's per-block buffer) and, for lz4 -l, a second 8 MiB block.
        plain += [UInt8](repeating: 0, count: 9 << 20)
        let input = try dir.write("plain", bytes: plain)
        // The tool's output, decompressed by us (and detected by its magic).
        let theirs = try run("/bin/sh", ["-c", "'\(tool)' \(compressArgs.joined(separator: " ")) < '\(input)'"])
        #expect(theirs.status == 0)
        #expect(Compression.detect(Array(theirs.stdout)) == format)
        #expect(try format.decompress(Array(theirs.stdout)[...], file: "theirs") == plain)
        // Ours, decompressed by the tool, where we write the format (modules: gzip, xz, zstd).
        guard [.gzip, .xz, .zstd].contains(format) else { return }
        let ours = try dir.write("ours", bytes: try format.compress(plain, file: "ours"))
        let back = try run("/bin/sh", ["-c", "'\(tool)' \(decompressArgs.joined(separator: " ")) < '\(ours)'"])
        #expect(back.status == 0 && Array(back.stdout) == plain)
        // Truncated data is an error naming the file, not a crash or a short result.
        let cut = Array(theirs.stdout.prefix(theirs.stdout.count / 2))
        do {
            _ = try format.decompress(cut[...], file: "cut")
            Issue.record("accepted truncated \(format) data")
        } catch { #expect(error.code == .compression && error.location?.file == "cut") }
    }

    /// An lzma header names its dictionary size (bytes 1-4, up to 4 GiB) and liblzma
    /// allocates it whole: the fuzzer's kernel-image target made a 3.8 GB allocation from
    /// a 13-byte header. The stream comes from the real xz; only its dictionary field is
    /// raised, past the 512 MiB limit.
    @Test("an lzma header asking for a huge dictionary is a located error, not a huge allocation")
    func lzmaDictionaryLimit() throws {
        let dir = try TemporaryDirectory()
        let input = try dir.write("plain", Array(repeating: "CONFIG_X=y\n", count: 1000).joined())
        let xz = try run("/bin/sh", ["-c", "/usr/bin/xz -c --format=lzma --lzma1=dict=1MiB < '\(input)'"])
        #expect(xz.status == 0)
        var stream = Array(xz.stdout)
        #expect(try Compression.lzma.decompress(stream[...], file: "fine.lzma").count == 11_000)
        for (i, b) in [UInt8(0x00), 0x00, 0x00, 0xf0].enumerated() { stream[1 + i] = b } // 3.75 GiB
        do {
            _ = try Compression.lzma.decompress(stream[...], file: "huge.lzma")
            Issue.record("decoded a stream whose header asks for a 3.75 GiB dictionary")
        } catch {
            #expect(error.code == .memoryLimit && error.location?.file == "huge.lzma")
            #expect(error.message.contains("more than 512 MiB"), "\(error.message)")
        }
        // The same stream inside an image with no header to say where it is: the
        // extract-vmlinux scan finds it and says why it stopped ("no compressed kernel
        // found" before).
        let image = Array(repeating: UInt8(0x90), count: 64) + stream
        do {
            _ = try KernelImage.vmlinux(image, file: "raw.img")
            Issue.record("a raw image with a 3.75 GiB dictionary decoded")
        } catch {
            #expect(error.code == .memoryLimit && error.message.contains("more than 512 MiB"), "\(error.message)")
        }
    }
}
