import KernelKitCore
#if canImport(Glibc)
import Glibc
#endif

/// Checks that must pass before any BPF work, each failure saying what to do.
public enum BPFPreflight {
    public static func check(tracepoints: [String]) throws(KernelKitError) {
        if geteuid() != 0 && !hasCapability(39) {
            throw KernelKitError(.permission, "loading BPF programs needs root or CAP_BPF and CAP_PERFMON: run with sudo")
        }
        if access("/sys/kernel/btf/vmlinux", R_OK) != 0 {
            throw KernelKitError(.bpf, "the kernel has no BTF (/sys/kernel/btf/vmlinux): the probes need a kernel built with CONFIG_DEBUG_INFO_BTF=y")
        }
        raiseMemlockLimit()
        ensureTracefs()
        for tp in tracepoints {
            let dir = "/sys/kernel/tracing/events/" + tp
            if access(dir, F_OK) != 0 {
                throw KernelKitError(.bpf, "tracepoint \(tp) is missing (\(dir)): the kernel lacks it or tracefs is unavailable")
            }
        }
    }

    /// Lifts RLIMIT_MEMLOCK, as bpftrace and bcc do at start: kernels that charge BPF
    /// maps and programs to it rather than to the memory cgroup (before 5.11, and some
    /// allocations later: Debian's 6.1 refuses the tp_btf programs with EPERM under the
    /// default 8 MiB) would otherwise fail the load. Best effort: without the privilege
    /// the limit stays, and the load says so.
    static func raiseMemlockLimit() {
        var limit = rlimit(rlim_cur: rlim_t.max, rlim_max: rlim_t.max) // RLIM_INFINITY
        _ = setrlimit(__rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue), &limit)
    }

    /// Mounts bpffs at /sys/fs/bpf unless a bpf filesystem is mounted there already (as
    /// /proc/self/mounts says), since pins can only live on one.
    static func ensureBPFFS(under path: String) throws(KernelKitError) {
        func mounted() -> Bool {
            guard let bytes = try? InputFile.readBytes("/proc/self/mounts") else { return false }
            return String(decoding: bytes, as: UTF8.self).split(separator: "\n").contains { line in
                let f = line.split(separator: " ")
                return f.count > 2 && f[2] == "bpf" && path.hasPrefix(String(f[1]) + "/")
            }
        }
        if mounted() { return }
        if mount("bpf", "/sys/fs/bpf", "bpf", 0, nil) != 0, errno != EBUSY {
            throw KernelKitError(.bpf, "cannot mount bpffs at /sys/fs/bpf: \(String(cString: strerror(errno)))")
        }
        if !mounted() { throw KernelKitError(.bpf, "\(path) is not on bpffs: pins need it (mount -t bpf bpf /sys/fs/bpf)") }
    }

    /// Mounts tracefs at /sys/kernel/tracing when it is not mounted.
    public static func ensureTracefs() {
        if access("/sys/kernel/tracing/events", F_OK) == 0 { return }
        _ = mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nil)
    }

    static func hasCapability(_ bit: Int) -> Bool {
        guard let bytes = try? InputFile.readBytes("/proc/self/status") else { return false }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("CapEff:") {
            let hex = line.dropFirst(7).trimming(" \t")
            if let v = UInt64(hex, radix: 16) { return v & (1 << UInt64(bit)) != 0 }
        }
        return false
    }
}
