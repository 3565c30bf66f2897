import Foundation

/// Sends store requests on the run's shared `HTTPClient`, retrying what the provider marks as
/// retryable (5xx, 429, AWS throttling exceptions) with bounded exponential backoff.
struct StoreTransport: Sendable {
    let client: HTTPClient
    let backoff: RetryBackoff
    /// The store's name in messages ("GCP Secret Manager").
    let store: String
    /// The run's per-attempt deadline (`RequestPolicy`), replacing the request's own.
    var requestTimeout: TimeInterval?

    /// `retryable` decides, from a response, whether another attempt may help.
    func send(_ request: HTTPRequest, retryable: (HTTPResponse) -> Bool) async throws -> HTTPResponse {
        var request = request
        request.timeout = requestTimeout ?? request.timeout
        var attempt = 1
        while true {
            do {
                let response = try await client.sendAsync(request)
                if !retryable(response) || attempt >= backoff.attempts { return response }
                let delay = backoff.delay(retry: attempt, retryAfter: response.retryAfter)
                RetryNotice.retrying(request, reason: "\(store): HTTP \(response.status)", delay: delay, next: attempt + 1,
                                     of: backoff.attempts)
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            } catch let error as HTTPError {
                guard error.isTransient else {
                    throw SecretStoreError.connection(store: store, reason: error.errorDescription ?? "\(error)")
                }
                if attempt >= backoff.attempts {
                    throw SecretStoreError.unavailable(store: store, reason: error.errorDescription ?? "\(error)")
                }
                let delay = backoff.delay(retry: attempt, retryAfter: nil)
                RetryNotice.retrying(request, reason: "\(store): \(error.errorDescription ?? "\(error)")", delay: delay,
                                     next: attempt + 1, of: backoff.attempts)
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
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
        request.timeout = requestTimeout ?? request.timeout
        var attempt = 1
        while true {
            var retryAfter: TimeInterval?
            do {
                let response = try await client.sendAsync(request)
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
            let delay = backoff.delay(retry: attempt, retryAfter: retryAfter)
            RetryNotice.retrying(request, reason: "\(store): no answer, or a failure; the write may have taken effect, "
                + "so it is checked before being sent again", delay: delay, next: attempt + 1, of: backoff.attempts)
            try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            if try await tookEffect() { return nil }
            attempt += 1
        }
    }
}
