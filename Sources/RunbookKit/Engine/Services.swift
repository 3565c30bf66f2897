import Foundation

/// Options of the command line that clients need.
public struct ClientOptions: Sendable {
    public var kubeconfig: String?
    public var context: String?
    public var environment: [String: String]

    public init(kubeconfig: String? = nil, context: String? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment)
    {
        self.kubeconfig = kubeconfig
        self.context = context
        self.environment = environment
    }
}

/// The run's shared clients, created on first use and reused for every step (one connection
/// per endpoint, not one per call). Areas add typed accessors in extensions, e.g.
/// `extension Services { func kubernetes() throws -> KubeClient { try shared("kube") { … } } }`.
public final class Services: @unchecked Sendable {
    public let options: ClientOptions
    private let lock = NSLock()
    private var cache: [String: Any] = [:]

    public init(options: ClientOptions) { self.options = options }

    /// The instance stored under `key`, made by `make` the first time.
    public func shared<T>(_ key: String, make: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        if let v = cache[key] as? T { return v }
        let v = try make()
        cache[key] = v
        return v
    }
}
