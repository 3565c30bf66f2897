import Foundation

/// The run's secret stores, one per provider, project and region, created on first use. They
/// share one HTTP client (one connection per endpoint) and one GCP access token; every token and
/// key they find is given to the run's masker.
public final class SecretStores: Sendable {
    private struct Key: Hashable, Sendable {
        let provider: SecretStoreRef.Provider
        let project: String?
        let region: String?
    }

    private let environment: [String: String]
    private let masker: Masker
    private let shared = ClientCache<String, HTTPClient>()
    private let tokens = ClientCache<String, GCPAccessToken>()
    private let stores = ClientCache<Key, any SecretStore>()

    private let requests: RequestPolicy

    public init(environment: [String: String], masker: Masker, requests: RequestPolicy = RequestPolicy()) {
        self.environment = environment
        self.masker = masker
        self.requests = requests
    }

    /// Made only when a store is first used: a run without secret steps opens nothing.
    private var http: HTTPClient { shared.client(for: "http") { HTTPClient() } }

    /// The store `ref` names; throws `SecretStoreError.credentials` when AWS credentials are missing.
    public func store(_ ref: SecretStoreRef) throws -> any SecretStore {
        try stores.client(for: Key(provider: ref.provider, project: ref.project, region: ref.region)) { try make(ref) }
    }

    private func make(_ ref: SecretStoreRef) throws -> any SecretStore {
        switch ref.provider {
        case .gcp:
            let transport = StoreTransport(client: http, backoff: requests.backoff, store: "GCP Secret Manager",
                                           requestTimeout: requests.timeout)
            let token = tokens.client(for: "gcp") { GCPAccessToken(environment: environment, client: http, masker: masker) }
            return GCPSecretManager(transport: transport, environment: environment, project: ref.project ?? "", token: token)
        case .awsSSM, .awsSecretsManager:
            let aws = try AWSEnvironment.resolve(explicitRegion: ref.region, environment: environment)
            masker.add(aws.secretAccessKey)
            if let t = aws.sessionToken { masker.add(t) }
            let ssm = ref.provider == .awsSSM
            let service = ssm ? "ssm" : "secretsmanager"
            let name = ssm ? "AWS SSM Parameter Store" : "AWS Secrets Manager"
            let api = AWSJSONClient(
                transport: StoreTransport(client: http, backoff: requests.backoff, store: name, requestTimeout: requests.timeout),
                endpoint: AWSEnvironment.endpoint(service: service, envSuffix: ssm ? "SSM" : "SECRETS_MANAGER",
                                                  region: aws.region, environment: environment),
                targetPrefix: ssm ? "AmazonSSM" : "secretsmanager", signer: aws.signer(service: service))
            return ssm ? AWSParameterStore(api: api, region: aws.region) as any SecretStore
                : AWSSecretsManager(api: api, region: aws.region)
        }
    }
}
