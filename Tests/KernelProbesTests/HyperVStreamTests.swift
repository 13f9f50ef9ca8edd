import CBPFProbes
import Foundation
import KernelKitCore
@testable import KernelProbes
import TestSupport
import Testing

/// The Hyper-V probes' user-space side, driven by recorded event streams shaped exactly
/// as vmbus.bpf.c, netvsc.bpf.c and storvsc.bpf.c emit them (struct kk_hv_event), with
/// the expected figures worked out by hand in the comments.
struct HyperVStreamTests {
    static let s: UInt64 = 1_000_000_000

    static func event(_ kind: Int32, at ts: UInt64, cpu: UInt32 = 0, id: UInt32 = 0, value: UInt32 = 0, value2: UInt32 = 0,
                      extra: UInt32 = 0, key: UInt64 = 0, data: [UInt8] = []) -> kk_hv_event {
        var e = kk_hv_event()
        e.ts_ns = ts
        e.kind = UInt32(kind)
        e.cpu = cpu
        e.id = id
        e.value = value
        e.value2 = value2
        e.extra = extra
        e.key = key
        withUnsafeMutableBytes(of: &e.data) { raw in for (i, b) in data.prefix(32).enumerated() { raw[i] = b } }
        return e
    }

    static func name(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }

    // netvsc's class, f8615163-df3e-46c5-913f-f2d2f965ed0e, as guid_t bytes (first three
    // fields little-endian), then an instance 01020304-0506-0708-090a-0b0c0d0e0f10.
    static let netvscClassBytes: [UInt8] = [0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46, 0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e]
    static let instanceBytes: [UInt8] = [0x04, 0x03, 0x02, 0x01, 0x06, 0x05, 0x08, 0x07, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10]

    @Test("guid_t bytes print as the kernel's %pUl")
    func guids() {
        #expect(VMBus.guid(Self.netvscClassBytes) == "f8615163-df3e-46c5-913f-f2d2f965ed0e")
        #expect(VMBus.guid(Self.instanceBytes) == "01020304-0506-0708-090a-0b0c0d0e0f10")
        #expect(VMBus.className("BA6163D9-04A1-4D29-B605-72E2FFB1DC7F") == "storvsc")
    }

