import Foundation
import XCTest

/// SPEC §1 on the real migration: a closed pipe never stops it, and a SIGINT at any step pauses it
/// so that resume ends exactly like a run nobody interrupted.
extension MigrationTests {
    func testClosedPipeAndSIGINTAtEveryStepThenResumeEndsLikeAnUninterruptedRun() throws {
        let before = try world(sb)
        let clean = try run(sb)
        XCTAssertEqual(clean.status, 0, clean.text)
        let uninterrupted = try world(sb, recreated: true)
        XCTAssertEqual(try sb.runbook(["rollback", try XCTUnwrap(sb.runID(from: clean)), "--yes"]).status, 0)

        let steps = ["read-db-url", "read-token", "calibration-baseline", "push-db-url", "push-token", "apply-external-secret",
                     "apply-external-secret-db-only", "wait-synced", "check-synced-db-url", "check-synced-token",
                     "assert-db-url-synced", "assert-token-synced", "patch-cronjob", "run-test-job", "verify-calibration"]
        let (id, segments) = try sb.interruptAtEveryStep(runbook: "migrate-calibrate-irt", steps: steps)
        // Fast steps may finish before the signal lands; most boundaries still get their own stop.
        XCTAssertGreaterThanOrEqual(segments, steps.count / 2, "too few stops to cover the steps")
        XCTAssertEqual(sb.runStatus(id).0, "succeeded")
        print("migrate-calibrate-irt: \(segments) stops for \(steps.count) steps")
        XCTAssertEqual(try sb.objects("jobs", namespace: Self.namespace).count, 0, "the test Job is deleted after success")
        assertSameWorld(uninterrupted, try world(sb, recreated: true), "interrupted-and-resumed run versus uninterrupted run")
        let rb = try sb.runbook(["rollback", id, "--yes"])
        XCTAssertEqual(rb.status, 0, rb.text)
        assertSameWorld(before, try world(sb), "after rolling back the interrupted-and-resumed run")
    }
}
