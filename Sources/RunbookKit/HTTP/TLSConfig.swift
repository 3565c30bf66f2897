import Foundation

/// TLS material for one endpoint, held in memory only: it reaches libcurl as blobs
/// (`CURLOPT_CAINFO_BLOB`, `CURLOPT_SSLCERT_BLOB`, `CURLOPT_SSLKEY_BLOB`), never as files.
public struct TLSConfig: Sendable, Hashable {
    /// PEM bundle of trusted CAs; `nil` means the system trust store.
    public var caPEM: Data?
    /// PEM client certificate (mutual TLS).
    public var clientCertPEM: Data?
    /// PEM private key of the client certificate.
    public var clientKeyPEM: Data?
    /// Skips server certificate verification. Only set when configuration explicitly asks for it.
    public var insecureSkipVerify: Bool

    public init(caPEM: Data? = nil, clientCertPEM: Data? = nil, clientKeyPEM: Data? = nil, insecureSkipVerify: Bool = false) {
        self.caPEM = caPEM
        self.clientCertPEM = clientCertPEM
        self.clientKeyPEM = clientKeyPEM
        self.insecureSkipVerify = insecureSkipVerify
    }
}
