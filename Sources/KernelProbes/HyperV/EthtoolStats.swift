import CBPFProbes
import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// A network driver's own counters, as `ethtool -S IFACE` prints them: netvsc's
/// per-queue and per-CPU packets and bytes, tx_busy, the VF's (accelerated networking).
public enum EthtoolStats {
    public static func read(_ interface: String) throws(KernelKitError) -> [String: UInt64] {
        final class Box { var values: [String: UInt64] = [:] }
        let box = Box()
        let rc = kk_ethtool_stats(interface, { name, value, ctx in
            guard let name, let ctx else { return }
            Unmanaged<Box>.fromOpaque(ctx).takeUnretainedValue().values[String(cString: name)] = value
        }, Unmanaged.passUnretained(box).toOpaque())
        if rc != 0 {
            throw KernelKitError(.usage, "cannot read the driver counters of \(interface) (ETHTOOL_GSTATS): \(String(cString: strerror(rc)))")
        }
        return box.values
    }
}
