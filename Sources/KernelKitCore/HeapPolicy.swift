import CMalloc
#if canImport(Glibc)
import Glibc
#endif

/// glibc malloc set up for a short process that builds one large structure out of
/// hundreds of thousands of small allocations, uses it once and exits: a Kconfig tree
/// (the x86 tree of 6.12 is some 37 MB of symbols, menus, properties and expression
/// nodes in about 400,000 blocks).
///
/// With glibc's defaults that process spends a fifth of its time in the kernel, mostly
/// on 7,300 page faults: every 4 KiB of heap is faulted in and zeroed on first touch.
/// Backed by transparent huge pages, the same heap takes a few dozen faults; measured on
/// `config resolve --olddefconfig` of Debian's cloud-amd64 config, 6.12 tree (hyperfine,
/// 60 alternating runs): median 117.2 → 98.3 ms, system time 35 → 19 ms, page faults
/// 7,344 → 1,590 (benchmarks/README.md, session 18).
/// It is what glibc's own tunables `glibc.malloc.hugetlb=1:glibc.malloc.arena_max=1`
/// do, which can only be given in the environment of a process yet to start.
public enum HeapPolicy {
    /// Call before any other thread allocates. Three settings, each with its reason:
    /// - one arena (`M_ARENA_MAX`): the Kconfig tree is built on a thread of its own (for
    ///   the stack its recursion needs), and glibc would give that thread an arena of its
    ///   own, mmap'd in 64 MB heaps that are not backed by huge pages. One arena costs
    ///   lock contention when several threads allocate at once, which is why the batch
    ///   commands (an arch per core) do not call this: measured, 1.08 s → 1.39 s.
    /// - the heap grown once by `reserve` bytes and that range advised MADV_HUGEPAGE,
    ///   the system's THP mode being "madvise" on most distributions (a no-op where it is
    ///   "never");
    /// - no trimming (`M_TRIM_THRESHOLD`): a heap shrunk and grown again would come back
    ///   as a new mapping without the advice. The process exits soon anyway.
    public static func hugePageHeap(reserve: Int = 64 << 20) {
        _ = mallopt(M_ARENA_MAX, 1)
        _ = mallopt(M_TRIM_THRESHOLD, Int32.max)
        // Large blocks (arrays of symbols, file contents) from the same heap, not each
        // its own mmap; 32 MB is the most glibc accepts on 64-bit.
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_TOP_PAD, Int32(clamping: reserve))
        // A block larger than any free one must come from the top, which it extends (brk)
        // by itself plus `reserve`; freed, it is the top again. Nothing is touched.
        guard let block = malloc(16 << 20) else { return }
        _ = mallopt(M_TOP_PAD, 128 << 10) // glibc's default again, for later growth
        let huge = 2 << 20
        let start = (Int(bitPattern: block) + huge - 1) & ~(huge - 1)
        let end = Int(bitPattern: sbrk(0)) & ~(huge - 1)
        // Only inside the heap: a block from an mmap fallback lies above the break.
        if end > start, let at = UnsafeMutableRawPointer(bitPattern: start) {
            _ = madvise(at, end - start, MADV_HUGEPAGE)
        }
        free(block)
    }
}
