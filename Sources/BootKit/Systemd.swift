import CLibSystemd
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

extension KernelKitError.Code {
    /// systemd could not be asked (no bus, PID 1 is not systemd, a call refused).
    public static let systemd = KernelKitError.Code("systemd")
}

/// A connection to systemd's manager over D-Bus, through libsystemd's sd-bus: the
/// properties systemd-analyze reads (src/analyze/analyze-time-data.c), asked of the
/// manager itself rather than parsed from a tool's output. Owns the `sd_bus`.
public struct SystemdBus: ~Copyable {
    let bus: OpaquePointer
    public static let destination = "org.freedesktop.systemd1"
    public static let managerPath = "/org/freedesktop/systemd1"
    public static let manager = "org.freedesktop.systemd1.Manager"
    public static let unitInterface = "org.freedesktop.systemd1.Unit"

    /// As systemctl connects as root (src/shared/bus-util.c, bus_connect_system_systemd):
    /// systemd's private socket first, which needs no dbus-daemon (early boot, a
    /// container, an initramfs), else the system bus.
    public init(address: String? = nil) throws(KernelKitError) {
        var bus: OpaquePointer?
        let privateSocket = "/run/systemd/private"
        var r: Int32
        if address != nil || (geteuid() == 0 && access(privateSocket, F_OK) == 0) {
            r = sd_bus_new(&bus)
            if r >= 0 { r = sd_bus_set_address(bus, address ?? "unix:path=\(privateSocket)") }
            if r >= 0 { r = sd_bus_start(bus) }
            if r < 0, let b = bus { sd_bus_flush_close_unref(b); bus = nil }
        } else {
            r = sd_bus_open_system(&bus)
        }
        guard r >= 0, let bus else {
            throw KernelKitError(.systemd, "cannot connect to systemd over D-Bus: \(String(cString: strerror(-r)))",
                                 at: SourceLocation(file: address ?? (geteuid() == 0 ? privateSocket : "/run/dbus/system_bus_socket"), line: 0))
        }
        self.bus = bus
    }

    deinit { sd_bus_flush_close_unref(bus) }

    static func failure(_ what: String, _ r: Int32, _ error: inout sd_bus_error) -> KernelKitError {
        let detail = error.message.map { String(cString: $0) } ?? String(cString: strerror(-r))
        sd_bus_error_free(&error)
        return KernelKitError(.systemd, "\(what): \(detail)")
    }

    /// A `t` (uint64) property.
    public func uint64(path: String = managerPath, interface: String = manager, _ name: String) throws(KernelKitError) -> UInt64 {
        var error = sd_bus_error()
        var value: UInt64 = 0
        let r = sd_bus_get_property_trivial(bus, Self.destination, path, interface, name, &error, CChar(UInt8(ascii: "t")), &value)
        guard r >= 0 else { throw Self.failure("cannot read \(name) of \(path)", r, &error) }
        return value
    }

    /// An `s` property.
    public func string(path: String, interface: String = unitInterface, _ name: String) throws(KernelKitError) -> String {
        var error = sd_bus_error()
        var value: UnsafeMutablePointer<CChar>?
        let r = sd_bus_get_property_string(bus, Self.destination, path, interface, name, &error, &value)
        guard r >= 0, let value else { throw Self.failure("cannot read \(name) of \(path)", r, &error) }
        defer { free(value) }
        return String(cString: value)
    }

    /// An `as` property.
    public func strings(path: String, interface: String = unitInterface, _ name: String) throws(KernelKitError) -> [String] {
        var error = sd_bus_error()
        var reply: OpaquePointer?
        let r = sd_bus_get_property(bus, Self.destination, path, interface, name, &error, &reply, "as")
        guard r >= 0, let reply else { throw Self.failure("cannot read \(name) of \(path)", r, &error) }
        defer { sd_bus_message_unref(reply) }
        var out = [String]()
        guard sd_bus_message_enter_container(reply, CChar(UInt8(ascii: "a")), "s") >= 0 else { return out }
        var p: UnsafePointer<CChar>?
        while sd_bus_message_read_basic(reply, CChar(UInt8(ascii: "s")), &p) > 0, let s = p { out.append(String(cString: s)) }
        return out
    }

    /// The manager's units (ListUnits: every loaded unit), as (name, object path).
    public func listUnits() throws(KernelKitError) -> [(name: String, path: String)] {
        var error = sd_bus_error()
        var call: OpaquePointer?
        var reply: OpaquePointer?
        var r = sd_bus_message_new_method_call(bus, &call, Self.destination, Self.managerPath, Self.manager, "ListUnits")
        if r >= 0 { r = sd_bus_call(bus, call, 0, &error, &reply) }
        if let call { sd_bus_message_unref(call) }
        guard r >= 0, let reply else { throw Self.failure("ListUnits", r, &error) }
        defer { sd_bus_message_unref(reply) }
        // a(ssssssouso): name, description, load, active, sub, following, path, job id,
        // job type, job path.
        var out = [(name: String, path: String)]()
        guard sd_bus_message_enter_container(reply, CChar(UInt8(ascii: "a")), "(ssssssouso)") >= 0 else { return out }
        while sd_bus_message_enter_container(reply, CChar(UInt8(ascii: "r")), "ssssssouso") > 0 {
            var fields = [String]()
            for type in "ssssssouso" {
                if type == "u" {
                    var u: UInt32 = 0
                    sd_bus_message_read_basic(reply, CChar(UInt8(ascii: "u")), &u)
                    fields.append(String(u))
                } else {
                    var p: UnsafePointer<CChar>?
                    sd_bus_message_read_basic(reply, CChar(type.asciiValue!), &p)
                    fields.append(p.map { String(cString: $0) } ?? "")
                }
            }
            sd_bus_message_exit_container(reply)
            out.append((fields[0], fields[6]))
        }
        return out
    }
}

