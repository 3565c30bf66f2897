import Foundation

extension SecretStoreRef {
    /// Static checks of `with.store` and `with.name` for `secret.put`/`secret.get`: unknown
    /// provider or keys, a missing project/region, a name the provider would reject. Values
    /// holding expressions are checked at run time instead.
    static func validate(_ with: YAMLNode, action: String, file: String, into diagnostics: inout [Diagnostic],
                         environment: [String: String] = ProcessInfo.processInfo.environment)
    {
        func report(_ node: YAMLNode, _ message: String) {
            diagnostics.append(Diagnostic(file: file, mark: node.mark, message: "\(action): \(message)"))
        }
        guard let store = with["store"] else { return }
        guard case .mapping = store else {
            if StaticCheck.literal(store) != nil { report(store, "store must be a mapping such as {provider: gcp, project: my-project}") }
            return
        }
        for (key, keyNode, _) in StaticCheck.pairs(store) where !keys.contains(key) {
            report(keyNode, "unknown store key '\(key)' (use provider, project or region)")
        }
        guard let providerNode = store["provider"] else {
            report(store, "store.provider is required (\(Provider.allCases.map(\.rawValue).joined(separator: ", ")))")
            return
        }
        guard let providerText = StaticCheck.literal(providerNode) else { return }
        guard let provider = Provider(rawValue: providerText) else {
            report(providerNode, "unknown secret store provider '\(providerText)' (use \(Provider.allCases.map(\.rawValue).joined(separator: ", ")))")
            return
        }
        switch provider {
        case .gcp:
            if store["project"] == nil || StaticCheck.literal(store["project"]) == "" {
                report(store["project"] ?? store, "store.project is required for provider gcp")
            }
        case .awsSSM, .awsSecretsManager:
            if (store["region"] == nil || StaticCheck.literal(store["region"]) == ""),
               AWSEnvironment.defaultRegion(environment: environment) == nil
            {
                report(store["region"] ?? store, "store.region is required for provider \(provider.rawValue) (no AWS_REGION or profile region is set either)")
            }
        }
        if let nameNode = with["name"], let name = StaticCheck.literal(nameNode), let problem = SecretName.problem(name, provider: provider) {
            report(nameNode, problem)
        }
    }
}
