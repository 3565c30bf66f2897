import Foundation
import RunbookKit
import TestSupport
import XCTest

/// A server that holds requests open: the run's request deadline and retry budget bound the wait,
/// and the terminal says what is being waited for and retried.
extension KubernetesTests {
    func testRequestDeadlineAndRetriesAreTheRunsAndEveryRetryIsShown() throws {
        _ = try kubectl("-n", "seedtest", "create", "configmap", "slow-answer", "--from-literal=k=v")
        let path = try runbook("held-open")

        // The first GET is held open (30 s): with a 1 s deadline the second attempt answers.
        try sb.fault(method: "GET", path: "configmaps/slow-answer$", count: 1, action: "timeout")
        var started = Date()
        let retried = try cli(["run", path, "--yes", "--request-timeout", "1s", "--retries", "2"],
                              env: ["RUNBOOK_REQUEST_TIMEOUT": "", "RUNBOOK_RETRIES": ""])
        XCTAssertEqual(retried.code, 0, retried.text)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "the deadline did not bound the held request")
        XCTAssertTrue(retried.text.contains("waiting: GET /api/v1/namespaces/seedtest/configmaps/slow-answer:"), retried.text)
        XCTAssertTrue(retried.text.contains("(attempt 2 of 3)"), retried.text)

        // No retries (from the environment): the held request fails the step at its deadline.
        try sb.fault(method: "GET", path: "configmaps/slow-answer$", count: 1, action: "timeout")
        started = Date()
        let failed = try cli(["run", path, "--yes"], env: ["RUNBOOK_REQUEST_TIMEOUT": "1s", "RUNBOOK_RETRIES": "0"])
        try sb.clearFaults()
        XCTAssertEqual(failed.code, 1, failed.text)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        XCTAssertFalse(failed.text.contains("retrying"), failed.text)
        let bad = try cli(["run", path, "--yes", "--request-timeout", "soon"])
        XCTAssertEqual(bad.code, 2, bad.text)
        _ = try kubectl("-n", "seedtest", "delete", "configmap", "slow-answer")
    }
}
