import Foundation
import RunbookKit
import TestSupport
import XCTest

/// SPEC §4: a resumed (or rolled back) run keeps its secret inputs; they are never stored, so a
/// salted digest of each tells when they differ or are missing.
extension EngineTests {
    func testResumeAndRollbackRefuseOtherOrMissingSecretVars() throws {
        let file = try fixture("secret-default")
        let given = "postgres://u:given-pass@given-host/db"
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.appendingPathComponent("fault").path, contents: nil))
        XCTAssertEqual(try runbook(["run", file, "--yes", "--no-rollback", "--var", "dsn=\(given)"]).exitCode, 3)
        let id = try onlyRunID()
        let stateText = try String(contentsOf: stateDir.appendingPathComponent("runs/\(id)/state.json"), encoding: .utf8)
        XCTAssertFalse(stateText.contains("given-pass") || stateText.contains(given), "secret stored: \(stateText)")
        XCTAssertNotNil(try state(id)["secret_var_digests"]?["vars"]?["dsn"]?.stringValue)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("fault"))

        // Not given again: the default would silently replace it. Refused, naming the var; nothing runs.
        for command in [["resume", id, "--yes"], ["rollback", id, "--yes"]] {
            let r = try runbook(command)
            XCTAssertEqual(r.exitCode, 2, r.output)
            XCTAssertTrue(r.stderr.contains("secret var dsn differs from what run \(id) was started with"), r.stderr)
            XCTAssertTrue(r.stderr.contains("--var dsn="), r.stderr)
        }
        // Another value: refused too, and the value is not echoed.
        let other = try runbook(["resume", id, "--yes", "--var", "dsn=postgres://u:other-pass@given-host/db"])
        XCTAssertEqual(other.exitCode, 2, other.output)
        XCTAssertFalse(other.output.contains("other-pass"), other.output)
        XCTAssertEqual(try state(id)["status"], "paused")
        XCTAssertFalse(evidence.contains { $0.hasPrefix("two") }, "\(evidence)")

        // The same value: the run continues with the input it started with.
        let same = try runbook(["resume", id, "--yes", "--var", "dsn=\(given)"])
        XCTAssertEqual(same.exitCode, 0, same.output)
        XCTAssertEqual(evidence.last, "two-given")

        // A run that used the default resumes without it being given (the default is the same input).
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.appendingPathComponent("fault").path, contents: nil))
        XCTAssertEqual(try runbook(["run", file, "--yes", "--no-rollback"]).exitCode, 3)
        let second = try XCTUnwrap(runIDs().first { $0 != id })
        try FileManager.default.removeItem(at: dir.appendingPathComponent("fault"))
        let resumed = try runbook(["resume", second, "--yes"])
        XCTAssertEqual(resumed.exitCode, 0, resumed.output)
        XCTAssertEqual(evidence.last, "two-default")
    }
}
