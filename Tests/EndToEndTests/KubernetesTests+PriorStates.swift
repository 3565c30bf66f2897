import Foundation
import RunbookKit
import TestSupport
import XCTest

/// Where the prior states holding secret data are kept, and when they go away.
extension KubernetesTests {
    /// A finished run keeps its holder (so that it can still be rolled back) in the runs
    /// namespace; `history --prune` removes the run's record and its holders together, also for a
    /// run that failed and was forgotten.
    func testHistoryPruneRemovesThePriorStatesOfAPrunedRun() throws {
        _ = try kubectl("-n", "seedtest", "create", "secret", "generic", "prune-me", "--from-literal=token=prune-original-value")
        let path = work.appendingPathComponent("prune-rb.yaml")
        try """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: prune-rb}
        steps:
          - id: patch
            action: k8s.patch
            with:
              apiVersion: v1
              kind: Secret
              namespace: seedtest
              name: prune-me
              type: merge
              patch: {stringData: {token: prune-replaced-value}}
        """.write(to: path, atomically: true, encoding: .utf8)
        let run = try cli(["run", path.path, "--yes"])
        XCTAssertEqual(run.code, 0, run.text)
        let runID = try XCTUnwrap(run.runID)
        XCTAssertEqual(try priorStates(runID, in: "runbook-system").count, 1, "the holder stays after a successful run")
        XCTAssertNotNil(try get("-n", "runbook-system", "secret", RunRecords.secretName(runID)))

        // a failed run left as it is and then forgotten (cleaned up by hand) is pruned with its holder too
        let failing = work.appendingPathComponent("prune-fail-rb.yaml")
        try (try String(contentsOf: path, encoding: .utf8)).replacingOccurrences(of: "name: prune-rb", with: "name: prune-fail-rb")
            .replacingOccurrences(of: "prune-replaced-value", with: "prune-failed-value")
            .appending("\n  - {id: fail, action: assert, with: {that: \"${{ false }}\", message: fail on purpose}}\n")
            .write(to: failing, atomically: true, encoding: .utf8)
        let failed = try cli(["run", failing.path, "--yes", "--no-rollback"])
        XCTAssertEqual(failed.code, 3, failed.text)
        let failedID = try XCTUnwrap(failed.runID)
        XCTAssertEqual(try priorStates(failedID, in: "runbook-system").count, 1)
        let forgot = try cli(["forget", failedID, "--yes", "--reason", "put prune-me back by hand"])
        XCTAssertEqual(forgot.code, 0, forgot.text)

        let pruned = try cli(["history", "--prune", "--keep", "0"])
        XCTAssertEqual(pruned.code, 0, pruned.text)
        for id in [runID, failedID] {
            XCTAssertTrue(pruned.text.contains("pruned \(id)"), pruned.text)
            XCTAssertEqual(try priorStates(id, in: "runbook-system").count, 0, "the pruned run's holder is gone")
            XCTAssertNil(try get("-n", "runbook-system", "secret", RunRecords.secretName(id))?["kind"], "the record of \(id) is gone")
        }
        XCTAssertEqual(try get("-n", "seedtest", "secret", "prune-me")?.lookup("data.token"), .string(b64("prune-failed-value")))
        _ = try kubectl("-n", "seedtest", "delete", "secret", "prune-me")
    }
}
