import HardeningKit
import KernelKitCore
import Prometheus
#if canImport(Glibc)
import Glibc
#endif

/// KernelKit's results as Prometheus metrics, named by Prometheus's conventions (base
/// units, `_seconds`, one metric per meaning with labels), registered with
/// swift-prometheus and written in the text exposition format.
///
/// A fleet scrapes them from node_exporter's textfile collector
/// (``PrometheusTextfile``); no timestamps are written, since node_exporter refuses
/// textfiles that carry them.
public enum HardeningMetrics {
    /// A gauge `kernelkit_NAME[_UNIT]` with its HELP line.
    static func gauge(_ registry: PrometheusCollectorRegistry, _ name: String, unit: String = "", help: String,
                      _ labels: [(String, String)]) -> Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "kernelkit", metricName: name, unitName: unit, helpText: help),
                           labels: labels)
    }

    /// `kernelkit_harden_rule_failing{baseline,rule,severity}`: 1 failing, 0 passing or
    /// waived (skipped rules are left out: they say nothing about this kernel);
    /// `kernelkit_harden_rules{baseline,status}`: how many rules have each status.
    public static func record(_ check: HardeningCheck, into registry: PrometheusCollectorRegistry) {
        var baselineOf = [String: String]()
        for b in check.baselines { for r in b.rules { baselineOf[r.id] = b.name } }
        var counts = [String: [Finding.Status: Int]]()
        for b in check.baselines { counts[b.name] = [:] }
        for f in check.findings {
            let baseline = baselineOf[f.rule.id] ?? ""
            counts[baseline, default: [:]][f.status, default: 0] += 1
            guard f.status != .skipped else { continue }
            gauge(registry, "harden_rule_failing", help: "1 when the hardening rule fails, 0 when it passes or is waived",
                  [("baseline", baseline), ("rule", f.rule.id), ("severity", f.rule.severity.rawValue)])
                .set(to: f.status == .fail ? 1 : 0)
        }
        for (baseline, byStatus) in counts {
            for status in [Finding.Status.pass, .fail, .waived, .skipped] {
                gauge(registry, "harden_rules", help: "Hardening rules by status (pass, fail, waived, skipped)",
                      [("baseline", baseline), ("status", status.rawValue)])
                    .set(to: Double(byStatus[status] ?? 0))
            }
        }
    }

    /// `kernelkit_audit_pass`: 1 when nothing at or above `failOn` fails, else 0.
    public static func recordAudit(_ check: HardeningCheck, failOn: Severity, into registry: PrometheusCollectorRegistry) {
        record(check, into: registry)
        gauge(registry, "audit_pass", help: "1 when the audit passes (nothing at or above --fail-on fails), else 0", [])
            .set(to: check.failures(atOrAbove: failOn).isEmpty ? 1 : 0)
    }

    /// `kernelkit_modules{status}`: the module files of a tree by verdict
    /// (signed-trusted, unknown-key, bad-signature, unsigned, malformed).
    public static func recordModules(_ counts: [(status: String, count: Int)], into registry: PrometheusCollectorRegistry) {
        for (status, n) in counts {
            gauge(registry, "modules", help: "Module files under /lib/modules/RELEASE by signature verdict against the kernel's trusted keys",
                  [("status", status)])
                .set(to: Double(n))
        }
    }

    /// `kernelkit_last_run_timestamp_seconds{command}`: when the run ended (wall clock), so
    /// that an alert can tell a stale textfile from a fresh one.
    public static func recordRun(_ command: String, into registry: PrometheusCollectorRegistry) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        gauge(registry, "last_run_timestamp", unit: "seconds", help: "When the kernelkit command that wrote this file ended (Unix time)",
              [("command", command)])
            .set(to: Double(now.tv_sec) + Double(now.tv_nsec) / 1e9)
    }
}

/// node_exporter's textfile collector: `DIR/kernelkit_<command>.prom`, written atomically
/// (a temporary file in DIR, then a rename: node_exporter reads only `*.prom`, so it never
/// sees half a file).
public enum PrometheusTextfile {
    /// The directory exists and we may write in it: checked before a probe attaches, so
    /// that a typo is said at once rather than after the run.
    public static func check(directory: String) throws(KernelKitError) {
        let kind = InputFile.kind(directory)
        guard kind.exists && kind.isDirectory else {
            throw KernelKitError(.usage, "--prometheus-textfile needs an existing directory (node_exporter's --collector.textfile.directory)",
                                 at: SourceLocation(file: directory, line: 0))
        }
        guard access(directory, W_OK) == 0 else {
            throw KernelKitError(.usage, "--prometheus-textfile: the directory is not writable", at: SourceLocation(file: directory, line: 0))
        }
    }

    public static func write(_ registry: PrometheusCollectorRegistry, directory: String, command: String) throws(KernelKitError) {
        try check(directory: directory)
        var bytes = [UInt8]()
        registry.emit(into: &bytes)
        try AtomicFile.write(bytes, to: "\(directory)/kernelkit_\(command).prom")
    }

    /// `harden check --prometheus-textfile DIR`: the findings and the run's time.
    public static func writeHarden(_ check: HardeningCheck, directory: String) throws(KernelKitError) {
        let registry = PrometheusCollectorRegistry()
        HardeningMetrics.record(check, into: registry)
        HardeningMetrics.recordRun("harden", into: registry)
        try write(registry, directory: directory, command: "harden")
    }

    /// `audit --live --prometheus-textfile DIR`: the live verdict (rules and live findings),
    /// the rules, the module files by verdict and the run's time, as kernelkit_audit_live.prom.
    public static func writeLiveAudit(_ check: HardeningCheck?, passed: Bool, modules: [(status: String, count: Int)],
                                      directory: String) throws(KernelKitError) {
        let registry = PrometheusCollectorRegistry()
        if let check { HardeningMetrics.record(check, into: registry) }
        HardeningMetrics.gauge(registry, "audit_pass", help: "1 when the audit passes (nothing at or above --fail-on fails), else 0", [])
            .set(to: passed ? 1 : 0)
        HardeningMetrics.recordModules(modules, into: registry)
        HardeningMetrics.recordRun("audit_live", into: registry)
        try write(registry, directory: directory, command: "audit_live")
    }

    /// `probe NAME --prometheus-textfile DIR`: the probe's metrics (`fill`), whether it
    /// attached, its lost events and the run's time, as kernelkit_probe_NAME.prom.
    public static func writeProbe(_ probe: String, attach: String, attached: Bool = true, lostEvents: UInt64, directory: String,
                                  _ fill: (MetricsFeed) -> Void) throws(KernelKitError) {
        let feed = MetricsFeed()
        feed.probe(probe, attach: attach, attached: attached, lostEvents: lostEvents)
        fill(feed)
        HardeningMetrics.recordRun("probe_" + probe, into: feed.registry)
        try write(feed.registry, directory: directory, command: "probe_" + probe)
    }

    /// `audit --prometheus-textfile DIR`: the verdict, the findings and the run's time.
    public static func writeAudit(_ check: HardeningCheck, failOn: Severity, directory: String) throws(KernelKitError) {
        let registry = PrometheusCollectorRegistry()
        HardeningMetrics.recordAudit(check, failOn: failOn, into: registry)
        HardeningMetrics.recordRun("audit", into: registry)
        try write(registry, directory: directory, command: "audit")
    }
}
