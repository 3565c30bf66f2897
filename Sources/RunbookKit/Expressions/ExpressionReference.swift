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

    public init(kind: Kind, mark: Mark) {
        self.kind = kind
        self.mark = mark
    }
}
