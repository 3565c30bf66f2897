import Foundation

/// Finds a GCP OAuth access token once per run, in gcloud's order of preference:
/// `CLOUDSDK_AUTH_ACCESS_TOKEN`, `GOOGLE_OAUTH_ACCESS_TOKEN`, `gcloud auth print-access-token`
/// (one subprocess), then the GCE/GKE metadata server (`GCE_METADATA_HOST` overrides its host).
public final class GCPAccessToken: @unchecked Sendable {
    private let environment: [String: String]
    private let client: HTTPClient
    private let masker: Masker
    private let lock = NSLock()
    private var cached: String?

    init(environment: [String: String], client: HTTPClient, masker: Masker) {
        self.environment = environment
        self.client = client
        self.masker = masker
    }

    /// The token, resolved on first use and then reused for the run.
    public func token() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let t = try resolve()
        masker.add(t)
        cached = t
        return t
    }

    private func resolve() throws -> String {
        for key in ["CLOUDSDK_AUTH_ACCESS_TOKEN", "GOOGLE_OAUTH_ACCESS_TOKEN"] {
            if let t = environment[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty { return t }
        }
        var tried: [String] = ["CLOUDSDK_AUTH_ACCESS_TOKEN and GOOGLE_OAUTH_ACCESS_TOKEN are not set"]
        if let gcloud = executable("gcloud") {
            switch runGcloud(gcloud) {
            case .success(let t): return t
            case .failure(let reason): tried.append(reason.errorDescription ?? "")
            }
        } else {
            tried.append("gcloud is not on PATH")
        }
        switch metadataToken() {
        case .success(let t): return t
        case .failure(let reason): tried.append(reason.errorDescription ?? "")
        }
        throw SecretStoreError.credentials("no GCP access token: " + tried.joined(separator: "; ")
            + ". Set CLOUDSDK_AUTH_ACCESS_TOKEN, run `gcloud auth login`, or run on GCE/GKE with a service account.")
    }

    private func runGcloud(_ path: String) -> Result<String, SecretStoreError> {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = ["auth", "print-access-token"]
        p.environment = environment
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return .failure(.credentials("gcloud could not start: \(error.localizedDescription)")) }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if p.terminationStatus == 0, !token.isEmpty, !token.contains(" ") { return .success(token) }
        let why = String(decoding: errData, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return .failure(.credentials("`gcloud auth print-access-token` failed (exit \(p.terminationStatus)) \(why)"))
    }

    private func metadataToken() -> Result<String, SecretStoreError> {
        let host = environment["GCE_METADATA_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "metadata.google.internal"
        let url = "http://\(host)/computeMetadata/v1/instance/service-accounts/default/token"
        do {
            let r = try client.send(HTTPRequest(url: url, headers: [("Metadata-Flavor", "Google")], timeout: 3))
            guard r.status == 200, let t = (try? Value.parseJSON(r.body))?["access_token"]?.stringValue, !t.isEmpty else {
                return .failure(.credentials("the metadata server at \(host) answered HTTP \(r.status) without a token"))
            }
            return .success(t)
        } catch {
            return .failure(.credentials("no metadata server at \(host)"))
        }
    }

    private func executable(_ name: String) -> String? {
        for dir in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}
