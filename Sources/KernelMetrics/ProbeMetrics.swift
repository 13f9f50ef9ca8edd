import KernelKitCore
import KernelProbes
import Prometheus

/// The probes' results as Prometheus metrics: log2 histograms become Prometheus
/// histograms in base units, counts become `_total` counters.
///
/// The probes keep cumulative figures (the kernel's maps, the aggregators' counts);
/// Prometheus's counters and swift-prometheus's histograms only take increments and
/// observations. A `MetricsFeed` remembers what it has already passed on for each
/// series and hands over only the difference, so that a long-running exporter and a
/// one-shot textfile go through the same code (the textfile's feed starts empty).
public final class MetricsFeed {
    public let registry: PrometheusCollectorRegistry
    private var histograms: [String: (metric: ValueHistogram, counts: [UInt64], sum: Double)] = [:]
    private var counters: [String: (metric: Counter, value: UInt64)] = [:]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// How many of a unit make the base unit's one (Prometheus names seconds and bytes).
    public static func scale(of unit: String) -> Double? {
        switch unit {
        case "nsecs": 1e-9
        case "usecs": 1e-6
        case "msecs": 1e-3
        case "kbytes": 1024
        case "bytes": 1
        default: nil
        }
    }

    /// The `le` bounds of a log2 histogram of `slots` slots in `unit`, in base units.
    ///
    /// bcc's slot k (k ≥ 1) holds the integer values 2^k … 2^(k+1)−1, and slot 0 holds 0
    /// and 1. The values are truncations (ns / 1000 for µs, bytes / 1024 for KiB), so the
    /// true values of slot k lie in [2^k, 2^(k+1)) units: every one is at most
    /// 2^(k+1) units, which is slot k's `le`, and none of slot k+1's is. (cloudflare's
    /// ebpf_exporter keys its slots by ceil(log2 v) instead, so its le is 2^k; we keep
    /// bcc's slots so that the text output stays bcc's, and shift the bound.)
    /// The last slot also takes everything beyond it (the BPF side caps the slot), so it
    /// has no finite bound: it counts only toward +Inf.
    public static func bounds(slots: Int, scale: Double) -> [Double] {
        (0..<max(0, slots - 1)).map { Double(UInt64(1) << UInt64($0 + 1)) * scale }
    }

    /// A histogram `kernelkit_NAME` (NAME ends in `_seconds` or `_bytes`) fed with the
    /// cumulative counts of `h` (and its exact sum, when it has one).
    ///
    /// The increments are observed one by one, as swift-prometheus asks: c_k values in
    /// slot k, each at lo_k + t·(hi_k − lo_k), with one t in (0, 1] for all slots chosen
    /// so that the observations add up to the exact sum the kernel kept. Each value lies
    /// inside its own bucket, so the bucket counts are exact and so is `_sum` (to a
    /// rounding). Without a kernel sum, t = ½ (each value at its bucket's middle).
    public func histogram(_ name: String, help: String, labels: [(String, String)], _ h: Log2Histogram) {
        guard let scale = Self.scale(of: h.unit) else { return }
        let key = name + "\u{0}" + labels.map { $0.0 + "=" + $0.1 }.joined(separator: "\u{1}")
        let entry = histograms[key] ?? (
            registry.makeValueHistogram(
                descriptor: MetricNameDescriptor(namespace: "kernelkit", metricName: name, unitName: "", helpText: help),
                labels: labels, buckets: Self.bounds(slots: h.counts.count, scale: scale)),
            [UInt64](repeating: 0, count: h.counts.count), 0)
        var delta = [UInt64](repeating: 0, count: h.counts.count)
        var low = 0.0, high = 0.0
        for k in h.counts.indices {
            let before = k < entry.counts.count ? entry.counts[k] : 0
            delta[k] = h.counts[k] >= before ? h.counts[k] - before : h.counts[k]
            let (lo, hi) = Self.slotRange(k)
            low += Double(delta[k]) * lo
            high += Double(delta[k]) * hi
        }
        let sum = h.sum ?? 0
        var t = 0.5
        if h.sum != nil, high > low { t = min(1, max(1e-6, (sum - entry.sum - low) / (high - low))) }
        for k in delta.indices where delta[k] > 0 {
            let (lo, hi) = Self.slotRange(k)
            let value = (lo + t * (hi - lo)) * scale
            for _ in 0..<delta[k] { entry.metric.record(value) }
        }
        histograms[key] = (entry.metric, h.counts, h.sum ?? entry.sum + low + t * (high - low))
    }

    /// Slot k's range in the histogram's unit: [2^k, 2^(k+1)), slot 0 [0, 2).
    static func slotRange(_ k: Int) -> (Double, Double) {
        (k == 0 ? 0 : Double(UInt64(1) << UInt64(k)), Double(UInt64(1) << UInt64(k + 1)))
    }

