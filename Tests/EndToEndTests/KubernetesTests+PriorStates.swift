import Foundation
import RunbookKit
import TestSupport
import XCTest

/// Where the prior states holding secret data are kept, and when they go away.
extension KubernetesTests {
    /// A finished run keeps its holder (so that it can still be rolled back) in the runs
    /// namespace; `history --prune` removes the run's record and its holders together.
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

        let pruned = try cli(["history", "--prune", "--keep", "0"])
        XCTAssertEqual(pruned.code, 0, pruned.text)
        XCTAssertTrue(pruned.text.contains("pruned \(runID)"), pruned.text)
        XCTAssertEqual(try priorStates(runID, in: "runbook-system").count, 0, "the pruned run's holder is gone")
        XCTAssertNil(try get("-n", "runbook-system", "secret", RunRecords.secretName(runID)))
        XCTAssertEqual(try get("-n", "seedtest", "secret", "prune-me")?.lookup("data.token"), .string(b64("prune-replaced-value")))
        _ = try kubectl("-n", "seedtest", "delete", "secret", "prune-me")
    }
}
