/// A Kconfig expression (`struct expr` in `scripts/kconfig/expr.h`): a handle to a node
/// that the tree's ``ExprArena`` owns.
///
/// Why a handle and not an `indirect enum`: every node of an indirect enum is a
/// reference-counted box, so each pattern match that binds a subexpression retained and
/// released it, and a tree's hundreds of thousands of nodes were freed one by one. Both
/// showed in every profile of a warm olddefconfig (the dependency checks, evaluation and
/// menu finalisation walk every expression; `swift_retain` was a sixth of the process).
/// conf allocates its nodes with malloc and never frees them (`expr_alloc_*()` in
/// expr.c); here they live in chunks as long as their tree, and go with it at once.
struct Expr {
    let pointer: UnsafeMutablePointer<ExprNode>

    /// The node: plain data (handles to other nodes, symbols and caches), so matching it
    /// retains nothing.
    @inline(__always)
    var node: ExprNode {
        unsafeAddress { UnsafePointer(pointer) }
    }

    /// The expression inside any cache wrapper (the simplifier asks this of every node).
    @inline(__always)
    var unwrapped: Expr {
        if case .cached(let c) = node { return c.inner }
        return self
    }

    enum Comparison: Sendable {
        case equal, unequal, less, lessEqual, greater, greaterEqual
    }
}

/// The kinds of expression node, as stored. Subexpressions are ``Expr`` handles.
enum ExprNode {
    case symbol(Symbol)
    case not(Expr)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case compare(Expr.Comparison, Symbol, Symbol)
    case range(Symbol, Symbol)
    /// A shared subexpression (a menu's dependency, which every entry below it repeats)
    /// whose value is kept until symbol values are invalidated, as `expr_calc_value()`
    /// keeps every expression's value between `expr_invalidate_all()` calls.
    case cached(ExprCache)
}

/// Owns the expression nodes of one tree, allocated in chunks that are freed with it.
///
/// Nodes are never freed one by one (conf frees none either), and one that a rewrite
/// dropped stays until the tree goes: the simplifier's garbage is small next to the tree.
/// One thread allocates at a time: the one loading the tree, then the one that owns it
/// (`config show` compares prompts' dependencies through the simplifier, which may make
/// nodes). A node does not change once made, so the dependency checks may read nodes on
/// another thread while the tree is resolved (``KconfigTree/alongsideChecks(_:)``).
final class ExprArena {
    private let nodes = ChunkArena<ExprNode>()
    /// The shared subexpressions' caches.
    private let caches = ChunkArena<ExprCache.Record>()

    @inline(__always)
    private func make(_ node: ExprNode) -> Expr { Expr(pointer: nodes.make(node)) }

    func symbol(_ s: Symbol) -> Expr { make(.symbol(s)) }
    func not(_ e: Expr) -> Expr { make(.not(e)) }
    func and(_ a: Expr, _ b: Expr) -> Expr { make(.and(a, b)) }
    func or(_ a: Expr, _ b: Expr) -> Expr { make(.or(a, b)) }
    func compare(_ op: Expr.Comparison, _ a: Symbol, _ b: Symbol) -> Expr {
        make(.compare(op, a, b))
    }
    func range(_ a: Symbol, _ b: Symbol) -> Expr { make(.range(a, b)) }
    /// `expr` as a shared subexpression with a cache (``ExprCache``); `simplified`: it is
    /// already through `expr_eliminate_dups()`.
    func cached(_ expr: Expr, simplified: Bool) -> Expr {
        make(.cached(ExprCache(in: caches, expr, simplified: simplified)))
    }

    /// `expr_alloc_and()`: a missing side is "yes".
    func and(_ a: Expr?, _ b: Expr?) -> Expr? {
        guard let a else { return b }
        guard let b else { return a }
        return and(a, b)
    }

    /// `expr_alloc_or()`.
    func or(_ a: Expr?, _ b: Expr?) -> Expr? {
        guard let a else { return b }
        guard let b else { return a }
        return or(a, b)
    }
}

/// The cached value of a shared subexpression, valid for one evaluation epoch.
@dynamicMemberLookup
struct ExprCache: ArenaHandle {
    let record: UnsafeMutablePointer<Record>

    struct Record {
        let expr: Expr
        var epoch = -1
        var value = Tristate.no
        /// Already through `expr_eliminate_dups()`: a fixed point of it.
        var simplified: Bool
        /// The dependency-loop check found nothing through `expr` (see `checkExpr`).
        var depsChecked = false
        /// `expr` without any cache wrappers (a cached dependency can wrap another).
        let inner: Expr
    }

    init(in arena: ChunkArena<Record>, _ expr: Expr, simplified: Bool) {
        var e = expr
        while case .cached(let c) = e.node { e = c.expr }
        record = arena.make(Record(expr: expr, simplified: simplified, inner: e))
    }
}

/// Values of one kind that a tree owns, in chunks that are freed with it (a tree's
/// expression nodes, its properties): each is made once, never freed alone, and named by
/// a plain pointer, so passing one around counts no references.
///
/// Chunks start small, as a tree of a few lines (the fuzzer's, the tests') needs little,
/// then double up to 64 Ki values, so a kernel tree takes a handful. One thread makes
/// values at a time (see ``ExprArena``).
final class ChunkArena<Element> {
    private var chunks: [UnsafeMutablePointer<Element>] = []
    private var cursor: UnsafeMutablePointer<Element>?
    private var room = 0

    private func capacity(_ index: Int) -> Int { min(256 << index, 1 << 16) }

    private func grow() {
        let base = UnsafeMutablePointer<Element>.allocate(capacity: capacity(chunks.count))
        room = capacity(chunks.count)
        chunks.append(base)
        cursor = base
    }

    @inline(__always)
    func make(_ value: Element) -> UnsafeMutablePointer<Element> {
        if room == 0 { grow() }
        let p = cursor!
        p.initialize(to: value)
        cursor = p + 1
        room -= 1
        return p
    }

    deinit {
        // Every chunk is full but the last. (For plain data, such as expression nodes,
        // deinitialising is nothing.)
        for (i, chunk) in chunks.enumerated() {
            chunk.deinitialize(count: i == chunks.count - 1 ? capacity(i) - room : capacity(i))
            chunk.deallocate()
        }
    }
}
