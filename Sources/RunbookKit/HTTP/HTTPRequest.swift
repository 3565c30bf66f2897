import Foundation

/// One HTTP request.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    /// Header fields in order; names as they should be sent.
    public var headers: [(String, String)]
    public var body: Data?
    /// Whole-request timeout in seconds; `nil` means the client's default (60 s).
    public var timeout: TimeInterval?
    /// Sign the request for AWS.
    public var sigV4: AWSSigV4?
    /// Send on a new connection. For writes that are not idempotent: libcurl silently resends a
    /// request once when a *reused* connection dies before any answer, which would repeat a write
    /// the server already committed; on a fresh connection the failure reaches the caller, which
    /// checks the remote state before retrying (`StoreTransport.sendWrite`).
    public var freshConnection = false

    public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: Data? = nil,
                timeout: TimeInterval? = nil, sigV4: AWSSigV4? = nil)
    {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.sigV4 = sigV4
    }
}
