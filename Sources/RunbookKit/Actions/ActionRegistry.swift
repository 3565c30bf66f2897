/// Every action the engine knows, by its `action:` name. Add new actions here.
public enum ActionRegistry {
    public static let all: [any Action.Type] = [
        // engine (no cluster)
        // Kubernetes
        // secret stores and SQL
        SecretPutAction.self,
        SecretGetAction.self,
        SQLQueryAction.self,
    ]

    public static func action(named name: String) -> (any Action.Type)? {
        all.first { $0.spec.name == name }
    }
}
