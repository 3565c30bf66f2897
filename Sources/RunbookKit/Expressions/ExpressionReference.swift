/// A name an expression reads, found by static analysis for validation.
public struct ExpressionReference: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `vars.NAME`
        case variable(String)
        /// `steps.ID.outputs.KEY`
        case stepOutput(step: String, key: String)
        /// `env.NAME`
        case env(String)
        /// `run.id`
        case runID
        /// `NAME…` where NAME is no root of its own: the item of an enclosing `foreach` (`as: NAME`).
        case local(String, written: String)
    }

    public let kind: Kind
    /// Where the reference is (the scalar's position, moved to the reference when on one line).
    public let mark: Mark
    /// The names read after `steps.ID.outputs.KEY` (`results[0].read.value` gives `*`, `read`,
    /// `value`; `*` for an index that is a number or computed).
    public let trail: [String]

    public init(kind: Kind, mark: Mark, trail: [String] = []) {
        self.kind = kind
        self.mark = mark
        self.trail = trail
    }
}
