import Foundation

/// Options of the command line that clients need.
public struct ClientOptions: Sendable {
    public var kubeconfig: String?
    public var context: String?
    public var environment: [String: String]
    /// Deadline and retries of each request (see `RequestPolicy`).
    public var requests = RequestPolicy()

    public init(kubeconfig: String? = nil, context: String? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment)
    {
        self.kubeconfig = kubeconfig
        self.context = context
        self.environment = environment
    }
}
