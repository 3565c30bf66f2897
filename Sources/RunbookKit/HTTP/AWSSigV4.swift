/// Credentials for AWS Signature Version 4; libcurl signs the request (`CURLOPT_AWS_SIGV4`).
public struct AWSSigV4: Sendable {
    public var region: String
    public var service: String
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Temporary-credential token, sent as `X-Amz-Security-Token`.
    public var sessionToken: String?

    public init(region: String, service: String, accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.region = region
        self.service = service
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}
