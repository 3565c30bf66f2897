import Foundation

/// The clients and policies one command's steps share, made once by the engine and handed to
/// every `ActionContext` as typed fields. Each client connects on first use.
///
/// A new kind of client (say an HTTP client for `http.request`) is one field here, one field on
/// `ActionContext`, and its construction in `init`.
public struct RunClients: Sendable {
    public let kubernetes: KubeClients
    public let secretStores: SecretStores
    public let postgres: PostgresConnections
    public let interaction: Interaction
    /// The process environment the clients see (credentials such as `PGPASSWORD`).
    public let environment: [String: String]

    public init(options: ClientOptions, interaction: Interaction, masker: Masker) {
        kubernetes = KubeClients(options: options)
        secretStores = SecretStores(environment: options.environment, masker: masker, requests: options.requests)
        postgres = PostgresConnections()
        self.interaction = interaction
        environment = options.environment
    }
}
