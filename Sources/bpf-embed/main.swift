// Writes a BPF object file as Swift source: `BPFObjects.NAME`, its bytes as base64, so
// the object is part of the module (used by the BPFCompilerPlugin build tool).
// Usage: bpf-embed OBJECT.o OUTPUT.swift NAME
import Foundation

let args = CommandLine.arguments
guard args.count == 4 else {
    FileHandle.standardError.write(Data("usage: bpf-embed OBJECT.o OUTPUT.swift NAME\n".utf8))
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
