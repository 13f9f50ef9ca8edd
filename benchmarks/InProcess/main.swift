// In-process micro-benchmarks: the library's hot paths, timed with a monotonic clock.
// Run: swift run -c release kernelkit-benchmarks [--iterations N]
// Whole-process comparisons against the kernel's tools are in benchmarks/compare.py.
import KconfigKit
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Times `body` `iterations` times after two warm-up runs; returns the median in ms.
func measure(_ iterations: Int, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<2 { try body() }
    var samples = [Double]()
    for _ in 0..<iterations {
        let t0 = now()
        try body()
        samples.append((now() - t0) * 1000)
    }
    return median(samples)
}

let args = CommandLine.arguments
var iterations = 50
if let i = args.firstIndex(of: "--iterations"), i + 1 < args.count, let n = Int(args[i + 1]) { iterations = n }
let only = args.first(where: { $0.hasPrefix("--only=") }).map { String($0.dropFirst(7)) }
func wanted(_ name: String) -> Bool { only == nil || only == name }
let root = args.first(where: { $0.hasPrefix("--root=") }).map { String($0.dropFirst(7)) } ?? "."

let big = "\(root)/kconfigs/azure-linux/azl4-6.18-aarch64.config"
let old = "\(root)/Tests/Fixtures/configs/azl3-6.6-x86_64.config"
let new = "\(root)/kconfigs/azure-linux/azl3-hwe-6.18-x86_64.config"

do {
    let bigBytes = try InputFile.readBytes(big)
    let lines = bigBytes.filter { $0 == 0x0A }.count
    let oldBytes = try InputFile.readBytes(old), newBytes = try InputFile.readBytes(new)
    let oldFile = try ConfigFile(bytes: oldBytes, path: old), newFile = try ConfigFile(bytes: newBytes, path: new)

    print("| benchmark | median (ms) |")
    print("|---|---:|")
    if wanted("parse") {
    let parse = try measure(iterations) { _ = try ConfigFile(bytes: bigBytes, path: big) }
    print("| parse \(lines)-line config (AZL4 6.18 aarch64), validation included | \(format3(parse)) |")
    }
    if wanted("write") {
    let write = measure(iterations) { _ = oldFile.bytes }
    print("| write back the 6.6 x86_64 config | \(format3(write)) |")
    }
    if wanted("diffconfig") {
    let diffconfig = measure(iterations) { _ = Diffconfig.diff(old: oldBytes, new: newBytes, mergeStyle: false) }
    print("| diffconfig-format diff, AZL 6.6 vs 6.18 x86_64 | \(format3(diffconfig)) |")
    }
    if wanted("cli-diff") {
    // What `kernelkit config diff --format diffconfig` does: read, validate, parse and
    // index both files, then diff from the indexes.
    let cli = try measure(iterations) {
        let a = try ConfigFile(contentsOf: old, keepingLines: false), b = try ConfigFile(contentsOf: new, keepingLines: false)
        _ = Diffconfig.output(old: a, new: b, mergeStyle: false)
    }
    print("| config diff --format diffconfig as the CLI runs it (read, parse both, diff) | \(format3(cli)) |")
    let parseOne = try measure(iterations) { _ = try ConfigFile(contentsOf: old, keepingLines: false) }
    print("|   of which: read and parse the 6.6 config | \(format3(parseOne)) |")
    let readOne = try measure(iterations) { _ = try InputFile.readBytes(old) }
    print("|     of which: read the 6.6 config | \(format3(readOne)) |")
    let validateOne = try measure(iterations) { try InputFile.validateText(oldBytes, file: old) }
    print("|     of which: validate it (UTF-8, no NUL) | \(format3(validateOne)) |")
    let a = try ConfigFile(contentsOf: old), b = try ConfigFile(contentsOf: new)
    let compare = measure(iterations) { _ = Diffconfig.output(old: a, new: b, mergeStyle: false) }
    print("|   of which: diff the parsed files | \(format3(compare)) |")
    }
    if wanted("diff") {
    let model = measure(iterations) { _ = ConfigDiff(old: oldFile, new: newFile).text() }
    print("| text diff (model + render), same pair | \(format3(model)) |")
    }
    if wanted("merge") {
    let merge = measure(iterations) {
        _ = MergeConfig().merge(base: .init(path: old, bytes: oldBytes), fragments: [.init(path: new, bytes: newBytes)])
    }
    print("| merge -m of the 6.18 config onto the 6.6 one (8530-line fragment) | \(format3(merge)) |")
    }
    if wanted("kconfig"), let tree = args.first(where: { $0.hasPrefix("--tree=") }).map({ String($0.dropFirst(7)) }) {
        // Parse and evaluate the whole x86 tree, probes served from a warm cache.
        let cacheDir = "/tmp/kernelkit-bench-probes"
        let resolver = KconfigResolver(srctree: tree, arch: "x86_64", probeCacheDirectory: cacheDir)
        _ = try resolver.resolve(.alldefconfig)
        let t = try measure(max(iterations / 10, 5)) { _ = try resolver.resolve(.defconfig(.file("arch/x86/configs/x86_64_defconfig"))) }
        print("| parse and evaluate the whole 6.12 x86 Kconfig tree, x86_64_defconfig (warm probe cache) | \(format3(t)) |")
    }
} catch {
    print("benchmark failed: \(error)")
    exit(1)
}

func format3(_ x: Double) -> String {
    let scaled = Int((x * 1000).rounded())
    let frac = String(scaled % 1000)
    return "\(scaled / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)"
}