    /// A counter `kernelkit_NAME_total` fed with a cumulative value.
    public func counter(_ name: String, help: String, labels: [(String, String)], _ value: UInt64) {
        let key = name + "\u{0}" + labels.map { $0.0 + "=" + $0.1 }.joined(separator: "\u{1}")
        let entry = counters[key] ?? (
            registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "kernelkit", metricName: name, unitName: "total", helpText: help),
                                 labels: labels), 0)
        if value > entry.value { entry.metric.increment(by: Int64(value - entry.value)) }
        counters[key] = (entry.metric, max(value, entry.value))
    }

    public func gauge(_ name: String, unit: String = "", help: String, labels: [(String, String)], _ value: Double) {
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "kernelkit", metricName: name, unitName: unit, helpText: help),
                           labels: labels).set(to: value)
    }

    // MARK: the probes

    /// `kernelkit_probe_attached{probe,attach}` and `kernelkit_probe_lost_events_total{probe}`.
    public func probe(_ probe: String, attach: String, attached: Bool, lostEvents: UInt64) {
        gauge("probe_attached", help: "1 while the probe's BPF programs are attached, 0 when they could not be", labels: [("probe", probe), ("attach", attach)],
              attached ? 1 : 0)
        counter("probe_lost_events", help: "Events the probe dropped (ring buffer full or the reader behind)", labels: [("probe", probe)], lostEvents)
    }

    /// biolatency's and bitesize's histograms, keyed in the kernel by disk and operation:
    /// `kernelkit_block_io_latency_seconds` and `kernelkit_block_io_size_bytes`,
    /// labels `device` and `operation` (sync and async summed; bitesize's processes summed).
    public func block(_ histograms: [Log2Histogram]) {
        // sync is dropped before merging, so that a disk's sync and async series add up
        // into one (fed as two, the second would read as a counter reset).
        let unsynced = histograms.map { h in var h = h; h.sync = nil; return h }
        for h in Log2Histogram.merged(unsynced, keepDisk: true, keepOp: true, keepComm: false) {
            let labels = [("device", h.disk ?? "all"), ("operation", h.op ?? "all")]
            if h.unit == "kbytes" {
                histogram("block_io_size_bytes", help: "Block I/O request sizes at issue (block_rq_issue)", labels: labels, h)
            } else {
                histogram("block_io_latency_seconds", help: "Block I/O latency from issue to completion (block_rq_issue to block_rq_complete)",
                          labels: labels, h)
            }
        }
    }

    /// The vmbus probe: per channel (device, relid) and CPU, interrupts and tasklet runs;
    /// per channel, interrupt-to-callback latency (cpu is the channel's target CPU).
    public func vmbus(_ report: VMBusReport) {
        for c in report.channels {
            for (cpu, v) in c.perCPU {
                let labels = [("device", c.device), ("relid", String(c.relid)), ("cpu", String(cpu))]
                counter("vmbus_channel_interrupts", help: "VMBus channel interrupts (vmbus_chan_sched: the ISR found the channel pending)",
                        labels: labels, v[0])
                counter("vmbus_channel_events", help: "VMBus channel callbacks run (vmbus_on_event)", labels: labels, v[1])
            }
            if c.tasklets > 0 {
                histogram("vmbus_callback_latency_seconds", help: "From the interrupt that scheduled a VMBus channel's tasklet to its callback",
                          labels: [("device", c.device), ("relid", String(c.relid)), ("cpu", c.targetCPU.map(String.init) ?? "")],
                          report.histogram(c))
            }
        }
    }

    /// The storvsc probe: latency per disk, VMBus channel and completion CPU.
    public func storvsc(_ report: StorvscReport) {
        for d in report.disks {
            for (key, series) in d.perChannelCPU {
                histogram("storvsc_io_latency_seconds", help: "storvsc command latency, from storvsc_queuecommand to scsi_done",
                          labels: [("device", d.disk), ("channel", String(key >> 16)), ("cpu", String(key & 0xffff))],
                          Log2Histogram(unit: "usecs", counts: series.counts, sum: series.sum))
            }
        }
        if !report.fallbackHistograms.isEmpty { block(report.fallbackHistograms) }
    }

    /// The netvsc probe: packets and bytes per interface, queue and direction.
    public func netvsc(_ report: NetvscReport) {
        for q in report.queues {
            let labels = [("interface", q.interface), ("queue", String(q.queue)), ("direction", q.direction)]
            counter("netvsc_packets", help: "Packets through a netvsc queue (net_dev_start_xmit, napi_gro_receive_entry)", labels: labels, q.packets)
            counter("netvsc_bytes", help: "Bytes through a netvsc queue", labels: labels, q.bytes)
        }
    }

    public func emit() -> [UInt8] {
        var bytes = [UInt8]()
        registry.emit(into: &bytes)
        return bytes
    }
}
