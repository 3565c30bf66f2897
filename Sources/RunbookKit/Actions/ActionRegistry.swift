/// Every action the engine knows, by its `action:` name. Add new actions here.
public enum ActionRegistry {
    public static let all: [any Action.Type] = [
        // engine (no cluster)
        ExecAction.self, ApproveAction.self, AssertAction.self,
        // Kubernetes
        K8sGet.self, K8sList.self, K8sSecretRead.self, K8sApply.self, K8sPatch.self, K8sDelete.self, K8sScale.self, K8sWait.self, K8sJobRun.self,
        K8sCanI.self, K8sRollout.self,
        // secret stores and SQL
        SecretPutAction.self,
        SecretGetAction.self,
        SecretGenerateAction.self,
        HTTPRequestAction.self,
        SQLQueryAction.self,
        // sealing and local files
        SecretSealAction.self, FileWriteAction.self,
    ]

    /// `all` as a catalog, for the validator and the engine.
    public static let catalog = ActionCatalog(all)

    public static func action(named name: String) -> (any Action.Type)? {
        catalog.action(named: name)
    }
}
