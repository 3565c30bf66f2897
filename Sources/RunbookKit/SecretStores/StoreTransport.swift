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

    /// For a write that is not idempotent (GCP `addVersion`, SSM `PutParameter`): a retryable
    /// failure may come *after* the store committed the write (a 503 or a reset that lost the
    /// answer), so before each retry `tookEffect` re-reads the remote state, and when the write
    /// is already there this returns nil instead of writing it a second time.
    func sendWrite(_ request: HTTPRequest, retryable: (HTTPResponse) -> Bool,
                   tookEffect: () async throws -> Bool) async throws -> HTTPResponse?
    {
        var request = request
        request.freshConnection = true
        var attempt = 1
        while true {
            var retryAfter: TimeInterval?
            do {
                let response = try client.send(request)
                if !retryable(response) || attempt >= backoff.attempts { return response }
                retryAfter = response.retryAfter
            } catch let error as HTTPError {
                guard error.isTransient else {
                    throw SecretStoreError.connection(store: store, reason: error.errorDescription ?? "\(error)")
                }
                if attempt >= backoff.attempts {
                    throw SecretStoreError.unavailable(store: store, reason: error.errorDescription ?? "\(error)")
                }
            }
            try await Task.sleep(nanoseconds: UInt64(backoff.delay(retry: attempt, retryAfter: retryAfter) * 1e9))
            if try await tookEffect() { return nil }
            attempt += 1
        }
    }
}