    @Test("vmbus: rates, interrupt-to-tasklet latency, a relid rescinded and offered again, lost events")
    func vmbus() throws {
        let storvsc = VMBusDevice(instance: "aaaaaaaa-0000-0000-0000-000000000001", classID: "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f",
                                  driver: "hv_storvsc", primaryRelid: 14, channels: [14: 0, 15: 1], interfaces: [], scsiHosts: [0])
        let netvsc = VMBusDevice(instance: "bbbbbbbb-0000-0000-0000-000000000002", classID: "f8615163-df3e-46c5-913f-f2d2f965ed0e",
                                 driver: "hv_netvsc", primaryRelid: 20, channels: [20: 0], interfaces: ["eth0"], scsiHosts: [])
        let s = Self.s
        var agg = VMBusAggregator(devices: [storvsc, netvsc], startNs: s)
        agg.add([
            // relid 14: two interrupts before its tasklet runs 10 µs after the first (slot 13, 8192-16383 ns) ...
            Self.event(KK_HV_CHAN_SCHED, at: s + 100_000, id: 14), Self.event(KK_HV_CHAN_SCHED, at: s + 103_000, id: 14),
            Self.event(KK_HV_ON_EVENT, at: s + 110_000, id: 14),
            // ... then one 1 µs later (slot 9, 512-1023 ns) ...
            Self.event(KK_HV_CHAN_SCHED, at: s + 200_000, id: 14), Self.event(KK_HV_ON_EVENT, at: s + 201_000, id: 14),
            // ... and a tasklet run with no interrupt in the run before it.
            Self.event(KK_HV_ON_EVENT, at: s + 300_000, id: 14),
            // relid 20 is netvsc's: HV_CALL_ISR, interrupts but no tasklet.
            Self.event(KK_HV_CHAN_SCHED, at: s + s / 10, id: 20), Self.event(KK_HV_CHAN_SCHED, at: s + 2 * s / 10, id: 20),
            Self.event(KK_HV_CHAN_SCHED, at: s + 3 * s / 10, id: 20),
            // relid 15 signals the host once, is rescinded at 1.5 s, offered again at 1.6 s
            // as netvsc's sub-channel 1 of an unknown instance, and runs once (2 µs: slot 10).
            Self.event(KK_HV_SETEVENT, at: s + 4 * s / 10, cpu: 1, id: 15),
            Self.event(KK_HV_RESCIND, at: s + 5 * s / 10, id: 15),
            Self.event(KK_HV_OFFER, at: s + 6 * s / 10, id: 15, value: 1, data: Self.netvscClassBytes + Self.instanceBytes),
            Self.event(KK_HV_CHAN_SCHED, at: s + 7 * s / 10, cpu: 1, id: 15),
            Self.event(KK_HV_ON_EVENT, at: s + 7 * s / 10 + 2000, cpu: 1, id: 15),
        ])
        let r = agg.report(endNs: 2 * s, lostEvents: 7)
        #expect(r.durationSeconds == 1.0)
        #expect(r.channels.map(\.relid) == [14, 15, 20, 15])
        let c14 = r.channels[0]
        #expect(c14.device == "storvsc" && c14.targetCPU == 0)
        #expect(c14.interrupts == 3 && c14.tasklets == 3 && c14.unpairedTasklets == 1)
        #expect(c14.latency[13] == 1 && c14.latency[9] == 1 && c14.latency.reduce(0, +) == 2)
        #expect(r.rate(c14.interrupts, c14) == 3.0)
        // p50 of {slot 9, slot 13}: the whole of bucket 9, 512 + 1 × 512 = 1024 ns.
        #expect(r.histogram(c14).percentile(0.5) == 1024)
        let old15 = r.channels[1], new15 = r.channels[3], c20 = r.channels[2]
        // 1 signal over its 0.5 s in the run.
        #expect(old15.device == "storvsc" && old15.hostSignals == 1 && old15.rescindedNs == s + 5 * s / 10)
        #expect(r.lifetime(old15) == 0.5 && r.rate(old15.hostSignals, old15) == 2.0)
        #expect(old15.perCPU[1] == [0, 0, 1])
        // The new channel: netvsc by its class GUID, sub-channel 1, 0.4 s in the run.
        #expect(new15.device == "netvsc" && new15.subChannel == 1 && new15.instance == "01020304-0506-0708-090a-0b0c0d0e0f10")
        #expect(r.lifetime(new15) == 0.4 && r.rate(new15.interrupts, new15) == 2.5)
        #expect(new15.latency[10] == 1)
        #expect(c20.interrupts == 3 && c20.tasklets == 0 && c20.perCPU[0] == [3, 0, 0])
        // Lost events are reported, and the compare form carries the rates.
        guard case .object(let doc) = r.json else { Issue.record("not an object"); return }
        #expect(doc.first { $0.0 == "lost_events" }?.1 == .int(7))
        #expect(doc.first { $0.0 == "schema" }?.1 == .string("kernelkit.probe-vmbus/1"))
        #expect(r.text.contains("7 events LOST"))
        #expect(r.probeReport.counters.contains(ProbeCounter(series: "relid 14 storvsc", name: "interrupts_per_second", value: 3)))
        #expect(r.probeReport.histograms.count == 2)
        // The SVG (--svg) is well-formed XML with a panel per histogram, named by series.
        let dir = try TemporaryDirectory()
        let svg = try dir.write("vmbus.svg", HistogramChart.svg(r.probeReport))
        let check = try run("/usr/bin/env", ["python3", "-c", """
            import sys, xml.etree.ElementTree as ET
            texts = [t.text or '' for t in ET.parse(sys.argv[1]).getroot().iter() if t.tag.endswith('text')]
            print(sum(1 for t in texts if t.startswith('relid ')))
            """, svg])
        #expect(check.status == 0, "\(check.err)")
        #expect(check.out.trimmingCharacters(in: .whitespacesAndNewlines) == "2", "\(check.out)")
        // KERNELKIT_PRINT_REPORTS=DIR keeps the rendered text (docs/probe.md shows it).
        if let out = ProcessInfo.processInfo.environment["KERNELKIT_PRINT_REPORTS"] { try r.text.write(toFile: out + "/vmbus.txt", atomically: true, encoding: .utf8) }
    }

