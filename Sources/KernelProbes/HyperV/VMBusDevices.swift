import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// A device on VMBus as sysfs shows it (Documentation/ABI/stable/sysfs-bus-vmbus): its
/// class and instance GUIDs, the driver bound to it, and its channels, each a relid with
/// the CPU its interrupts target.
public struct VMBusDevice: Sendable, Equatable {
    /// The instance GUID (the sysfs directory's name).
    public var instance: String
    public var classID: String
    /// The bound driver (hv_storvsc, hv_netvsc, …), nil when none is.
    public var driver: String?
    /// The primary channel's relid (`id`).
    public var primaryRelid: UInt32?
    /// relid → target CPU, for the primary channel and its sub-channels.
    public var channels: [UInt32: Int]
    /// netvsc: the network interfaces (net/).
    public var interfaces: [String]
    /// storvsc: the SCSI host numbers (hostN/).
    public var scsiHosts: [Int]

    public init(instance: String, classID: String, driver: String?, primaryRelid: UInt32?, channels: [UInt32: Int],
                interfaces: [String], scsiHosts: [Int]) {
        self.instance = instance
        self.classID = classID
        self.driver = driver
        self.primaryRelid = primaryRelid
        self.channels = channels
        self.interfaces = interfaces
        self.scsiHosts = scsiHosts
    }

    /// What the device is: the driver's short name, else the class's.
    public var kind: String {
        if let driver { return driver.hasPrefix("hv_") ? String(driver.dropFirst(3)) : driver }
        return VMBus.className(classID)
    }
}

public enum VMBus {
    /// The device classes of include/linux/hyperv.h (HV_*_GUID), by the driver or
    /// service that serves them.
    static let classes: [String: String] = [
        "f8615163-df3e-46c5-913f-f2d2f965ed0e": "netvsc",
        "32412632-86cb-44a2-9b5c-50d1417354f5": "storvsc (IDE)",
        "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f": "storvsc",
        "2f9bcc4a-0069-4af3-b76b-6fd0be528cda": "storvsc (FC)",
        "0e0b6031-5213-4934-818b-38d90ced39db": "shutdown",
        "9527e630-d0ae-497b-adce-e80ab0175caf": "timesync",
        "57164f39-9115-4e78-ab55-382f3bd5422d": "heartbeat",
        "a9a0f4e7-5a45-4d96-b827-8a841e8c03e6": "kvp",
        "525074dc-8985-46e2-8057-a307dc18a502": "balloon",
        "cfa8b69e-5b4a-4cc0-b98b-8ba1a1f3f95a": "mouse",
        "f912ad6d-2b17-48ea-bd65-f927a61c7684": "keyboard",
        "35fa2e29-ea23-4236-96ae-3a6ebacba440": "vss",
        "da0a7802-e377-4aac-8e77-0558eb1073f8": "synthvid",
        "34d14be3-dee4-41c8-9ae7-6b174977c192": "fcopy",
        "8c2eaf3d-32a7-4b09-ab99-bd1f1c86b501": "network direct",
        "44c4f61d-4444-4400-9d52-802e27ede19f": "pci",
        "f8e65716-3cb3-4a06-9a60-1889c5cccab5": "avma1",
        "3375baf4-9e15-4b30-b765-67acb10d607b": "avma2",
        "276aacf4-ac15-426c-98dd-7521ad3f01fe": "rdv",
        "c376c1c3-d276-48d2-90a9-c04748072c60": "imc",
    ]

    /// The modalias of a VMBus device class, as file2alias writes it for
    /// `MODULE_DEVICE_TABLE(vmbus, …)` (scripts/mod/file2alias.c, do_vmbus_entry): the
    /// guid_t's 16 bytes in memory order, so the first three fields of the GUID's text
    /// appear byte-reversed.
    public static func modalias(classID guid: String) -> String? {
        let hex = guid.lowercased().filter { $0 != "-" && $0 != "{" && $0 != "}" }
        guard hex.count == 32, hex.allSatisfy(\.isHexDigit) else { return nil }
        let chars = Array(hex)
        func bytes(_ from: Int, _ to: Int) -> [String] { stride(from: from, to: to, by: 2).map { String(chars[$0..<$0 + 2]) } }
        let out = bytes(0, 8).reversed() + bytes(8, 12).reversed() + bytes(12, 16).reversed() + bytes(16, 32)
        return "vmbus:" + out.joined()
    }

    public static func className(_ guid: String) -> String { classes[guid.lowercased()] ?? "unknown class \(guid)" }

    /// A guid_t as the kernel prints it (%pUl): the first three fields little-endian.
    public static func guid<C: Collection>(_ b: C) -> String where C.Element == UInt8 {
        let x = Array(b)
        guard x.count >= 16 else { return "" }
        let order = [3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15]
        var s = ""
        for i in order {
            if i < 0 { s += "-"; continue }
            let h = String(x[i], radix: 16)
            s += h.count == 1 ? "0" + h : h
        }
        return s
    }

    /// Every VMBus device under `sysfs`/bus/vmbus/devices; empty when there is no VMBus.
    public static func devices(sysfs: String = "/sys") -> [VMBusDevice] {
        let base = sysfs + "/bus/vmbus/devices"
        var out = [VMBusDevice]()
        for name in entries(base).sorted() {
            let dir = base + "/" + name
            func read(_ file: String) -> String? {
                (try? InputFile.readBytes(dir + "/" + file)).map { String(decoding: $0, as: UTF8.self).trimming(" \n{}") }
            }
            var channels = [UInt32: Int]()
            for ch in entries(dir + "/channels") {
                guard let relid = UInt32(ch) else { continue }
                channels[relid] = read("channels/\(ch)/cpu").flatMap { Int($0) } ?? -1
            }
            let driver = link(dir + "/driver").map { String($0.split(separator: "/").last ?? "") }
            let hosts = entries(dir).compactMap { e -> Int? in e.hasPrefix("host") ? Int(e.dropFirst(4)) : nil }.sorted()
            out.append(VMBusDevice(instance: read("device_id") ?? name, classID: read("class_id") ?? "",
                                   driver: driver, primaryRelid: read("id").flatMap { UInt32($0) }, channels: channels,
                                   interfaces: entries(dir + "/net").sorted(), scsiHosts: hosts))
        }
        return out
    }

    /// A channel's counters in sysfs (channels/N/interrupts and events), for the
    /// cross-check of the probe's counts; nil when absent.
    public static func channelCounters(sysfs: String = "/sys", device: String, relid: UInt32) -> (interrupts: UInt64, events: UInt64)? {
        let dir = "\(sysfs)/bus/vmbus/devices/\(device)/channels/\(relid)"
        func read(_ f: String) -> UInt64? {
            (try? InputFile.readBytes(dir + "/" + f)).flatMap { UInt64(String(decoding: $0, as: UTF8.self).trimming(" \n")) }
        }
        guard let i = read("interrupts"), let e = read("events") else { return nil }
        return (i, e)
    }

    static func entries(_ dir: String) -> [String] { InputFile.entries(dir) }
    static func link(_ path: String) -> String? { InputFile.linkTarget(path) }
}
