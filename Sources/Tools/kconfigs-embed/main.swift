// Writes kconfigs/ files as one Swift source file holding them as raw string literals
// (used by the KconfigsEmbedPlugin build tool for the KernelKitData module).
// Usage: kconfigs-embed OUTPUT.swift KCONFIGS-DIR RELATIVE-PATH...
import Foundation

let args = CommandLine.arguments
guard args.count >= 3 else {
    FileHandle.standardError.write(Data("usage: kconfigs-embed OUTPUT.swift KCONFIGS-DIR RELATIVE-PATH...\n".utf8))
    exit(2)
}
let root = URL(fileURLWithPath: args[2])
var source = "// Generated at build time by Tools/kconfigs-embed from kconfigs/. Do not edit.\n\n"
source += "let embeddedKconfigFiles: [String: String] = [\n"
for rel in args[3...] {
    let data = try Data(contentsOf: root.appending(path: rel))
    guard let text = String(data: data, encoding: .utf8) else {
        FileHandle.standardError.write(Data("kconfigs-embed: kconfigs/\(rel) is not UTF-8\n".utf8))
        exit(1)
    }
    // The raw-string delimiter grows until the text can neither close the literal early
    // nor start an interpolation or escape in it.
    var hashes = "#"
    while text.contains("\"\"\"" + hashes) || text.contains("\\" + hashes) { hashes += "#" }
    // A multi-line literal drops the line end before its closing delimiter: one extra
    // line end keeps every byte of the file.
    source += "    \(String(reflecting: rel)): \(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes),\n"
}
source += "]\n"
let out = URL(fileURLWithPath: args[1])
// Rewritten only when it changes, so an unchanged kconfigs/ does not recompile the module.
if (try? Data(contentsOf: out)) != Data(source.utf8) {
    try Data(source.utf8).write(to: out, options: .atomic)
}