    @Test("vmbus: a channel offered mid-run is labelled from sysfs once its device appears there")
    func refreshAfterOffer() {
        var agg = VMBusAggregator(devices: [], startNs: 0)
        agg.add(Self.event(KK_HV_OFFER, at: 10, id: 40, value: 0, data: Self.netvscClassBytes + Self.instanceBytes))
        agg.add(Self.event(KK_HV_CHAN_SCHED, at: 20, cpu: 3, id: 41))
        #expect(agg.needsRefresh)
        let dev = VMBusDevice(instance: "01020304-0506-0708-090a-0b0c0d0e0f10", classID: "f8615163-df3e-46c5-913f-f2d2f965ed0e",
                              driver: "hv_netvsc", primaryRelid: 40, channels: [40: 2, 41: 3], interfaces: ["eth1"], scsiHosts: [])
        agg.refresh(devices: [dev])
        #expect(!agg.needsRefresh)
        #expect(agg.channels.map(\.targetCPU) == [2, 3] && agg.channels.map(\.device) == ["netvsc", "netvsc"])
    }

    @Test("netvsc: packets and bytes per queue and direction, send sections, receive batches, driver counters")
    func netvsc() throws {
        let s = Self.s
        var agg = NetvscAggregator(startNs: s)
        let eth0 = Self.name("eth0")
        agg.add([
            Self.event(KK_HV_NV_XMIT, at: s + 1, id: 0, value: 1500, data: eth0),
            Self.event(KK_HV_NV_XMIT, at: s + 2, id: 0, value: 1500, data: eth0),
            Self.event(KK_HV_NV_XMIT, at: s + 3, cpu: 1, id: 1, value: 60, data: eth0),
            // One send copied into section 5 (1500 bytes: slot 10), one through page buffers.
            Self.event(KK_HV_NV_SEND, at: s + 4, id: 0, value: 5, value2: 1500, data: eth0),
            Self.event(KK_HV_NV_SEND, at: s + 5, id: 0, value: 0xffff_ffff, value2: 0, data: eth0),
            // A VMBus packet with 3 RNDIS messages (slot 1), then one with 1 (slot 0).
            Self.event(KK_HV_NV_RECV, at: s + 6, id: 0, value: 1, data: eth0),
            Self.event(KK_HV_RNDIS_RECV, at: s + 7, id: 0, value: 1100, value2: 1, data: eth0),
            Self.event(KK_HV_RNDIS_RECV, at: s + 8, id: 0, value: 1100, value2: 1, data: eth0),
            Self.event(KK_HV_RNDIS_RECV, at: s + 9, id: 0, value: 1100, value2: 1, data: eth0),
            Self.event(KK_HV_NV_RECV, at: s + 10, id: 0, value: 1, data: eth0),
            Self.event(KK_HV_RNDIS_RECV, at: s + 11, id: 0, value: 1100, value2: 1, data: eth0),
        ] + (0..<4).map { Self.event(KK_HV_NV_GRO, at: s + 12 + UInt64($0), id: 0, value: 1000, data: eth0) })
        let r = agg.report(endNs: s + s / 2, lostEvents: 0, ethtool: ["eth0": ["tx_queue_0_packets": 2, "rx_queue_0_bytes": 4000]])
        #expect(r.queues.map(\.series) == ["eth0 queue 0 rx", "eth0 queue 0 tx", "eth0 queue 1 tx"])
        let rx = r.queues[0], tx0 = r.queues[1], tx1 = r.queues[2]
        #expect(tx0.packets == 2 && tx0.bytes == 3000 && tx0.vmbusPackets == 2 && tx0.sectionSends == 1 && tx0.sectionBytes[10] == 1)
        #expect(tx1.packets == 1 && tx1.bytes == 60 && tx1.perCPU == [1: 1])
        #expect(rx.packets == 4 && rx.bytes == 4000 && rx.vmbusPackets == 2 && rx.rndisMessages == 4)
        #expect(rx.batch[1] == 1 && rx.batch[0] == 1 && rx.batch.reduce(0, +) == 2)
        #expect(r.driverCounter(tx0, "packets") == 2 && r.driverCounter(rx, "bytes") == 4000 && r.driverCounter(tx1, "packets") == nil)
        // 2 packets over 0.5 s.
        #expect(r.probeReport.counters.contains(ProbeCounter(series: "eth0 queue 0 tx", name: "packets_per_second", value: 4)))
        if let out = ProcessInfo.processInfo.environment["KERNELKIT_PRINT_REPORTS"] { try r.text.write(toFile: out + "/netvsc.txt", atomically: true, encoding: .utf8) }
    }

