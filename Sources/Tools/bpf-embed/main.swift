// Writes a BPF object file as Swift source: `BPFObjects.NAME`, its bytes as base64, so
// the object is part of the module (used by the BPFCompilerPlugin build tool).
// Usage: bpf-embed OBJECT.o OUTPUT.swift NAME
//        bpf-embed --compile CLANG OBJECT.o OUTPUT.swift NAME -- CLANG-ARGS...
import Foundation

var args = CommandLine.arguments
// bpf-embed --compile CLANG OBJECT.o OUTPUT.swift NAME -- CLANG-ARGS...: runs clang first
// (with `-o OBJECT.o` appended), then embeds the object.
if args.count > 6, args[1] == "--compile", let dash = args.firstIndex(of: "--") {
    let clang = Process()
    clang.executableURL = URL(fileURLWithPath: args[2])
    clang.arguments = Array(args[(dash + 1)...]) + ["-o", args[3]]
    try clang.run()
    clang.waitUntilExit()
    guard clang.terminationStatus == 0 else { exit(clang.terminationStatus) }
    args = [args[0], args[3], args[4], args[5]]
}
guard args.count == 4 else {
    FileHandle.standardError.write(Data("usage: bpf-embed [--compile CLANG] OBJECT.o OUTPUT.swift NAME [-- CLANG-ARGS...]\n".utf8))
    exit(2)
}
let bytes = try Data(contentsOf: URL(fileURLWithPath: args[1]))
let name = args[3].replacingOccurrences(of: "-", with: "_")
let source = """
// Generated from \(URL(fileURLWithPath: args[1]).lastPathComponent) (\(bytes.count) bytes) by bpf-embed. Do not edit.

extension BPFObjects {
    static let \(name) = BPFObjectData(name: "\(args[3])", base64: "\(bytes.base64EncodedString())")
}

"""
try Data(source.utf8).write(to: URL(fileURLWithPath: args[2]), options: .atomic)
