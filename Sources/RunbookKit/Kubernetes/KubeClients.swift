import Foundation

/// The run's Kubernetes client, resolved once from `--kubeconfig`/`--context`/the environment
/// when a step first needs it (a runbook without Kubernetes steps needs no kubeconfig).
public final class KubeClients: Sendable {
    private let options: ClientOptions
    private let cache = ClientCache<String, KubeClient>()

    public init(options: ClientOptions) { self.options = options }

    /// The shared client; throws `KubeError.config` when no usable kubeconfig is found.
    public func client() throws -> KubeClient {
        try cache.client(for: options.context ?? "") {
            KubeClient(connection: try KubeConnection.resolve(options), environment: options.environment,
                       retry: options.requests.backoff, requestTimeout: options.requests.timeout)
        }
    }
}
