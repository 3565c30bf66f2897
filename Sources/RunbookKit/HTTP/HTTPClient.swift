import CCurl
import Foundation

/// An HTTPS client over libcurl. Easy handles are pooled and reused, so connections (and TLS
/// sessions) stay alive: a request takes an idle handle (a new one only when all are busy), so
/// as many connections are open as requests were in flight at once (one for a sequential run;
/// up to a `foreach` group's concurrency).
public final class HTTPClient: @unchecked Sendable {
    public let tls: TLSConfig
    private let lock = NSLock()
    private var idle: [Easy] = []

    /// One libcurl easy handle and its error buffer.
    private final class Easy {
        let handle: UnsafeMutableRawPointer
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

        init() {
            guard let h = curl_easy_init() else { fatalError("curl_easy_init failed (out of memory)") }
            handle = h
        }

        deinit {
            curl_easy_cleanup(handle)
            errorBuffer.deallocate()
        }
    }

    /// Idle handles kept beyond this are closed.
    static let maxIdle = 32

    private static let globalInit: Void = { _ = curl_global_init(Int(CURL_GLOBAL_ALL)) }()

    public init(tls: TLSConfig = TLSConfig()) {
        _ = HTTPClient.globalInit
        self.tls = tls
    }

    /// Sends one request, one attempt, on the calling thread. Any HTTP status is a response; only
    /// transport failures throw.
    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        let easy = lock.withLock { idle.popLast() } ?? Easy()
        defer { lock.withLock { if idle.count < HTTPClient.maxIdle { idle.append(easy) } } }
        return try perform(request, easy.handle, easy.errorBuffer)
    }

    /// `send(_:)` on a thread of its own (libcurl blocks): the caller's task is suspended, not
    /// its thread, so concurrent requests overlap and the cooperative pool stays free.
    public func sendAsync(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<HTTPResponse, any Error>) in
            DispatchQueue.global().async {
                c.resume(with: Result { try self.send(request) })
            }
        }
    }

    /// Sends with retries: transport errors marked transient and statuses 429/502/503/504 are
    /// retried with backoff (`Retry-After` honoured). After the last attempt a retryable status
    /// is returned as the response, a transport error is thrown.
    public func send(_ request: HTTPRequest, retry: RetryBackoff) async throws -> HTTPResponse {
        var attempt = 1
        while true {
            do {
                let r = try await sendAsync(request)
                if !r.isRetryable || attempt >= retry.attempts { return r }
                let delay = retry.delay(retry: attempt, retryAfter: r.retryAfter)
                RetryNotice.retrying(request, reason: "HTTP \(r.status)", delay: delay, next: attempt + 1, of: retry.attempts)
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            } catch let e as HTTPError where e.isTransient && attempt < retry.attempts {
                let delay = retry.delay(retry: attempt, retryAfter: nil)
                RetryNotice.retrying(request, reason: e.errorDescription ?? "\(e)", delay: delay, next: attempt + 1, of: retry.attempts)
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            }
            attempt += 1
        }
    }

    // MARK: - libcurl

    /// Collects the response while curl runs; passed to the callbacks as their user pointer.
    private final class Sink {
        var body = Data()
        var status = 0
        var headers: [String: String] = [:]
    }

    private func perform(_ request: HTTPRequest, _ handle: UnsafeMutableRawPointer,
                         _ errorBuffer: UnsafeMutablePointer<CChar>) throws -> HTTPResponse
    {
        curl_easy_reset(handle)  // keeps the live connection and TLS session cache
        errorBuffer.initialize(to: 0)
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        let sink = Sink()
        let sinkPtr = Unmanaged.passUnretained(sink).toOpaque()

        func set(_ o: CURLoption, _ v: Int) throws { try check(runbook_curl_setopt_long(handle, o, v), o) }
        func set(_ o: CURLoption, _ v: String) throws { try check(runbook_curl_setopt_str(handle, o, v), o) }
        func setBlob(_ o: CURLoption, _ d: Data) throws {
            try d.withUnsafeBytes { raw in
                var blob = curl_blob(data: UnsafeMutableRawPointer(mutating: raw.baseAddress), len: raw.count,
                                     flags: UInt32(CURL_BLOB_COPY))
                try check(runbook_curl_setopt_blob(handle, o, &blob), o)
            }
        }

        guard request.url.hasPrefix("http://") || request.url.hasPrefix("https://") else {
            throw HTTPError.invalidURL(request.url)
        }
        try set(CURLOPT_URL, request.url)
        try set(CURLOPT_USERAGENT, "runbook")  // a User-Agent header of the request wins
        try set(CURLOPT_NOSIGNAL, 1)
        try check(runbook_curl_setopt_ptr(handle, CURLOPT_ERRORBUFFER, errorBuffer), CURLOPT_ERRORBUFFER)
        try set(CURLOPT_TIMEOUT_MS, Int((request.timeout ?? 60) * 1000))
        try set(CURLOPT_CONNECTTIMEOUT_MS, 10_000)
        try set(CURLOPT_TCP_KEEPALIVE, 1)
        if request.freshConnection { try set(CURLOPT_FRESH_CONNECT, 1) }

        // TLS
        if let ca = tls.caPEM { try setBlob(CURLOPT_CAINFO_BLOB, ca) }
        if let cert = tls.clientCertPEM {
            try set(CURLOPT_SSLCERTTYPE, "PEM")
            try setBlob(CURLOPT_SSLCERT_BLOB, cert)
        }
        if let key = tls.clientKeyPEM {
            try set(CURLOPT_SSLKEYTYPE, "PEM")
            try setBlob(CURLOPT_SSLKEY_BLOB, key)
        }
        if tls.insecureSkipVerify {
            try set(CURLOPT_SSL_VERIFYPEER, 0)
            try set(CURLOPT_SSL_VERIFYHOST, 0)
        }

        // Method and body
        let method = request.method.uppercased()
        if let body = request.body {
            try check(runbook_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)), CURLOPT_POSTFIELDSIZE_LARGE)
            try body.withUnsafeBytes { raw in
                let p = raw.baseAddress ?? UnsafeRawPointer(("" as StaticString).utf8Start)
                try check(runbook_curl_setopt_ptr(handle, CURLOPT_COPYPOSTFIELDS, p), CURLOPT_COPYPOSTFIELDS)
            }
            if method != "POST" { try set(CURLOPT_CUSTOMREQUEST, method) }
        } else if method == "HEAD" {
            try set(CURLOPT_NOBODY, 1)
        } else if method != "GET" {
            if method == "POST" || method == "PUT" || method == "PATCH" {
                try check(runbook_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, 0), CURLOPT_POSTFIELDSIZE_LARGE)
                try set(CURLOPT_COPYPOSTFIELDS, "")
            }
            try set(CURLOPT_CUSTOMREQUEST, method)
        }

        // Headers. An empty "Expect:" stops curl from waiting for 100-continue on large bodies.
        var hasContentType = false
        for (name, value) in request.headers {
            if name.lowercased() == "content-type" { hasContentType = true }
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        if request.body != nil && !hasContentType {
            headerList = curl_slist_append(headerList, "Content-Type: application/json")
        }
        headerList = curl_slist_append(headerList, "Expect:")
        if let sig = request.sigV4, let token = sig.sessionToken {
            headerList = curl_slist_append(headerList, "X-Amz-Security-Token: \(token)")
        }
        try check(runbook_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList), CURLOPT_HTTPHEADER)

        if let sig = request.sigV4 {
            try set(CURLOPT_AWS_SIGV4, "aws:amz:\(sig.region):\(sig.service)")
            try set(CURLOPT_USERNAME, sig.accessKeyID)
            try set(CURLOPT_PASSWORD, sig.secretAccessKey)
        }

        // Callbacks
        let write: runbook_curl_write_fn = { ptr, size, count, user in
            let n = size * count
            guard let ptr, let user else { return n }
            let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
            sink.body.append(UnsafeRawPointer(ptr).assumingMemoryBound(to: UInt8.self), count: n)
            return n
        }
        let header: runbook_curl_write_fn = { ptr, size, count, user in
            let n = size * count
            guard let ptr, let user else { return n }
            let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
            // Header lines are ASCII; trimmed byte-wise (Foundation's trimmingCharacters costs a
            // bridge per line, and every response has a dozen lines).
            let line = HTTPClient.trimmed(UnsafeBufferPointer(start: UnsafeRawPointer(ptr).assumingMemoryBound(to: UInt8.self), count: n)[...])
            if line.starts(with: "HTTP/".utf8) {
                sink.headers = [:]  // a new response (after 100 Continue or a redirect)
            } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
                let name = String(decoding: HTTPClient.trimmed(line[..<colon]), as: UTF8.self).lowercased()
                let value = String(decoding: HTTPClient.trimmed(line[(colon + 1)...]), as: UTF8.self)
                if let old = sink.headers[name] { sink.headers[name] = old + ", " + value } else { sink.headers[name] = value }
            }
            return n
        }
        try check(runbook_curl_setopt_write_fn(handle, CURLOPT_WRITEFUNCTION, write), CURLOPT_WRITEFUNCTION)
        try check(runbook_curl_setopt_ptr(handle, CURLOPT_WRITEDATA, sinkPtr), CURLOPT_WRITEDATA)
        try check(runbook_curl_setopt_write_fn(handle, CURLOPT_HEADERFUNCTION, header), CURLOPT_HEADERFUNCTION)
        try check(runbook_curl_setopt_ptr(handle, CURLOPT_HEADERDATA, sinkPtr), CURLOPT_HEADERDATA)

        let rc = withExtendedLifetime(sink) { curl_easy_perform(handle) }
        if rc != CURLE_OK {
            let detail = String(cString: errorBuffer)
            let message = detail.isEmpty ? String(cString: curl_easy_strerror(rc)) : detail
            throw HTTPError.transport(code: Int(rc.rawValue), message: "\(request.method) \(HTTPClient.redact(request.url)): \(message)",
                                      transient: HTTPClient.isTransient(rc))
        }
        var status = 0
        _ = runbook_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: sink.headers, body: sink.body)
    }

    private func check(_ rc: CURLcode, _ option: CURLoption) throws {
        if rc != CURLE_OK {
            throw HTTPError.transport(code: Int(rc.rawValue),
                                      message: "libcurl rejected option \(option.rawValue): \(String(cString: curl_easy_strerror(rc)))",
                                      transient: false)
        }
    }

    /// Connection-level faults that a retry can cure. Certificate problems are not among them.
    static func isTransient(_ rc: CURLcode) -> Bool {
        [CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
         CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM].contains(rc)
    }

    /// The URL without its query string (which may carry tokens) for messages.
    static func redact(_ url: String) -> String {
        if let q = url.firstIndex(of: "?") { return String(url[..<q]) }
        return url
    }

    /// The bytes without leading and trailing ASCII spaces, tabs, CRs and LFs.
    static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>.SubSequence) -> UnsafeBufferPointer<UInt8>.SubSequence {
        func space(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
        var s = bytes
        while let f = s.first, space(f) { s.removeFirst() }
        while let l = s.last, space(l) { s.removeLast() }
        return s
    }
}
