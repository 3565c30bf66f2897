import Foundation

/// Run records kept in the cluster, as Helm 3 keeps release records: one head Secret per run,
/// `runbook.run.v1.<run-id>` of type `runbook.dev/run.v1` in the runs namespace, labelled
/// `runbook.dev/runbook`, `runbook.dev/run-id`, `runbook.dev/status`. `data.state` is the run's
/// `state.json` without `foreach` items, `data.items` each group's item count and `data.events`
/// the last events of `events.jsonl`, each gzip-compressed and base64-encoded (then base64-encoded
/// again by the Secret's `data`, as Helm's `release`). The items are in chunk Secrets
/// `runbook.run.v1.<run-id>.items.<step>-<chunk>` of type `runbook.dev/run-items.v1`
/// (`RunRecordLayout`), so that a checkpoint's writes do not grow with the run.
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

    /// The type of a chunk record (a `foreach` group's items; see `RunRecordLayout`).
    public static let chunkType = "runbook.dev/run-items.v1"
    /// The label naming a chunk record's place: `<step>-<chunk>`.
    public static let chunkLabel = "runbook.dev/chunk"

    public let client: KubeClient
    public let namespace: String
    private let lock = NSLock()
    /// resourceVersion of each record (head or chunk, by Secret name) this process wrote or read
    /// (absent: not created yet).
    private var versions: [String: String] = [:]
    /// uid of each run's head record, for the chunks' ownerReferences.
    private var headUIDs: [String: String] = [:]
    /// The items' masked JSON of the chunks written lately: a write encodes only the items that changed.
    let chunkCache = RunRecordChunkCache()

    public init(client: KubeClient, namespace: String) {
        self.client = client
        self.namespace = namespace
    }

    public static func secretName(_ runID: String) -> String { KubeName.subdomain("runbook.run.v1.\(runID)") }

    /// The name of a chunk record: `runbook.run.v1.<run-id>.items.<step>-<chunk>`.
    public static func chunkName(_ runID: String, _ chunk: RunRecordLayout.ChunkID) -> String {
        KubeName.subdomain("runbook.run.v1.\(runID).items.\(chunk)")
    }

    private var collectionPath: String { "/api/v1/namespaces/\(namespace.urlPathEscaped)/secrets" }
    private func path(name: String) -> String { collectionPath + "/" + name.urlPathEscaped }

    /// Remembers the resourceVersion of a head record read elsewhere, so that this process may update it.
    public func adopt(runID: String, resourceVersion: String) { lock.withLock { versions[RunRecords.secretName(runID)] = resourceVersion } }

    // MARK: writing (at the engine's checkpoint seam)

    /// Writes the record of `state`: the chunks named in `chunks` (every chunk when nil), then the
    /// head (run header, step records without items, item counts, events tail), masked as in
    /// `state.json`. Chunks go first, so that a head never names items its chunks lack.
    /// Transient faults are retried; a conflict means another process owns the run.
    public func write(_ state: RunState, masker: Masker, events: [String], chunks: Set<RunRecordLayout.ChunkID>? = nil) async throws {
        try await write(RunRecordChange(state: state, chunks: chunks), masker: masker, events: events, head: true)
    }

    /// Writes a change: its chunks, at once (each Secret chains its own resourceVersion), then —
    /// when `head` — the head. The head goes last, so that it never counts items its chunks lack.
    public func write(_ change: RunRecordChange, masker: Masker, events: [String], head: Bool) async throws {
        let runID = change.head.runID
        let chunks = change.chunks.sorted { $0.key < $1.key }
        try await withThrowingTaskGroup(of: Void.self) { tg in
            for (id, items) in chunks {
                tg.addTask {
                    let name = RunRecords.chunkName(runID, id)
                    let object = try self.chunkSecret(change.head, id, gzip: self.chunkCache.gzip(chunk: name, items: items, masker: masker))
                    try await self.store(name: name, runID: runID, object: object)
                }
            }
            try await tg.waitForAll()
        }
        guard head else { return }
        let gzipped = try RunRecords.gzipJSON(change.head.maskedForDisk(by: masker).toValue())
        let uid = try await store(name: RunRecords.secretName(runID), runID: runID,
                                  object: try secret(change.head, stateGzip: gzipped, counts: change.counts, events: events))
        if let uid { lock.withLock { headUIDs[runID] = uid } }
    }

    /// Creates (POST) or replaces (PUT with the resourceVersion last seen) one record; returns its uid.
    @discardableResult
    private func store(name: String, runID: String, object: Value) async throws -> String? {
        let known = lock.withLock { versions[name] }
        var object = object
        if let known { object["metadata"]?["resourceVersion"] = .string(known) }
        let method = known == nil ? "POST" : "PUT"
        let target = known == nil ? collectionPath : path(name: name)
        var attempt = 0
        while true {
            attempt += 1
            let r: HTTPResponse
            do {
                r = try await client.raw(method, target, body: object.jsonData())
            } catch let e as KubeError {
                // transport faults were already retried by the client
                guard attempt < 2 else { throw TeamError.recordWriteFailed(runID: runID, reason: e.errorDescription ?? "\(e)") }
                try await Task.sleep(nanoseconds: 200_000_000 * UInt64(attempt))
                continue
            }
            if (200..<300).contains(r.status), let v = try? Value.parseJSON(r.body),
               let rv = v.lookup("metadata.resourceVersion")?.stringValue
            {
                lock.withLock { versions[name] = rv }
                return v.lookup("metadata.uid")?.stringValue
            }
            let e = KubeError.from(r, request: "\(method) secret \(namespace)/\(name)")
            switch r.status {
            case 409:
                throw TeamError.recordConflict(runID: runID, detail: known == nil
                    ? "a record named \(name) already exists" : "the resourceVersion of \(name) is no longer \(known!)")
            case 404 where known != nil:
                throw TeamError.recordConflict(runID: runID, detail: "the record \(name) was deleted")
            case 404:
                throw TeamError.namespaceUnavailable(namespace: namespace, reason: e.errorDescription ?? "not found")
            case 401, 403:
                throw TeamError.forbidden(what: "the run record \(namespace)/\(name)", reason: e.errorDescription ?? "")
            default:
                // 429/502/503/504 were already retried by the client; 500 and the like get a few more tries here.
                guard e.isTransient, !r.isRetryable, attempt < 4 else {
                    throw TeamError.recordWriteFailed(runID: runID, reason: e.errorDescription ?? "\(e)")
                }
                try await Task.sleep(nanoseconds: 200_000_000 * UInt64(attempt))
            }
        }
    }

    private func labels(_ state: RunState) -> Object {
        var labels = Object()
        if let v = KubeName.labelValue(state.runbookName) { labels[RunRecords.runbookLabel] = .string(v) }
        if let v = KubeName.labelValue(state.runID) { labels[RunRecords.runIDLabel] = .string(v) }
        return labels
    }

    /// `value`'s compact JSON and a newline, gzip-compressed as `Gzip.compress` compresses, written through
    /// a 64 KB buffer: a head whose steps hold a thousand listed objects is never whole as text.
    static func gzipJSON(_ value: Value) throws -> [UInt8] {
        let gz = try GzipStream()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(80 << 10)
        try value.writeJSON(to: &buffer, flushAt: 64 << 10, flush: { out in
            try gz.write(out)
            out.removeAll(keepingCapacity: true)
        }, substitute: { _, _ in false })
        buffer.append(0x0A)
        try gz.write(buffer)
        return try gz.finish()
    }

    private func secret(_ state: RunState, stateGzip: [UInt8], counts: [Int: Int], events: [String]) throws -> Value {
        var labels = labels(state)
        labels[RunRecords.statusLabel] = .string(state.status.rawValue)
        let tail = events.suffix(RunRecords.eventTail).joined(separator: "\n")
        var data: Object = [
            "state": RunRecords.dataValue(gzipped: stateGzip),
            "events": RunRecords.dataValue(gzipped: try Gzip.compress(Data((tail.isEmpty ? "" : tail + "\n").utf8))),
        ]
        if !counts.isEmpty {
            data["items"] = RunRecords.dataValue(gzipped: try Gzip.compress(Data(RunRecordLayout.countsValue(counts).jsonString().utf8)))
        }
        return [
            "apiVersion": "v1", "kind": "Secret", "type": .string(RunRecords.type),
            "metadata": ["name": .string(RunRecords.secretName(state.runID)), "namespace": .string(namespace),
                         "labels": .object(labels),
                         "annotations": .object(Object([.init(key: RunRecords.runIDAnnotation, value: .string(state.runID))]))],
            "data": .object(data),
        ]
    }

    /// A chunk record holding `gzip`, the JSON list of its items (masked), gzip-compressed.
    private func chunkSecret(_ state: RunState, _ id: RunRecordLayout.ChunkID, gzip: [UInt8]) throws -> Value {
        var labels = labels(state)
        labels[RunRecords.chunkLabel] = .string(id.description)
        var metadata: Object = [
            "name": .string(RunRecords.chunkName(state.runID, id)), "namespace": .string(namespace),
            "labels": .object(labels),
            "annotations": .object(Object([.init(key: RunRecords.runIDAnnotation, value: .string(state.runID))])),
        ]
        if let uid = lock.withLock({ headUIDs[state.runID] }) {
            metadata["ownerReferences"] = [["apiVersion": "v1", "kind": "Secret", "name": .string(RunRecords.secretName(state.runID)),
                                            "uid": .string(uid)]]
        }
        return [
            "apiVersion": "v1", "kind": "Secret", "type": .string(RunRecords.chunkType),
            "metadata": .object(metadata),
            "data": ["items": RunRecords.dataValue(gzipped: gzip)],
        ]
    }

    /// gzip, then base64 (the form stored in each data key, before the Secret's own base64).
    /// A Secret `data` value holding gzip-compressed bytes: base64(gzip(bytes)), then base64 again
    /// as every Secret `data` value (as Helm 3's `release` key; `unpack` reads it).
    static func dataValue(gzipped: some DataProtocol) -> Value {
        .string(Data(Data(gzipped).base64EncodedString().utf8).base64EncodedString())
    }

    static func unpack(_ secretValue: String, name: String) throws -> Data {
        guard let outer = Data(base64Encoded: secretValue), let inner = Data(base64Encoded: outer) else {
            throw TeamError.recordCorrupt(name: name, reason: "not base64")
        }
        do { return try Gzip.decompress(inner) } catch { throw TeamError.recordCorrupt(name: name, reason: "\(error.localizedDescription)") }
    }

    // MARK: reading

    /// A run's record (head merged with its chunks): its state, events and the head's
    /// resourceVersion; nil when there is none.
    public func load(_ runID: String) async throws -> (state: RunState, events: [String], resourceVersion: String)? {
        guard let head = try await get(RunRecords.secretName(runID)) else { return nil }
        let h = try decodeHead(head)
        var chunks: [RunRecordLayout.ChunkID: [ItemRecord]] = [:]
        if let label = KubeName.labelValue(runID) {
            // one list: also learns the resourceVersion of a chunk written just before a death
            // that kept the head from counting it (the next write then replaces it, not a 409)
            for c in try await list(type: RunRecords.chunkType, selector: "\(RunRecords.runIDLabel)=\(label)") {
                let d = try decodeChunk(c)
                if d.runID == runID { chunks[d.id] = d.items }
            }
        } else {
            for id in RunRecordLayout.chunkIDs(counts: h.counts) {
                if let c = try await get(RunRecords.chunkName(runID, id)) { chunks[id] = try decodeChunk(c).items }
            }
        }
        let state = try RunRecordLayout.merge(head: h.state, counts: h.counts, chunks: chunks, name: h.name)
        return (state, h.events, h.resourceVersion)
    }

    private func get(_ name: String) async throws -> Value? {
        let r = try await client.raw("GET", path(name: name))
        if r.status == 404 { return nil }
        guard r.status == 200 else { throw KubeError.from(r, request: "GET secret \(namespace)/\(name)") }
        return try Value.parseJSON(r.body)
    }

    private func list(type: String, runbook: String?) async throws -> [Value] {
        try await list(type: type, selector: runbook.flatMap(KubeName.labelValue).map { "\(RunRecords.runbookLabel)=\($0)" })
    }

    private func list(type: String, selector: String?) async throws -> [Value] {
        var query = "?fieldSelector=" + "type=\(type)".urlQueryEscaped
        if let selector { query += "&labelSelector=" + selector.urlQueryEscaped }
        let r = try await client.raw("GET", collectionPath + query)
        if r.status == 404 { return [] }
        guard r.status == 200 else { throw KubeError.from(r, request: "GET secrets in \(namespace)") }
        return try Value.parseJSON(r.body)["items"]?.arrayValue ?? []
    }

    /// Every run record in the namespace (of one runbook when given), heads merged with their
    /// chunks, oldest first.
    public func all(runbook: String? = nil) async throws -> [RunState] {
        let heads = try (try await list(type: RunRecords.type, runbook: runbook)).map { try decodeHead($0) }
        var chunks: [String: [RunRecordLayout.ChunkID: [ItemRecord]]] = [:]
        if heads.contains(where: { !$0.counts.isEmpty }) {
            for c in try await list(type: RunRecords.chunkType, runbook: runbook) {
                let d = try decodeChunk(c)
                chunks[d.runID, default: [:]][d.id] = d.items
            }
        }
        return try heads.map { h in
            try RunRecordLayout.merge(head: h.state, counts: h.counts, chunks: chunks[h.state.runID] ?? [:], name: h.name)
        }
        .filter { runbook == nil || $0.runbookName == runbook }
        .sorted { ($0.startedAt, $0.runID) < ($1.startedAt, $1.runID) }
    }

    private func decodeHead(_ secret: Value) throws
        -> (name: String, state: RunState, counts: [Int: Int], events: [String], resourceVersion: String)
    {
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
        var counts: [Int: Int] = [:]
        if let c = secret.lookup("data.items")?.stringValue {
            let v: Value
            do { v = try Value.parseJSON(try RunRecords.unpack(c, name: name)) } catch let e as TeamError { throw e } catch {
                throw TeamError.recordCorrupt(name: name, reason: "its item counts are not JSON")
            }
            counts = try RunRecordLayout.counts(from: v, name: name)
        }
        let rv = secret.lookup("metadata.resourceVersion")?.stringValue ?? ""
        lock.withLock {
            versions[name] = rv
            if let uid = secret.lookup("metadata.uid")?.stringValue { headUIDs[state.runID] = uid }
        }
        return (name, state, counts, events, rv)
    }

    private func decodeChunk(_ secret: Value) throws -> (runID: String, id: RunRecordLayout.ChunkID, items: [ItemRecord]) {
        let name = secret.lookup("metadata.name")?.stringValue ?? "?"
        guard let runID = secret.lookup("metadata.annotations")?[RunRecords.runIDAnnotation]?.stringValue,
              let place = secret.lookup("metadata.labels")?[RunRecords.chunkLabel]?.stringValue,
              let dash = place.firstIndex(of: "-"), let step = Int(place[..<dash]), let index = Int(place[place.index(after: dash)...]),
              let packed = secret.lookup("data.items")?.stringValue
        else { throw TeamError.recordCorrupt(name: name, reason: "not a run items chunk (no run-id, chunk label or data.items)") }
        let list: [Value]
        do {
            guard let l = try Value.parseJSON(try RunRecords.unpack(packed, name: name)).arrayValue else { throw TeamError.recordCorrupt(name: name, reason: "items are not a list") }
            list = l
        } catch let e as TeamError { throw e } catch { throw TeamError.recordCorrupt(name: name, reason: "items are not JSON") }
        let items: [ItemRecord]
        do { items = try list.map { try ItemRecord(value: $0, file: "secret \(namespace)/\(name)") } } catch {
            throw TeamError.recordCorrupt(name: name, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        let rv = secret.lookup("metadata.resourceVersion")?.stringValue ?? ""
        lock.withLock { versions[name] = rv }
        return (runID, RunRecordLayout.ChunkID(step: step, index: index), items)
    }

    /// Deletes a run's record, head first, then its chunks (history --prune); false when there
    /// was none. A chunk left behind by a death in between is owned by the head (garbage-collected).
    @discardableResult
    public func delete(_ runID: String) async throws -> Bool {
        guard let head = try await get(RunRecords.secretName(runID)) else { return false }
        let counts = try decodeHead(head).counts
        for name in [RunRecords.secretName(runID)] + RunRecordLayout.chunkIDs(counts: counts).map({ RunRecords.chunkName(runID, $0) }) {
            let r = try await client.raw("DELETE", path(name: name))
            if r.status == 404 { continue }
            guard (200..<300).contains(r.status) else { throw KubeError.from(r, request: "DELETE secret \(namespace)/\(name)") }
            lock.withLock { _ = versions.removeValue(forKey: name) }
        }
        return true
    }
}
