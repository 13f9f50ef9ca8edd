/// Every probe KernelKit ships, with the ways it can attach, in the order it tries them.
/// `probe check` (offline, against a kernel's BTF) and `probe list` (this kernel) read
/// their requirements from here: the programs' own ELF sections and CO-RE relocations,
/// never a hand-kept list of names.
public struct ProbeDefinition: Sendable {
    /// One way to run the probe: a set of programs of one object, plus what else must be
    /// in the kernel (a driver's function standing for the driver itself).
    public struct Variant: Sendable {
        public let attach: String
        public let object: BPFObjectData
        /// The programs (by name) that this variant attaches; all of them must fit.
        public let programs: [String]
        /// Functions that must exist besides the attach targets.
        public let functions: [String]
        /// What the variant cannot report, said where it is used.
        public let limitation: String?
    }

    public let name: String
    public let summary: String
    /// The kernel module that provides what the probe watches (nil: the core kernel).
    public let driver: String?
    public let variants: [Variant]
}

public enum ProbeCatalog {
    static let blockTP = ["btf_rq_insert", "btf_rq_issue", "btf_rq_complete"]
    static let blockRaw = ["raw_rq_insert", "raw_rq_issue", "raw_rq_complete"]

    static func block(_ name: String, _ summary: String) -> ProbeDefinition {
        ProbeDefinition(name: name, summary: summary, driver: nil, variants: [
            .init(attach: "tp_btf", object: BPFObjects.block, programs: blockTP, functions: [], limitation: nil),
            .init(attach: "raw_tp", object: BPFObjects.block, programs: blockRaw, functions: [], limitation: nil),
        ])
    }

    public static let all: [ProbeDefinition] = [
        block("biolatency", "block I/O latency histograms (block_rq_issue to block_rq_complete)"),
        block("bitesize", "block I/O size histograms, per process"),
        block("biosnoop", "every block I/O request, with its latency"),
        // Module loads and block I/O per process are attached where the kernel has their
        // tracepoints (ProcessTrace.optional); the probe needs only the sched ones.
        ProbeDefinition(name: "process", summary: "processes (fork, exec, exit), module loads and block I/O per process, for boot trace",
                        driver: nil, variants: [
            .init(attach: "tracepoint", object: BPFObjects.process, programs: ProcessTrace.programs, functions: [], limitation: nil),
        ]),
        ProbeDefinition(name: "vmbus", summary: "VMBus channels: interrupts, tasklet runs, host signals, ISR-to-callback latency",
                        driver: "hv_vmbus", variants: [
            .init(attach: "tracepoint", object: BPFObjects.vmbus,
                  programs: ["vmbus_chan_sched", "vmbus_on_event", "vmbus_setevent", "vmbus_onoffer", "vmbus_onoffer_rescind"],
                  functions: [], limitation: nil),
        ]),
        ProbeDefinition(name: "storvsc", summary: "storvsc disks: I/O latency per disk, VMBus channel and CPU; submit against completion CPU",
                        driver: "hv_storvsc", variants: [
            .init(attach: "fentry", object: BPFObjects.storvsc,
                  programs: ["storvsc_submit", "storvsc_callback_enter", "storvsc_callback_exit", "storvsc_done"],
                  functions: [], limitation: nil),
            .init(attach: "kprobe", object: BPFObjects.storvsc,
                  programs: ["storvsc_submit_kprobe", "storvsc_callback_enter_kprobe", "storvsc_callback_exit_kprobe", "storvsc_done_kprobe"],
                  functions: [], limitation: nil),
            .init(attach: "block tracepoints", object: BPFObjects.block, programs: blockTP,
                  functions: ["storvsc_probe"],
                  limitation: "per-channel figures are unavailable: the block tracepoints do not see the VMBus channel"),
        ]),
        ProbeDefinition(name: "netvsc", summary: "netvsc: packets and bytes per interface, queue and direction; send sections; receive batches",
                        driver: "hv_netvsc", variants: [
            .init(attach: "tracepoint", object: BPFObjects.netvsc,
                  programs: ["nvsp_send_pkt", "nvsp_recv", "rndis_recv", "net_dev_start_xmit", "napi_gro_receive_entry"], functions: [], limitation: nil),
        ]),
    ]

    public static func named(_ name: String) -> ProbeDefinition? { all.first { $0.name == name } }
}
