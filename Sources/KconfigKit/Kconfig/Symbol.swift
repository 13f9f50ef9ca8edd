/// Kconfig symbol types (`enum symbol_type` in `scripts/kconfig/expr.h`).
public enum SymbolType: Sendable {
    case unknown, boolean, tristate, int, hex, string

    /// The name the kernel prints (`sym_type_name()` in `symbol.c`).
    public var name: String {
        switch self {
        case .boolean: "bool"
        case .tristate: "tristate"
        case .int: "integer"
        case .hex: "hex"
        case .string: "string"
        case .unknown: "unknown"
        }
    }
}

/// A Kconfig symbol: a `config` or `menuconfig` entry, a choice (no name), or a
/// constant that appears in an expression. Mirrors `struct symbol` in
/// `scripts/kconfig/expr.h`, whose evaluation state (`curr`, `visible`, the cached
/// dependency values and the flags) the engine updates as `symbol.c` does: a handle to its
/// record in the tree's ``ChunkArena``, as a ``Menu`` or a ``Property`` is.
///
/// Why a handle and not a class: every parse of a `depends on`, `select` or `default`
/// looks symbols up, and every walk over menus, properties and expressions passes them
/// on; as objects, each of those hundreds of thousands of passes retained and released
/// one (atomically, as the dependency checks read the same symbols on a second thread),
/// and each of a tree's 18,000 symbols was an allocation of its own. conf allocates them
/// with malloc and never frees them (`sym_lookup()` in symbol.c); here they go with their
/// tree. Symbols are compared with `==` (the same record), as conf compares
/// `struct symbol *`. A handle is only used while its tree is alive, which is why the type
/// is internal: the library's public API answers with names and values, not symbols.
@dynamicMemberLookup
struct Symbol: ArenaHandle, Hashable {
    let record: UnsafeMutablePointer<Record>

    struct Record {
        let name: String?
        var type: SymbolType = .unknown
        let isConst: Bool

        // struct symbol_value curr
        var currVal: String
        var currTri: Tristate = .no
        // def[S_DEF_USER]
        var userVal: String = ""
        var userTri: Tristate = .no
        var hasUserValue = false
        /// Where the user value was read from, for explanations.
        var userLocation: (String, Int)?

        var visible: Tristate = .no
        var properties = ThreadedList<Property>()
        var menus = ThreadedList<Menu>()
        /// The choice this symbol is a member of (`sym_get_choice_menu()`), set once menu
        /// finalisation has placed every menu (``KconfigTree/linkChoiceMenus()``).
        var choiceMenu: Menu?
        var isChoiceMember = false

        var dirDep = ExprValue()
        var revDep = ExprValue()
        var implied = ExprValue()

        // flags
        var valid = false
        var write = false
        var written = false
        var warned = false
        var isTransitional = false
        var checking = false
        var checked = false
    }

    init(in arena: ChunkArena<Record>, name: String?, isConst: Bool = false) {
        record = arena.make(Record(name: name, isConst: isConst, currVal: name ?? ""))
    }

    /// A choice is a symbol with no name (`sym_is_choice()` in `lkc.h`).
    var isChoice: Bool { self.name == nil }

    /// `sym_get_string_value()`: y/m/n for booleans and tristates, else the value string.
    var stringValue: String {
        switch self.type {
        case .boolean, .tristate: self.currTri.description
        default: self.currVal
        }
    }
}

/// An expression with its cached value, as `struct expr_value` holds one.
struct ExprValue {
    var expr: Expr?
    var tri: Tristate = .no
}

/// Property kinds (`enum prop_type`).
enum PropertyType: Sendable {
    case prompt, comment, menu, `default`, select, imply, range, symbol
}

/// A property of a symbol or menu: a prompt, default, select, imply or range, with its
/// visibility condition and where it was defined (`struct property`): a handle to its
/// record in the tree's ``ChunkArena``.
///
/// Why a handle and not a class: a kernel tree has some 70,000 properties, each a
/// separate allocation as an object, and every walk over a symbol's properties (menu
/// finalisation, evaluation, the dependency checks) retained and released each one.
/// conf allocates them with malloc and never frees them (`menu_add_prop()` in menu.c);
/// here they live as long as their tree.
@dynamicMemberLookup
struct Property: ArenaHandle {
    let record: UnsafeMutablePointer<Record>

    struct Record {
        var type: PropertyType
        var text: String?
        var expr: Expr?
        var visibleExpr: Expr?
        var visibleTri: Tristate = .no
        var menu: Menu
        let file: String
        let line: Int
        /// The next property of the same symbol (``ThreadedList``).
        var next: Property?
    }

