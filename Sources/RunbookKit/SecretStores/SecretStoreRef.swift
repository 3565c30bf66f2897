/// The `store:` block of `secret.put` / `secret.get`: which provider, and where.
public struct SecretStoreRef: Sendable, Hashable {
    public enum Provider: String, Sendable, CaseIterable {
        case gcp
        case awsSSM = "aws-ssm"
        case awsSecretsManager = "aws-secretsmanager"
    }

    public var provider: Provider
    /// GCP project id or number.
    public var project: String?
    /// AWS region; when absent, AWS_REGION, AWS_DEFAULT_REGION or the profile's config decide.
    public var region: String?

    public init(provider: Provider, project: String? = nil, region: String? = nil) {
        self.provider = provider
        self.project = project
        self.region = region
    }

    public static let keys = ["provider", "project", "region"]

    /// Reads `with.store` after evaluation.
    public init(_ value: Value?) throws {
        guard case .object(let o)? = value else {
            throw SecretStoreError.invalidInput("with.store must be a mapping such as {provider: gcp, project: my-project}")
        }
        for key in o.keys where !Self.keys.contains(key) {
            throw SecretStoreError.invalidInput("with.store.\(key) is not known (use provider, project or region)")
        }
        guard let name = o["provider"]?.stringValue, let provider = Provider(rawValue: name) else {
            throw SecretStoreError.invalidInput(
                "with.store.provider must be one of \(Provider.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let project = o["project"].flatMap { $0.isNull ? nil : $0.interpolated }
        let region = o["region"].flatMap { $0.isNull ? nil : $0.interpolated }
        if provider == .gcp, (project ?? "").isEmpty {
            throw SecretStoreError.invalidInput("with.store.project is required for provider gcp")
        }
        self.init(provider: provider, project: project, region: region?.isEmpty == true ? nil : region)
    }
}
