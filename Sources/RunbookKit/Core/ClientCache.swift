import Foundation

/// Clients of one kind, made on first use and then shared by every step of a run (one
/// connection per endpoint, not one per call).
///
/// A client is built *outside* the lock, so a slow connect never blocks other callers: when two
/// first users race, both build, the first one stored is kept and returned to both, and the other
/// is dropped. (`@unchecked`: the dictionary is only touched under `lock`; `Mutex` needs macOS 15.)
public final class ClientCache<Key: Hashable & Sendable, Client: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var clients: [Key: Client] = [:]

    public init() {}

    /// The client stored under `key`, made by `make` the first time. A `make` that throws stores
    /// nothing, so the next call tries again.
    public func client(for key: Key, make: () throws -> Client) rethrows -> Client {
        if let existing = lock.withLock({ clients[key] }) { return existing }
        let made = try make()
        return lock.withLock {
            if let existing = clients[key] { return existing }
            clients[key] = made
            return made
        }
    }
}