    init(in arena: ChunkArena<Record>, type: PropertyType, expr: Expr?, visible: Expr?, menu: Menu, file: String,
         line: Int) {
        record = arena.make(Record(type: type, expr: expr, visibleExpr: visible, menu: menu, file: file, line: line))
    }

    /// `prop_get_symbol()`.
    var symbol: Symbol? {
        if case .symbol(let s) = self.expr?.node { return s }
        return nil
    }
}

/// A value that the tree keeps in a ``ChunkArena`` (a ``Property``, a ``Menu``), named by
/// a pointer to its record: its fields are the record's, read and written through the
/// handle (`menu.prompt = p` writes the record, as conf writes `menu->prompt`).
protocol ArenaHandle {
    associatedtype Record
    var record: UnsafeMutablePointer<Record> { get }
}

extension ArenaHandle {
    subscript<Value>(dynamicMember field: KeyPath<Record, Value>) -> Value {
        record.pointee[keyPath: field]
    }

    /// Modified in place (`menu.children.append(…)`), not copied out and back.
    subscript<Value>(dynamicMember field: WritableKeyPath<Record, Value>) -> Value {
        get { record.pointee[keyPath: field] }
        nonmutating _modify { yield &record.pointee[keyPath: field] }
    }
}

/// A handle whose record carries the link of one ``ThreadedList``.
protocol ListThreaded {
    var link: Self? { get nonmutating set }
}

/// A list threaded through its elements' own records, in the order they were added, as
/// conf threads a symbol's properties (`sym->prop`, appended by `menu_add_prop()`) and
/// its menus (`sym->menus`, by `menu_add_entry()`): adding one allocates nothing. An
/// array per symbol cost an allocation for its first element and one for each growth
/// (27,500 of them for properties alone on the x86 tree).
struct ThreadedList<Element: ListThreaded>: Sequence {
    private(set) var first: Element?
    private var last: Element?

    init() {}

    var isEmpty: Bool { first == nil }

    mutating func append(_ element: Element) {
        if let last { last.link = element } else { first = element }
        last = element
    }

    struct Iterator: IteratorProtocol {
        fileprivate var upcoming: Element?
        mutating func next() -> Element? {
            guard let e = upcoming else { return nil }
            upcoming = e.link
            return e
        }
    }

    func makeIterator() -> Iterator { Iterator(upcoming: first) }
}

extension Property: ListThreaded {
    /// The next property of the same symbol.
    var link: Property? {
        get { record.pointee.next }
        nonmutating set { record.pointee.next = newValue }
    }
}

extension Menu: ListThreaded {
    /// The next menu entry of the same symbol.
    var link: Menu? {
        get { record.pointee.nextOfSymbol }
        nonmutating set { record.pointee.nextOfSymbol = newValue }
    }
}

enum MenuType: Sendable {
    case normal, menu, choice, comment, `if`
}

/// A node of the menu tree (`struct menu`): every config, menu, choice, comment and if; a
/// handle to its record in the tree's ``ChunkArena``, as a ``Property`` is.
///
/// Why a handle and not a class: menu finalisation, the parser and every walk of the tree
/// (writing a config, the dependency checks) retained and released each menu they
/// visited, and each was an allocation of its own. conf never frees a menu either
/// (`menu_add_entry()` in menu.c); here they go with their tree. Menus are compared with
/// `==` (the same record), as conf compares `struct menu *`.
@dynamicMemberLookup
struct Menu: ArenaHandle, Equatable {
    let record: UnsafeMutablePointer<Record>

    struct Record {
        let type: MenuType
        let symbol: Symbol?
        var parent: Menu?
        var children: [Menu] = []
        var prompt: Property?
        var dep: Expr?
        var visibility: Expr?
        /// The help text, made from the file on first use (``HelpText``).
        var helpSource: HelpText?
        let file: String
        let line: Int
        /// choice_members, in the order the parser linked them.
        var choiceMembers: [Symbol] = []
        /// The next menu entry of the same symbol (``ThreadedList``).
        var nextOfSymbol: Menu?
    }

    init(in arena: ChunkArena<Record>, type: MenuType, symbol: Symbol?, parent: Menu?, file: String, line: Int) {
        record = arena.make(Record(type: type, symbol: symbol, parent: parent, file: file, line: line))
    }

    var help: String? { self.helpSource?.text }
}
