#if canImport(Glibc)
import Glibc
#endif
import KernelKitCore

// libFuzzer's entry points. scripts/fuzz.sh builds this target with KERNELKIT_FUZZ=1 and
// `--sanitize address` (see Package.swift): main() then hands over to libFuzzer's driver
// (LLVMFuzzerRunDriver; SwiftPM names an executable's main itself, so libFuzzer's own
// main() cannot be it), which calls LLVMFuzzerInitialize and then the target for each
// input. KERNELKIT_FUZZ_TARGET names the parser, since one binary serves them all (one
// instrumented build instead of twenty); KERNELKIT_FUZZ_TARGET=list prints them.

private func complain(_ line: String) {
    let text = line + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
}

nonisolated(unsafe) private var selected: FuzzTarget? = nil

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let name = getenv("KERNELKIT_FUZZ_TARGET").map { String(cString: $0) }
    if name == "list" {
        for t in fuzzTargets { complain("\(t.name)\t\(t.summary)") }
        exit(0)
    }
    guard let name,
          let target = fuzzTargets.first(where: { $0.name == name }) else {
        complain("kernelkit-fuzz: set KERNELKIT_FUZZ_TARGET to one of: \(fuzzTargets.map(\.name).joined(separator: " "))")
        exit(2)
    }
    selected = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    selected?.body(bytes)
    return 0
}

#if KERNELKIT_FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                       _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@main
struct FuzzMain {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        // The driver runs on one large-stack thread, which the Kconfig loads then reuse
        // (PosixThread.onLargeStack runs its body in place on such a thread). A thread
        // made and freed per input spent a fifth of the kconfig target's time mapping,
        // poisoning and unmapping its 1 GB stack, which is not parser code.
        let rc = PosixThread.onLargeStack { runDriver(&argc, &argv, fuzzerTestOneInput) }
        exit(rc)
    }
}
#else
/// Built without the fuzzer (a plain `swift build`), the same targets run over files:
/// `kernelkit-fuzz TARGET FILE…` replays reproducers and seeds, `--list` lists the targets.
@main
struct FuzzReplay {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        if args.first == "--list" {
            for t in fuzzTargets { print("\(t.name)\t\(t.summary)") }
            return
        }
        guard let name = args.first, let target = fuzzTargets.first(where: { $0.name == name }), args.count > 1 else {
            complain("usage: kernelkit-fuzz --list | TARGET FILE…\ntargets: \(fuzzTargets.map(\.name).joined(separator: " "))")
            exit(2)
        }
        for path in args.dropFirst() {
            guard let f = fopen(path, "rb") else { complain("kernelkit-fuzz: cannot open \(path)"); exit(2) }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = fread(&buffer, 1, buffer.count, f)
                if n <= 0 { break }
                bytes += buffer[..<n]
            }
            fclose(f)
            target.body(bytes)
        }
    }
}
#endif
