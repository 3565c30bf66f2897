/// One remote secret store (GCP Secret Manager, AWS SSM Parameter Store, AWS Secrets Manager).
///
/// Names are the provider's own (a GCP secret id, an SSM parameter name, a Secrets Manager
/// name); versions are the provider's version ids as text. Values pass through memory only.
public protocol SecretStore: Sendable {
    /// How messages name a secret: "gcp secret projects/p/secrets/x".
    func label(_ name: String) -> String
    /// What a plain read of `name` returns now.
    func current(_ name: String) async throws -> SecretCurrent
    /// One version's value (`nil`: what a plain read returns).
    func read(_ name: String, version: String?) async throws -> SecretVersion
    /// Creates the secret with a first version; returns that version's id.
    /// `requestToken` makes a repeated call (resume) idempotent where the provider supports it.
    func create(_ name: String, value: String, requestToken: String) async throws -> String
    /// Adds a version that plain reads return from now on; returns its id.
    func addVersion(_ name: String, value: String, requestToken: String) async throws -> String
    /// Removes the secret and all its versions (without a recovery window).
    func delete(_ name: String) async throws
    /// Makes plain reads return version `previous`'s value again and retires `added` (when
    /// known), without the old value ever leaving memory. Safe to repeat.
    func restore(_ name: String, previous: String, added: String?) async throws
    /// Retires `added` when there was no readable prior version to go back to.
    func retire(_ name: String, version: String) async throws
}

/// One version of a secret, with its value.
public struct SecretVersion: Sendable, Equatable {
    public var version: String
    public var value: String
    public init(version: String, value: String) { self.version = version; self.value = value }
}

/// The state of a secret as plain reads see it.
public enum SecretCurrent: Sendable, Equatable {
    /// No such secret.
    case absent
    /// The secret exists but a plain read returns nothing (no version, or the latest is disabled).
    case unreadable(latest: String?)
    case present(SecretVersion)

    public var version: String? {
        switch self {
        case .absent: return nil
        case .unreadable(let v): return v
        case .present(let v): return v.version
        }
    }
}
