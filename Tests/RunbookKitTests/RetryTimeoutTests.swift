import Foundation
@testable import RunbookKit
import XCTest

/// The runner's retry (transient errors only, doubling backoff) and timeout (cancellation).
final class RetryTimeoutTests: XCTestCase {
    /// Counts calls; fails transiently until the given attempt, or permanently.
    final class Counter: @unchecked Sendable {
        let lock = NSLock()
        var calls = 0
        func next() -> Int { lock.lock(); defer { lock.unlock() }; calls += 1; return calls }
    }

    nonisolated(unsafe) static var counter = Counter()
    nonisolated(unsafe) static var mode = "transient-until-3"

    struct FlakyAction: Action {
        static let spec = ActionSpec(name: "test.flaky", required: [], mutating: true, dryRun: .preview)
        init() {}
        func preview(_ context: ActionContext) async throws -> Preview { Preview(summary: "") }
        func execute(_ context: ActionContext) async throws -> ActionResult {
            let n = RetryTimeoutTests.counter.next()
            switch RetryTimeoutTests.mode {
            case "transient-until-3": if n < 3 { throw ActionError.transient("503 from server") }
            case "permanent": throw ActionError.failed("403 forbidden")
            default: try await Task.sleep(nanoseconds: 30_000_000_000)
            }
            return ActionResult(outputs: ["n": .int(n)])
        }
    }

    func makeRunner(_ step: Step) throws -> Runner {
        let dir = FileManager.default.temporaryDirectory
        let runbook = Runbook(file: dir.appendingPathComponent("t.yaml"), name: "t", description: nil, vars: [],
                              onFailure: .rollback, steps: [step], sha256: "")
        let state = RunState(runID: "t-1", runbookName: "t", runbookPath: "", sha256: "", vars: [:], secretVars: [],
                             kubeconfig: nil, context: nil, status: .running, startedAt: Date(), who: "me@host",
                             steps: [StepRecord(id: step.id, action: step.action)])
        var options = EngineOptions(store: StateStore(root: dir.appendingPathComponent("unused-\(UUID())")),
                                    terminal: Terminal(stdinIsTTY: false, stdoutIsTTY: false, noColor: true),
                                    clients: ClientOptions())
        options.dryRun = true  // nothing persisted
        return Runner(runbook: runbook, state: state, vars: [:], options: options, masker: Masker(),
                      reporter: JSONReporter(masker: Masker()))
    }

    func step(retry: RetryPolicy?, timeout: TimeInterval? = nil) -> Step {
        Step(id: "s", name: nil, action: "test.flaky", with: nil, when: nil, timeout: timeout, retry: retry, onFailure: nil,
             rollback: .auto, mark: Mark(line: 1, column: 1))
    }

    override func setUp() { Self.counter = Counter() }

    func testTransientErrorsAreRetriedWithDoublingBackoff() async throws {
        Self.mode = "transient-until-3"
        let s = step(retry: RetryPolicy(attempts: 3, backoff: 0.2))
        let started = Date()
        let result = try await makeRunner(s).execute(s, type: FlakyAction.self, with: .object(Object()), journal: nil, slot: StepSlot(0))
        XCTAssertEqual(result.outputs["n"], 3)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.6 - 0.05, "0.2s then 0.4s of backoff")
    }

    func testRetriesStopAtTheAttemptLimit() async throws {
        Self.mode = "transient-until-3"
        let s = step(retry: RetryPolicy(attempts: 2, backoff: 0.1))
        do {
            _ = try await makeRunner(s).execute(s, type: FlakyAction.self, with: .object(Object()), journal: nil, slot: StepSlot(0))
            XCTFail("succeeded after 2 attempts")
        } catch {
            XCTAssertEqual(Self.counter.calls, 2)
        }
    }

    func testPermanentErrorsAreNotRetried() async throws {
        Self.mode = "permanent"
        let s = step(retry: RetryPolicy(attempts: 5, backoff: 0.1))
        do {
            _ = try await makeRunner(s).execute(s, type: FlakyAction.self, with: .object(Object()), journal: nil, slot: StepSlot(0))
            XCTFail("a permanent error succeeded")
        } catch {
            XCTAssertEqual(Self.counter.calls, 1)
            XCTAssertEqual((error as? ActionError)?.errorDescription, "403 forbidden")
        }
    }

    func testTimeoutCancelsTheAction() async throws {
        Self.mode = "hang"
        let s = step(retry: nil, timeout: 0.3)
        let started = Date()
        do {
            _ = try await makeRunner(s).execute(s, type: FlakyAction.self, with: .object(Object()), journal: nil, slot: StepSlot(0))
            XCTFail("no timeout")
        } catch {
            guard case EngineError.timedOut(let id, let after) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(id, "s")
            XCTAssertEqual(after, 0.3)
            XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        }
    }
}