    @Test("storvsc: latency per disk and channel, cross-CPU completions, queue depth, sizes, unmatched completions")
    func storvsc() throws {
        var agg = StorvscAggregator(diskNames: ["0:0:0:0": "sda", "0:0:0:1": "sdb"], startNs: 0)
        agg.add([
            Self.event(KK_HV_SV_SUBMIT, at: 0, cpu: 0, value: 4096, value2: 0, extra: 0, key: 0xA),
            Self.event(KK_HV_SV_SUBMIT, at: 1000, cpu: 1, value: 8192, value2: 0, extra: 0, key: 0xB),
            // A: 100 µs (slot 6), completed on CPU 1 through relid 14: a cross-CPU completion.
            Self.event(KK_HV_SV_DONE, at: 100_000, cpu: 1, id: 14, key: 0xA),
            // B: 300 µs (slot 8), on its own CPU through relid 15.
            Self.event(KK_HV_SV_DONE, at: 301_000, cpu: 1, id: 15, key: 0xB),
            // A completion whose submission the run did not see.
            Self.event(KK_HV_SV_DONE, at: 302_000, cpu: 0, id: 14, key: 0xC),
            // sdb (lun 1): submitted, never completed.
            Self.event(KK_HV_SV_SUBMIT, at: 400_000, cpu: 0, value: 512, value2: 0, extra: 1, key: 0xD),
        ])
        let r = agg.report(endNs: Self.s, lostEvents: 2)
        #expect(r.disks.map(\.disk) == ["sda", "sdb"])
        let sda = r.disks[0]
        #expect(sda.completed == 2 && sda.crossCPU == 1 && sda.maxDepth == 2)
        #expect(sda.latency[6] == 1 && sda.latency[8] == 1)
        #expect(sda.depth[0] == 1 && sda.depth[1] == 1)
        #expect(sda.sizes[12] == 1 && sda.sizes[13] == 1)
        #expect(sda.perChannel[14]?[0] == 1 && sda.perChannel[15]?[0] == 1 && sda.perChannel[14]?[1 + 6] == 1)
        #expect(sda.cpuPairs[0]?[1] == 1 && sda.cpuPairs[1]?[1] == 1)
        #expect(r.disks[1].completed == 0 && r.disks[1].maxDepth == 1)
        #expect(r.unmatched == 1 && r.lostEvents == 2)
        #expect(r.probeReport.counters.contains(ProbeCounter(series: "sda", name: "cross_cpu_percent", value: 50)))
        if let out = ProcessInfo.processInfo.environment["KERNELKIT_PRINT_REPORTS"] { try r.text.write(toFile: out + "/storvsc.txt", atomically: true, encoding: .utf8) }
    }

