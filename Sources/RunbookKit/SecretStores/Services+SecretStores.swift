import Foundation

extension Services {
    /// The HTTP client every secret store of the run shares (one connection per endpoint).
    func secretStoreHTTP() throws -> HTTPClient {
        try shared("secretstores.http") { HTTPClient() }
    }

    /// The run's store for `ref`, created on first use. Tokens it finds are given to `masker`.
    public func secretStore(_ ref: SecretStoreRef, masker: Masker) throws -> any SecretStore {
        let env = options.environment
        let key = "secretstore:\(ref.provider.rawValue):\(ref.project ?? ""):\(ref.region ?? "")"
        // `shared` holds its lock while making: take the dependencies first (it is not re-entrant).
        let client = try secretStoreHTTP()
        let token = try shared("gcp.token") { GCPAccessToken(environment: env, client: client, masker: masker) }
        let store: any SecretStore = try shared(key) { () throws -> any SecretStore in
            switch ref.provider {
            case .gcp:
                let transport = StoreTransport(client: client, backoff: .standard, store: "GCP Secret Manager")
                return GCPSecretManager(transport: transport, environment: env, project: ref.project ?? "", token: token)
            case .awsSSM, .awsSecretsManager:
                let aws = try AWSEnvironment.resolve(explicitRegion: ref.region, environment: env)
                masker.add(aws.secretAccessKey)
                if let t = aws.sessionToken { masker.add(t) }
                let ssm = ref.provider == .awsSSM
                let service = ssm ? "ssm" : "secretsmanager"
                let name = ssm ? "AWS SSM Parameter Store" : "AWS Secrets Manager"
                let api = AWSJSONClient(
                    transport: StoreTransport(client: client, backoff: .standard, store: name),
                    endpoint: AWSEnvironment.endpoint(service: service, envSuffix: ssm ? "SSM" : "SECRETS_MANAGER",
                                                      region: aws.region, environment: env),
                    targetPrefix: ssm ? "AmazonSSM" : "secretsmanager", signer: aws.signer(service: service))
                return ssm ? AWSParameterStore(api: api, region: aws.region) as any SecretStore
                    : AWSSecretsManager(api: api, region: aws.region)
            }
        }
        return store
    }
}
