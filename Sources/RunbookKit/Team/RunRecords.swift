import Foundation

/// Run records kept in the cluster, as Helm 3 keeps release records: one Secret per run,
/// `runbook.run.v1.<run-id>` of type `runbook.dev/run.v1` in the runs namespace, labelled
/// `runbook.dev/runbook`, `runbook.dev/run-id`, `runbook.dev/status`. `data.state` is exactly the
/// run's `state.json` and `data.events` the last events of `events.jsonl`, each gzip-compressed
/// and base64-encoded (then base64-encoded again by the Secret's `data`, as Helm's `release`).
/// Writes carry the `resourceVersion` last seen: a record someone else changed is a conflict,
/// never overwritten.
public final class RunRecords: @unchecked Sendable {
    public static let type = "runbook.dev/run.v1"
    public static let runbookLabel = "runbook.dev/runbook"
    public static let runIDLabel = "runbook.dev/run-id"
    public static let statusLabel = "runbook.dev/status"
    public static let runIDAnnotation = "runbook.dev/run-id"
    /// How many events the record keeps.
    public static let eventTail = 50

    public let client: KubeClient
    public let namespace: String
    private let lock = NSLock()
    /// resourceVersion of each record this process wrote or read (nil: not created yet).
    private var versions: [String: String] = [:]

    public init(client: KubeClient, namespace: String) {
        self.client = client
        self.namespace = namespace
    }

    public static func secretName(_ runID: String) -> String { KubeName.subdomain("runbook.run.v1.\(runID)") }

    private var collectionPath: String { "/api/v1/namespaces/\(namespace.urlPathEscaped)/secrets" }
    private func path(_ runID: String) -> String { collectionPath + "/" + RunRecords.secretName(runID).urlPathEscaped }

    /// Remembers the resourceVersion of a record read elsewhere, so that this process may update it.
    public func adopt(runID: String, resourceVersion: String) { lock.withLock { versions[runID] = resourceVersion } }

    // MARK: writing (at the engine's checkpoint seam)

    /// Writes the record of `state` (the masked checkpoint, as in `state.json`) with the events tail.
    /// Transient faults are retried; a conflict means another process owns the run.
    public func write(_ state: RunState, stateJSON: Data, events: [String]) async throws {
        let name = RunRecords.secretName(state.runID)
        let known = lock.withLock { versions[state.runID] }
        var object = try secret(state, stateJSON: stateJSON, events: events)
        if let known { object["metadata"]?["resourceVersion"] = .string(known) }
        let method = known == nil ? "POST" : "PUT"
        let target = known == nil ? collectionPath : path(state.runID)
        var attempt = 0
        while true {
            attempt += 1
            let r: HTTPResponse
            do {
                r = try await client.raw(method, target, body: object.jsonData())
            } catch let e as KubeError {
                // transport faults were already retried by the client
                guard attempt < 2 else { throw TeamError.recordWriteFailed(runID: state.runID, reason: e.errorDescription ?? "\(e)") }
                try await Task.sleep(nanoseconds: 200_000_000 * UInt64(attempt))
                continue
            }
            if (200..<300).contains(r.status), let v = try? Value.parseJSON(r.body),
               let rv = v.lookup("metadata.resourceVersion")?.stringValue
            {
                lock.withLock { versions[state.runID] = rv }
                return
            }
            let e = KubeError.from(r, request: "\(method) secret \(namespace)/\(name)")
            switch r.status {
            case 409:
                throw TeamError.recordConflict(runID: state.runID, detail: known == nil
                    ? "a record with this name already exists" : "its resourceVersion is no longer \(known!)")
            case 404 where known != nil:
                throw TeamError.recordConflict(runID: state.runID, detail: "the record was deleted")
            case 404:
                throw TeamError.namespaceUnavailable(namespace: namespace, reason: e.errorDescription ?? "not found")
            case 401, 403:
                throw TeamError.forbidden(what: "the run record \(namespace)/\(name)", reason: e.errorDescription ?? "")
            default:
                // 429/502/503/504 were already retried by the client; 500 and the like get a few more tries here.
                guard e.isTransient, !r.isRetryable, attempt < 4 else {
                    throw TeamError.recordWriteFailed(runID: state.runID, reason: e.errorDescription ?? "\(e)")
                }
                try await Task.sleep(nanoseconds: 200_000_000 * UInt64(attempt))
            }
        }
    }

