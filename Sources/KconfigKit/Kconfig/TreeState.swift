/// Resolving many configs against one loaded tree (`config defconfigs`, `randconfig
/// --count`): conf resolves one config per process, so everything a resolution changes
/// in the tree is put back as it was after loading before the next one starts. Loading
/// (parsing, menu finalisation, the compiler probes) is most of a run's cost; restoring
/// is a pass over the symbols.
extension KconfigTree {
    /// What reading, evaluating and writing a config change: per symbol its values,
    /// user values and flags and the cached tristates of its dependencies and prompts;
    /// each choice's member order; for the tree, MODULES' value, the change and warning
    /// counts and the output text.
    public struct State {
        fileprivate struct SymbolState {
            var currVal: String, currTri: Tristate, userVal: String, userTri: Tristate
            var hasUserValue: Bool, userLocation: (String, Int)?, visible: Tristate
            var dirDep: Tristate, revDep: Tristate, implied: Tristate
            var valid: Bool, write: Bool, written: Bool, warned: Bool, checking: Bool, checked: Bool
            var propertyVisible: [Tristate]
        }
        fileprivate var symbols: [SymbolState]
        fileprivate var modulesValue: Tristate, changed: Bool, confWarnings: Int, dependencyWarnings: Int
        fileprivate var standardOutput: String, standardError: String
        /// Each choice's member order: conf_read() moves a member given a value to the
        /// front, randconfig to the back, and the order decides a choice whose visible
        /// members are all n.
        fileprivate var choiceOrders: [(Menu, [Symbol])]
    }

    public func snapshot() -> State {
        State(symbols: symbols.map { s in
                  State.SymbolState(currVal: s.currVal, currTri: s.currTri, userVal: s.userVal, userTri: s.userTri,
                                    hasUserValue: s.hasUserValue, userLocation: s.userLocation, visible: s.visible,
                                    dirDep: s.dirDep.tri, revDep: s.revDep.tri, implied: s.implied.tri,
                                    valid: s.valid, write: s.write, written: s.written, warned: s.warned,
                                    checking: s.checking, checked: s.checked, propertyVisible: s.properties.map(\.visibleTri))
              },
              modulesValue: modulesValue, changed: changed, confWarnings: confWarnings,
              dependencyWarnings: dependencyWarnings, standardOutput: standardOutput, standardError: standardError,
              choiceOrders: subEntries(rootMenu).filter { !$0.choiceMembers.isEmpty }.map { ($0, $0.choiceMembers) })
    }

    /// Puts the tree back as `snapshot()` found it. Reading a config only finds symbols
    /// (`sym_find()`), never adds them, so the symbol list is the snapshot's.
    public func restore(_ state: State) {
        precondition(state.symbols.count == symbols.count, "a resolution added symbols to the tree")
        for (s, v) in zip(symbols, state.symbols) {
            s.currVal = v.currVal; s.currTri = v.currTri; s.userVal = v.userVal; s.userTri = v.userTri
            s.hasUserValue = v.hasUserValue; s.userLocation = v.userLocation; s.visible = v.visible
            s.dirDep.tri = v.dirDep; s.revDep.tri = v.revDep; s.implied.tri = v.implied
            s.valid = v.valid; s.write = v.write; s.written = v.written; s.warned = v.warned
            s.checking = v.checking; s.checked = v.checked
            for (p, t) in zip(s.properties, v.propertyVisible) { p.visibleTri = t }
        }
        for (menu, order) in state.choiceOrders { menu.choiceMembers = order }
        modulesValue = state.modulesValue; changed = state.changed; confWarnings = state.confWarnings
        dependencyWarnings = state.dependencyWarnings
        resetOutput(stdout: state.standardOutput, stderr: state.standardError)
        // Cached subexpression values are stamped with the epoch they were computed in;
        // a new epoch drops every one of them (rather than restoring the old number,
        // which would make values computed for the last config look current).
        epoch += 1
    }
}
