/// A set of action types looked up by their `action:` name. The validator and the engine each
/// receive one (`RunbookValidator(actions:)`, `EngineOptions.actions`); the command line passes
/// `ActionRegistry.catalog`, tests may pass their own.
public struct ActionCatalog: Sendable {
    public let all: [any Action.Type]

    public init(_ actions: [any Action.Type]) { all = actions }

    /// The action named `name` (`k8s.apply`), if known.
    public func action(named name: String) -> (any Action.Type)? {
        all.first { $0.spec.name == name }
    }

    /// Every known name, in registration order.
    public var names: [String] { all.map { $0.spec.name } }
}
