import Foundation
import RunbookKit
import TestSupport
import XCTest

/// A create whose answer is lost after the API server committed it converges: the retry finds the
/// object this run made instead of failing on AlreadyExists or making a second one.
extension KubernetesTests {
    func testCreatesWhoseAnswerIsLostAfterTheCommitConverge() throws {
        // The rollback of a delete re-creates the object: its POST commits, the answer is lost (503).
        _ = try kubectl("-n", "seedtest", "create", "configmap", "lost-answer", "--from-literal=k=v1")
        let path = try runbook("lost-recreate")
        try sb.fault(method: "POST", path: "configmaps$", count: 1, action: "503", after: true)
        let run = try cli(["run", path, "--yes"])
        try sb.clearFaults()
        XCTAssertEqual(run.code, 1, "the rollback did not converge: \(run.text)")
        XCTAssertEqual(try get("-n", "seedtest", "configmap", "lost-answer")?.lookup("data.k"), "v1")

        // A test Job's POST is reset after the commit: one Job, the run's, and the step succeeds.
        let job = try runbook("lost-job")
        try sb.fault(method: "POST", path: "jobs$", count: 1, action: "reset", after: true)
        let ran = try cli(["run", job, "--yes"])
        try sb.clearFaults()
        XCTAssertEqual(ran.code, 0, ran.text)
        let live = try XCTUnwrap(try get("-n", "seedtest", "job", "irt-lost"))
        XCTAssertEqual(live.lookup("metadata.annotations")?["runbook.dev/run-id"]?.stringValue, ran.runID)
        _ = try kubectl("-n", "seedtest", "delete", "job", "irt-lost")
        _ = try kubectl("-n", "seedtest", "delete", "configmap", "lost-answer")
    }
}
