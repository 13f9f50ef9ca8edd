// In-process micro-benchmarks: the library's hot paths, timed with a monotonic clock.
// Run: swift run -c release kernelkit-benchmarks [--iterations N]
// Whole-process comparisons against the kernel's tools are in benchmarks/compare.py.
import CBPFProbes
import KconfigKit
import KernelKitCore
import KernelProbes
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
        // 15 runs: the median of 5 moved by 10% between runs of the benchmark here.
        let t = try measure(max(iterations / 3, 15)) { _ = try resolver.resolve(.defconfig(.file("arch/x86/configs/x86_64_defconfig"))) }
        print("| parse and evaluate the whole 6.12 x86 Kconfig tree, x86_64_defconfig (warm probe cache) | \(format3(t)) |")
    }
    if wanted("hyperv-replay") {
        // The Hyper-V probes' user-space path on a recorded stream: the ring buffer's
        // records as bytes (what EventStream.drain types), decoded and folded into each
        // probe's aggregator. CPU per event, and what 100k events/s would cost a core.
        let n = 1_000_000
        func stream(_ make: (Int) -> kk_hv_event) -> [UInt8] {
            var bytes = [UInt8]()
            bytes.reserveCapacity(n * MemoryLayout<kk_hv_event>.size)
            for i in 0..<n { var e = make(i); withUnsafeBytes(of: &e) { bytes.append(contentsOf: $0) } }
            return bytes
        }
        func ev(_ kind: Int32, _ i: Int, id: UInt32, value: UInt32 = 0, key: UInt64 = 0, cpu: UInt32 = 0) -> kk_hv_event {
            var e = kk_hv_event()
            e.ts_ns = 1_000_000_000 + UInt64(i) * 10_000
            e.kind = UInt32(kind); e.id = id; e.value = value; e.key = key; e.cpu = cpu
            withUnsafeMutableBytes(of: &e.data) { raw in for (j, b) in "eth0".utf8.enumerated() { raw[j] = b } }
            return e
        }
        let devices = (0..<8).map { d in
            VMBusDevice(instance: "dev\(d)", classID: "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f", driver: "hv_storvsc",
                        primaryRelid: UInt32(14 + d), channels: [UInt32(14 + d): d % 2], interfaces: [], scsiHosts: [d])
        }
        let vmbus = stream { i in ev(i % 3 == 0 ? KK_HV_CHAN_SCHED : i % 3 == 1 ? KK_HV_ON_EVENT : KK_HV_SETEVENT, i, id: UInt32(14 + (i / 3) % 8), cpu: UInt32(i % 2)) }
        let kinds = [KK_HV_NV_XMIT, KK_HV_NV_SEND, KK_HV_NV_GRO, KK_HV_NV_RECV, KK_HV_RNDIS_RECV]
        let netvsc = stream { i in ev(kinds[i % 5], i, id: UInt32((i / 5) % 4), value: 1500, cpu: UInt32(i % 2)) }
        let storvsc = stream { i in ev(i % 2 == 0 ? KK_HV_SV_SUBMIT : KK_HV_SV_DONE, i, id: 14, value: 4096, key: UInt64((i / 2) % 32), cpu: UInt32(i % 2)) }
        // The live path minus libbpf: each record pushed into the EventQueue as the ring
        // buffer's callback pushes it, and every 5,000 (50 ms at 100k events/s) taken,
        // typed in place and folded, as EventStream.drain does.
        func replay(_ bytes: [UInt8], _ fold: (UnsafeBufferPointer<kk_hv_event>) -> Void) {
            let size = MemoryLayout<kk_hv_event>.size
            var q = EventQueue(eventSize: size, capacity: 1 << 18)
            bytes.withUnsafeBytes { raw in
                for i in 0..<(bytes.count / size) {
                    q.push(UnsafeRawBufferPointer(rebasing: raw[(i * size)..<((i + 1) * size)]))
                    if i % 5000 == 4999 {
                        var batch = q.take()
                        EventQueue.withEvents(batch, as: kk_hv_event.self, fold)
                        q.giveBack(&batch)
                    }
                }
            }
        }
        func cpu() -> Double {
            var u = rusage()
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
            return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
        }
        let runs: [(String, () -> Void)] = [
            ("queue only (push, take, type)", { var n = 0; replay(vmbus) { n += $0.count }; precondition(n == 1_000_000) }),
            ("vmbus", { var a = VMBusAggregator(devices: devices, startNs: 0); replay(vmbus) { a.add($0) }; _ = a.report(endNs: 20_000_000_000, lostEvents: 0).json }),
            ("netvsc", { var a = NetvscAggregator(startNs: 0); replay(netvsc) { a.add($0) }; _ = a.report(endNs: 20_000_000_000, lostEvents: 0).json }),
            ("storvsc", { var a = StorvscAggregator(diskNames: [:], startNs: 0); replay(storvsc) { a.add($0) }; _ = a.report(endNs: 20_000_000_000, lostEvents: 0).json }),
        ]
        for (name, body) in runs {
            body()
            var samples = [Double]()
            for _ in 0..<max(3, iterations / 20) {
                let c0 = cpu()
                body()
                samples.append(cpu() - c0)
            }
            let perEvent = median(samples) / Double(n) * 1e9
            print("| \(name), replay of 1M recorded events drained every 5,000: CPU per event | \(format3(perEvent / 1000)) µs (\(format3(perEvent * 100_000 / 1e9 * 100)) % of a core at 100k events/s) |")
        }
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