    @Test("VMBus devices, channels and storvsc disks from a sysfs tree")
    func sysfs() throws {
        let dir = try TemporaryDirectory()
        let dev = "bus/vmbus/devices/f8b3781b-1e82-4818-a1c3-63d806ec15bb"
        func put(_ path: String, _ text: String) throws {
            let full = "\(dir.path)/\(path)"
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: false, encoding: .utf8)
        }
        try put("\(dev)/class_id", "{ba6163d9-04a1-4d29-b605-72e2ffb1dc7f}\n")
        try put("\(dev)/device_id", "{f8b3781b-1e82-4818-a1c3-63d806ec15bb}\n")
        try put("\(dev)/id", "14\n")
        try put("\(dev)/channels/14/cpu", "0\n")
        try put("\(dev)/channels/14/interrupts", "1234\n")
        try put("\(dev)/channels/14/events", "99\n")
        try put("\(dev)/channels/31/cpu", "1\n")
        try FileManager.default.createDirectory(atPath: "\(dir.path)/\(dev)/host0", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(dir.path)/bus/vmbus/drivers/hv_storvsc", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(dir.path)/\(dev)/driver", withDestinationPath: "../../../../bus/vmbus/drivers/hv_storvsc")
        try FileManager.default.createDirectory(atPath: "\(dir.path)/class/scsi_disk/0:0:0:0/device/block/sda", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(dir.path)/class/scsi_disk/2:0:0:0/device/block/sdc", withIntermediateDirectories: true)
        let devices = VMBus.devices(sysfs: dir.path)
        #expect(devices == [VMBusDevice(instance: "f8b3781b-1e82-4818-a1c3-63d806ec15bb", classID: "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f",
                                        driver: "hv_storvsc", primaryRelid: 14, channels: [14: 0, 31: 1], interfaces: [], scsiHosts: [0])])
        #expect(devices[0].kind == "storvsc")
        #expect(VMBus.channelCounters(sysfs: dir.path, device: devices[0].instance, relid: 14)! == (1234, 99))
        // Only host 0 is storvsc's: sdc on host 2 is another driver's.
        #expect(HyperVProbes.storvscDisks(devices: devices, sysfs: dir.path) == ["0:0:0:0": "sda"])
        #expect(HyperVProbes.absence("storvsc", devices: devices, sysfs: dir.path) == nil)
        #expect(HyperVProbes.absence("netvsc", devices: devices, sysfs: dir.path)?.contains("hv_netvsc") == true)
        #expect(HyperVProbes.absence("vmbus", devices: [], sysfs: dir.path + "/nowhere")?.contains("no VMBus") == true)
    }

    @Test("Workload: words as a shell splits them, and a command that cannot start is an error")
    func workload() throws {
        #expect(try Workload("fio --name='a b' \"x\\\"y\" c\\ d").command == ["fio", "--name=a b", "x\"y", "c d"])
        #expect(throws: KernelKitError.self) { try Workload("  ") }
        #expect(throws: KernelKitError.self) { try Workload("sh -c 'unterminated") }
        let w = try Workload("/bin/sh -c 'exit 3'")
        try w.start()
        while !w.finished { usleep(1000) }
        #expect(w.outcome?.exitStatus == 3 && w.outcome?.command == ["/bin/sh", "-c", "exit 3"])
        #expect(throws: KernelKitError.self) { try Workload("/nonexistent/tool -x").start() }
    }
}

/// The driver counters netvsc is cross-checked with, read as `ethtool -S` reads them; here
/// on this machine's own NIC (virtio_net has statistics too), against ethtool itself.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: "/usr/sbin/ethtool") || Oracles.required, "needs ethtool"))
struct EthtoolStatsTests {
    @Test("ETHTOOL_GSTATS gives the names ethtool -S prints, with values between two reads of ours")
    func sameAsEthtool() throws {
        let interfaces = try FileManager.default.contentsOfDirectory(atPath: "/sys/class/net").sorted()
        var checked = 0
        for iface in interfaces {
            guard let before = try? EthtoolStats.read(iface) else { continue }
            let r = try run("/usr/sbin/ethtool", ["-S", iface])
            let after = try EthtoolStats.read(iface)
            #expect(r.status == 0, "\(r.err)")
            var theirs = [String: UInt64]()
            for line in r.out.split(separator: "\n").dropFirst() {
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2, let v = UInt64(parts[1]) { theirs[parts[0]] = v }
            }
            #expect(Set(theirs.keys) == Set(before.keys), "\(iface)")
            for (k, v) in theirs { #expect(before[k]! <= v && v <= after[k]!, "\(iface) \(k)") }
            checked += 1
        }
        #expect(checked > 0, "no interface here has driver statistics")
        #expect(throws: KernelKitError.self) { try EthtoolStats.read("lo") }
        #expect(throws: KernelKitError.self) { try EthtoolStats.read("nosuchif0") }
    }
}
