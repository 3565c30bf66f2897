import Foundation

/// Sends store requests on the run's shared `HTTPClient`, retrying what the provider marks as
/// retryable (5xx, 429, AWS throttling exceptions) with bounded exponential backoff.
struct StoreTransport: Sendable {
    let client: HTTPClient
    let backoff: RetryBackoff
    /// The store's name in messages ("GCP Secret Manager").
    let store: String

    /// `retryable` decides, from a response, whether another attempt may help.
    func send(_ request: HTTPRequest, retryable: (HTTPResponse) -> Bool) async throws -> HTTPResponse {
        var attempt = 1
        while true {
            do {
                let response = try await client.sendAsync(request)
                if !retryable(response) || attempt >= backoff.attempts { return response }
                try await Task.sleep(nanoseconds: UInt64(backoff.delay(retry: attempt, retryAfter: response.retryAfter) * 1e9))
            } catch let error as HTTPError {
                guard error.isTransient else {
                    throw SecretStoreError.connection(store: store, reason: error.errorDescription ?? "\(error)")
                }
                if attempt >= backoff.attempts {
                    throw SecretStoreError.unavailable(store: store, reason: error.errorDescription ?? "\(error)")
                }
                try await Task.sleep(nanoseconds: UInt64(backoff.delay(retry: attempt, retryAfter: nil) * 1e9))
            }
            attempt += 1
        }
    }
}
