import Foundation

/// The state directory (SPEC §4): `<dir>/runs/<run-id>/{state.json,events.jsonl}` and
/// `<dir>/locks/<runbook>.lock`. Directories are 0700, files 0600.
public struct StateStore: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    /// `--state-dir`, else `RUNBOOK_STATE_DIR`, else `./.runbook`.
    public static func locate(flag: String?, environment: [String: String], cwd: URL) -> StateStore {
        let path = flag ?? environment["RUNBOOK_STATE_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? ".runbook"
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : cwd.appendingPathComponent(path)
        return StateStore(root: url.standardizedFileURL)
    }

    public var runsDirectory: URL { root.appendingPathComponent("runs") }
    public var locksDirectory: URL { root.appendingPathComponent("locks") }
    public func runDirectory(_ runID: String) -> URL { runsDirectory.appendingPathComponent(runID) }
    public func stateFile(_ runID: String) -> URL { runDirectory(runID).appendingPathComponent("state.json") }
    public func eventsFile(_ runID: String) -> URL { runDirectory(runID).appendingPathComponent("events.jsonl") }
    /// The checkpoint journal: changes newer than `state.json` (see `CheckpointJournal`).
    public func journalFile(_ runID: String) -> URL { runDirectory(runID).appendingPathComponent("journal.jsonl") }

    /// A fresh id `<runbook>-<UTC yyyymmddThhmmss>-<4 hex>`.
    public static func newRunID(runbook: String, at date: Date = Date()) -> String {
        "\(runbook)-\(Timestamp.compact(date))-\(String(format: "%04x", UInt16.random(in: 0...UInt16.max)))"
    }

    /// Creates the run's directory and writes its first checkpoint.
    public func create(_ state: RunState, masker: Masker) throws {
        try DurableFile.makeDirectory(runDirectory(state.runID))
        try save(state, masker: masker)
    }

    /// Writes `state.json` atomically and durably (the checkpoint). Text for people and outputs
    /// are masked; machine data (vars that are not secret, journals, rollback records) is written
    /// as is, because a secret that happens to be a common word must not rewrite an object's
    /// namespace. Secret vars are stored as `***` and secret outputs not at all (see Runner).
    /// Returns the size written.
    @discardableResult
    public func save(_ state: RunState, masker: Masker) throws -> Int {
        // Indented for people while small; a fan-out of thousands of item records is written
        // compact, one item at a time (`writeCompact`).
        let records = state.steps.reduce(0) { $0 + 1 + ($1.items?.count ?? 0) * max(1, $1.items?.first?.stepCount ?? 1) }
        guard records < 2_000 else { return try writeCompact(state, masker: masker) }
        let data = Data((state.maskedForDisk(by: masker).toValue().jsonString(pretty: true) + "\n").utf8)
        try DurableFile.replace(stateFile(state.runID), with: data)
        return data.count
    }

    public func load(_ runID: String) throws -> RunState {
        let file = stateFile(runID)
        guard !runID.contains("/"), FileManager.default.fileExists(atPath: file.path) else {
            throw StateError.runNotFound(runID: runID, stateDir: root.path)
        }
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw StateError.io(path: file.path, operation: "read", errno: errno)
        }
        // A fan-out's item records are read one at a time and packed (`PackedSteps`): the
        // document never exists whole as values.
        var items: [ItemRecord] = []
        let value: Value
        do {
            value = try Value.parseJSON(data, splitting: "items", atDepth: 2) { v in
                items.append(try ItemRecord(value: v, file: file.path))
                return .int(items.count - 1)
            }
        } catch let e as StateError { throw e } catch { throw StateError.corrupt(file: file.path, reason: "\(error)") }
        var state = try RunState(value: value, file: file.path, items: items)
        try replayJournal(into: &state)
        state.packRestingItems(masker: nil)
        return state
    }

    /// Folds the run's checkpoint journal into a state read from `state.json`. A last line cut
    /// short (the process died while writing it) is ignored: nothing acted on it, since every
    /// writer waits until its line is durable before going on.
    func replayJournal(into state: inout RunState) throws {
        let journal = journalFile(state.runID)
        guard let data = FileManager.default.contents(atPath: journal.path), !data.isEmpty else { return }
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (n, line) in lines.enumerated() where !line.isEmpty {
            let record: Value
            do {
                record = try Value.parseJSON(Data(line))
            } catch {
                let isLast = lines[(n + 1)...].allSatisfy(\.isEmpty) && data.last != UInt8(ascii: "\n")
                if isLast { break }
                throw StateError.corrupt(file: journal.path, reason: "line \(n + 1): \(error)")
            }
            try state.apply(journal: record, file: journal.path)
        }
    }

    /// Every run in the directory, oldest first.
    public func all() throws -> [RunState] {
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: runsDirectory.path)) ?? []
        return try ids.filter { FileManager.default.fileExists(atPath: stateFile($0).path) }
            .map { try load($0) }
            .sorted { ($0.startedAt, $0.runID) < ($1.startedAt, $1.runID) }
    }

    /// Appends one audit event (fsync'd).
    public func append(_ event: AuditEvent, runID: String) throws {
        try DurableFile.append(eventsFile(runID), Data((event.toValue().jsonString() + "\n").utf8))
    }
}