/// systemd's part of a boot: the manager's timestamps and every unit's activation, as
/// systemd recorded them (CLOCK_MONOTONIC µs, the clock printk's times follow).
public struct SystemdTimes: Sendable, Equatable {
    public struct Unit: Sendable, Equatable {
        public var name: String
        /// When it left inactive (started activating), µs since boot.
        public var activating: Int
        /// When it became active; nil when it never did (failed, or still activating).
        public var active: Int?
        /// The units it is ordered after (`After=`).
        public var after: [String]
        public var duration: Int? { active.map { $0 - activating } }

        public init(name: String, activating: Int, active: Int?, after: [String]) {
            self.name = name
            self.activating = activating
            self.active = active
            self.after = after
        }
    }

    /// FirmwareTimestampMonotonic … FinishTimestampMonotonic, by name without the
    /// `TimestampMonotonic` suffix; 0 when systemd did not record it.
    public var manager: [String: Int]
    public var units: [Unit]

    public init(manager: [String: Int], units: [Unit]) {
        self.manager = manager
        self.units = units
    }

    public static let managerTimestamps = ["Firmware", "Loader", "Kernel", "InitRD", "Userspace", "SecurityStart",
                                           "SecurityFinish", "GeneratorsStart", "GeneratorsFinish", "UnitsLoadStart",
                                           "UnitsLoadFinish", "InitRDSecurityStart", "InitRDSecurityFinish",
                                           "InitRDGeneratorsStart", "InitRDGeneratorsFinish", "InitRDUnitsLoadStart",
                                           "InitRDUnitsLoadFinish", "Finish"]

    /// Asks the running systemd, which must be PID 1 (`/proc/1/comm`).
    public static func read(proc: String = "/proc") throws(KernelKitError) -> SystemdTimes {
        let comm = (try? InputFile.readBytes(proc + "/1/comm")).map { String(decoding: $0, as: UTF8.self).trimming(" \n") } ?? "?"
        guard comm == "systemd" else {
            throw KernelKitError(.systemd, "PID 1 is \(comm), not systemd", at: SourceLocation(file: proc + "/1/comm", line: 0))
        }
        let bus = try SystemdBus()
        var manager = [String: Int]()
        for name in managerTimestamps {
            manager[name] = Int(try bus.uint64(name + "TimestampMonotonic"))
        }
        var units = [Unit]()
        for (name, path) in try bus.listUnits() {
            let exit = Int(try bus.uint64(path: path, interface: SystemdBus.unitInterface, "InactiveExitTimestampMonotonic"))
            guard exit > 0 else { continue }
            let enter = Int(try bus.uint64(path: path, interface: SystemdBus.unitInterface, "ActiveEnterTimestampMonotonic"))
            units.append(Unit(name: name, activating: exit, active: enter > 0 ? enter : nil,
                              after: try bus.strings(path: path, "After")))
        }
        units.sort { ($0.activating, $0.name) < ($1.activating, $1.name) }
        return SystemdTimes(manager: manager, units: units)
    }

    /// sd_bus_path_encode's escaping of a unit name into an object path label: every
    /// byte but [A-Za-z0-9] as _XX (src/libsystemd/sd-bus/bus-internal.c, bus_label_escape).
    static func escape(_ name: String) -> String {
        var out = ""
        for b in name.utf8 {
            if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) {
                out.append(Character(Unicode.Scalar(b)))
            } else {
                out += (b < 16 ? "_0" : "_") + String(b, radix: 16)
            }
        }
        return out
    }
}

/// `boot trace --until-unit`: watches units' ActiveState over one connection to systemd.
public final class SystemdUnitWatch {
    let bus: SystemdBus
    let units: [(name: String, path: String)]
    /// The first unit seen active or failed, and its state.
    public private(set) var reached: (unit: String, state: String)?

    public init(_ names: [String]) throws(KernelKitError) {
        bus = try SystemdBus()
        units = names.map { ($0, "/org/freedesktop/systemd1/unit/" + SystemdTimes.escape($0)) }
    }

    /// True once one of the units is active, or has failed (it will not become active
    /// by itself then). A unit nobody has loaded yet has no object: it is asked again.
    public func done() -> Bool {
        for u in units {
            if let state = try? bus.string(path: u.path, "ActiveState"), state == "active" || state == "failed" {
                reached = (u.name, state)
                return true
            }
        }
        return false
    }
}
