import Foundation
import RunbookKit
import TestSupport
import XCTest

/// `steps.GROUP.outputs.results` of a group finished by an earlier process (a resume after a
/// pause): the items' stored outputs, as in the process that ran them.
extension EngineTests {
    func testResultsOfAFinishedGroupAfterAResume() throws {
        let path = try fixture("foreach-results")
        let first = try runbook(["run", "--yes", path])
        XCTAssertEqual(first.exitCode, 3, "the gate pauses the run: \(first.output)")
        let id = try onlyRunID()
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("open").path, contents: nil)
        let resumed = try runbook(["resume", id, "--yes"])
        XCTAssertEqual(resumed.exitCode, 0, resumed.output)
        XCTAssertEqual(try state(id)["status"], "succeeded")
    }
}
