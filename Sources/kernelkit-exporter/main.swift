import ArgumentParser
import HardeningKit
import Hummingbird
import KernelAudit
import KernelKitCore
import KernelMetrics
import KernelProbes
#if canImport(Glibc)
import Glibc
#endif

/// `kernelkit exporter`: the probes kept attached and the live audit re-run, served as
/// /metrics for Prometheus. The HTTP side is Hummingbird's (no parsing of our own); the
/// metrics are `Exporter`'s (KernelMetrics), shared with the one-shot textfiles.
struct ExporterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernelkit exporter",
        abstract: "Serve the probes' histograms and the live audit's verdicts as Prometheus metrics (/metrics).",
        discussion: """
        The chosen probes stay attached from start to SIGTERM (or Ctrl-C), so their
        counters and histograms accumulate from attach, as Prometheus expects; the live
        audit (`kernelkit audit --live`) is re-run every --audit-interval seconds. GET
        /metrics answers in the text exposition format 0.0.4. SIGTERM detaches every
        probe, closes the listener and exits 0. Needs root (or CAP_BPF and
        CAP_PERFMON) for the probes. The metrics: docs/fleet.md.

        Probes: biolatency (kernelkit_block_io_latency_seconds), bitesize
        (kernelkit_block_io_size_bytes), vmbus, storvsc, netvsc (the Hyper-V
        metrics; where the driver is absent, kernelkit_probe_attached is 0).

        Examples:
          kernelkit exporter --listen 127.0.0.1:9435 --probe biolatency
          kernelkit exporter --listen 0.0.0.0:9435 --probe biolatency \\
              --probe bitesize --probe vmbus --audit-interval 300
          curl -s localhost:9435/metrics | promtool check metrics
        """
    )

    @Option(help: ArgumentHelp("Where to listen, ADDRESS:PORT.", valueName: "ADDR:PORT")) var listen = "127.0.0.1:9435"
    @Option(name: .customLong("probe"), help: ArgumentHelp("A probe to keep attached (repeatable): \(Exporter.probeNames.joined(separator: ", ")).",
                                                           valueName: "NAME"))
    var probes: [String] = []
    @Option(help: ArgumentHelp("Re-run the live audit every S seconds (0: never).", valueName: "S")) var auditInterval: Double = 0
    @Option(help: ArgumentHelp("The live audit's baseline (repeatable; default azure-hyperv-6.18).", valueName: "NAME")) var baseline: [String] = []
    @Option(help: ArgumentHelp("The live audit's waivers (TOML).", valueName: "FILE")) var waivers: String?

    func validate() throws {
        for p in probes where !Exporter.probeNames.contains(p) {
            throw ValidationError("no probe '\(p)' (the exporter runs \(Exporter.probeNames.joined(separator: ", ")))")
        }
        if auditInterval < 0 { throw ValidationError("--audit-interval must be 0 or more") }
        if probes.isEmpty && auditInterval == 0 { throw ValidationError("nothing to export: give --probe NAME or --audit-interval S") }
        _ = try address()
    }

    func address() throws -> (host: String, port: Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--listen wants ADDRESS:PORT, e.g. 127.0.0.1:9435 (got '\(listen)')")
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    func serve() async throws {
        let (host, port) = try address()
        // The audit's inputs are read once: a bad baseline or waiver file is said at start.
        let auditRun: (@Sendable () throws(KernelKitError) -> Exporter.AuditState)?
        do {
            var list = [Baseline]()
            for n in baseline.isEmpty ? ["azure-hyperv-6.18"] : baseline { list.append(try ShippedBaselines.load(n)) }
            let w = try waivers.map { f throws(KernelKitError) in try WaiverFile.load(file: f) } ?? []
            auditRun = auditInterval > 0 ? Self.liveAudit(baselines: list, waivers: w) : nil
        } catch {
            fail("kernelkit exporter: \(error)")
        }

        let exporter = Exporter(log: say)
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            let bytes = exporter.scrape()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: "<html><body><h1>kernelkit exporter</h1><p><a href=\"/metrics\">/metrics</a></p></body></html>\n")))
        }
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "kernelkit-exporter"),
            onServerRunning: { _ in
                // The probes attach once the port is ours: a port in use attaches nothing.
                say("kernelkit exporter: serving http://\(listen)/metrics")
                exporter.start(probes: probes)
                if let auditRun { exporter.startAudit(every: auditInterval, auditRun) }
            }
        )
        do {
            // Hummingbird's service group shuts down gracefully on SIGTERM and SIGINT.
            try await app.runService()
        } catch {
            exporter.stop()
            fail("kernelkit exporter: cannot serve on \(listen): \(Self.describe(error))")
        }
        exporter.stop()
        say("kernelkit exporter: stopped; every probe detached")
    }

    /// One run of `audit --live` with the node's own sources, as the exporter's metrics.
    static func liveAudit(baselines: [Baseline], waivers: [Waiver]) -> @Sendable () throws(KernelKitError) -> Exporter.AuditState {
        return { () throws(KernelKitError) -> Exporter.AuditState in
            let audit = try LiveAudit(baselines: baselines, waivers: waivers, today: UTCTimestamp.now.date, failOn: .high,
                                      sources: LiveAudit.Sources())
            var counts = [(status: String, count: Int)]()
            for v in LiveAudit.ModuleVerdict.allCases { counts.append((v.rawValue, audit.moduleFiles.filter { $0.verdict == v }.count)) }
            return Exporter.AuditState(check: audit.check, passed: audit.passed, modules: counts, finished: Exporter.now())
        }
    }

    /// NIO's bind errors carry the errno ("... Address already in use) (errno: 98)", in
    /// a wrapper of NIO's own): say strerror's words for it, as every other tool does.
    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if let r = text.range(of: "(errno: "), let n = Int32(text[r.upperBound...].prefix(while: \.isNumber)) {
            return String(cString: strerror(n))
        }
        return text
    }
}

/// One line on stderr, unbuffered (the exporter's log is a service's journal).
@Sendable func say(_ line: String) {
    var l = line + "\n"
    l.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func fail(_ line: String) -> Never {
    say(line)
    exit(2)
}

// ArgumentParser exits 64 on a usage error; KernelKit's code is 2 (docs/errors.md).
do {
    let command = try ExporterCommand.parse()
    try await command.serve()
} catch {
    let code = ExporterCommand.exitCode(for: error)
    if code == .validationFailure {
        fail(ExporterCommand.fullMessage(for: error))
    }
    ExporterCommand.exit(withError: error)
}