    private func secret(_ state: RunState, stateJSON: Data, events: [String]) throws -> Value {
        var labels = Object()
        if let v = KubeName.labelValue(state.runbookName) { labels[RunRecords.runbookLabel] = .string(v) }
        if let v = KubeName.labelValue(state.runID) { labels[RunRecords.runIDLabel] = .string(v) }
        labels[RunRecords.statusLabel] = .string(state.status.rawValue)
        let tail = events.suffix(RunRecords.eventTail).joined(separator: "\n")
        // Each value: base64(gzip(bytes)), then base64 again as every Secret `data` value.
        let data: Object = [
            "state": .string(Data(try RunRecords.pack(stateJSON).utf8).base64EncodedString()),
            "events": .string(Data(try RunRecords.pack(Data((tail.isEmpty ? "" : tail + "\n").utf8)).utf8).base64EncodedString()),
        ]
        return [
            "apiVersion": "v1", "kind": "Secret", "type": .string(RunRecords.type),
            "metadata": ["name": .string(RunRecords.secretName(state.runID)), "namespace": .string(namespace),
                         "labels": .object(labels),
                         "annotations": .object(Object([.init(key: RunRecords.runIDAnnotation, value: .string(state.runID))]))],
            "data": .object(data),
        ]
    }

    /// gzip, then base64 (the form stored in each data key, before the Secret's own base64).
    static func pack(_ data: Data) throws -> String { try Gzip.compress(data).base64EncodedString() }

    static func unpack(_ secretValue: String, name: String) throws -> Data {
        guard let outer = Data(base64Encoded: secretValue), let inner = Data(base64Encoded: outer) else {
            throw TeamError.recordCorrupt(name: name, reason: "not base64")
        }
        do { return try Gzip.decompress(inner) } catch { throw TeamError.recordCorrupt(name: name, reason: "\(error.localizedDescription)") }
    }

    // MARK: reading

    /// A run's record: its state, events and resourceVersion; nil when there is none.
    public func load(_ runID: String) async throws -> (state: RunState, events: [String], resourceVersion: String)? {
        let r = try await client.raw("GET", path(runID))
        if r.status == 404 { return nil }
        guard r.status == 200 else { throw KubeError.from(r, request: "GET secret \(namespace)/\(RunRecords.secretName(runID))") }
        return try decode(try Value.parseJSON(r.body))
    }

    /// Every run record in the namespace (of one runbook when given), oldest first.
    public func all(runbook: String? = nil) async throws -> [RunState] {
        var query = "?fieldSelector=" + "type=\(RunRecords.type)".urlQueryEscaped
        if let rb = runbook, let v = KubeName.labelValue(rb) { query += "&labelSelector=" + "\(RunRecords.runbookLabel)=\(v)".urlQueryEscaped }
        let r = try await client.raw("GET", collectionPath + query)
        if r.status == 404 { return [] }
        guard r.status == 200 else { throw KubeError.from(r, request: "GET secrets in \(namespace)") }
        return try (try Value.parseJSON(r.body)["items"]?.arrayValue ?? []).map { try decode($0).state }
            .filter { runbook == nil || $0.runbookName == runbook }
            .sorted { ($0.startedAt, $0.runID) < ($1.startedAt, $1.runID) }
    }

    private func decode(_ secret: Value) throws -> (state: RunState, events: [String], resourceVersion: String) {
        let name = secret.lookup("metadata.name")?.stringValue ?? "?"
        guard let s = secret.lookup("data.state")?.stringValue else { throw TeamError.recordCorrupt(name: name, reason: "no data.state") }
        let json = try RunRecords.unpack(s, name: name)
        let state: RunState
        do { state = try RunState(value: try Value.parseJSON(json), file: "secret \(namespace)/\(name)") } catch {
            throw TeamError.recordCorrupt(name: name, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        var events: [String] = []
        if let e = secret.lookup("data.events")?.stringValue {
            events = String(decoding: try RunRecords.unpack(e, name: name), as: UTF8.self).split(separator: "\n").map(String.init)
        }
        let rv = secret.lookup("metadata.resourceVersion")?.stringValue ?? ""
        lock.withLock { versions[state.runID] = rv }
        return (state, events, rv)
    }

    /// Deletes a run's record (history --prune); false when there was none.
    @discardableResult
    public func delete(_ runID: String) async throws -> Bool {
        let r = try await client.raw("DELETE", path(runID))
        if r.status == 404 { return false }
        guard (200..<300).contains(r.status) else { throw KubeError.from(r, request: "DELETE secret \(namespace)/\(RunRecords.secretName(runID))") }
        return true
    }
}
