import Foundation
import TestSupport
import XCTest

/// The harness itself: a sandbox that cannot start is an error carrying the sandbox's own output
/// (a failed test, not a crashed test process), and leaves nothing behind.
final class SandboxHarnessTests: XCTestCase {
    func testUpFailureCarriesTheSandboxOutputAndLeavesNoDirectory() throws {
        XCTAssertThrowsError(try Sandbox.up(fixtures: ["no-such-fixture"])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("sandbox up no-such-fixture exited 1"), text)
            XCTAssertTrue(text.contains("no fixture 'no-such-fixture'"), "the sandbox's own message: \(text)")
            // the message names the sandbox's log: its directory is gone
            guard let r = text.range(of: #"\(log: (\S+)/daemon\.log\)"#, options: .regularExpression) else {
                return XCTFail("no log path in: \(text)")
            }
            let dir = String(text[r].dropFirst("(log: ".count).dropLast("/daemon.log)".count))
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "\(dir) is removed")
        }
    }

    func testSharedSandboxHandsTheStartFailureToEachTest() {
        let shared = SharedSandbox(fixtures: ["no-such-fixture"])
        shared.start()
        for _ in 0..<2 {
            XCTAssertThrowsError(try shared.get()) { XCTAssertTrue("\($0)".contains("no fixture"), "\($0)") }
        }
        shared.stop()
        XCTAssertThrowsError(try SharedSandbox(fixtures: []).get()) {
            XCTAssertTrue("\($0)".contains("start() was not called"), "\($0)")
        }
    }

    /// A `MigrationTestCase` class whose sandbox does not start fails each of its tests with the
    /// sandbox's own output (`setUpWithError` throws an error that is not a skip).
    func testMigrationTestCaseHandsTheStartFailureToEachTest() {
        UnstartableMigrationCase.setUp()
        for _ in 0..<2 {
            let test = UnstartableMigrationCase(name: "start failure", testClosure: { _ in })
            XCTAssertThrowsError(try test.setUpWithError()) {
                XCTAssertFalse($0 is XCTSkip, "a failure, not a skip")
                XCTAssertTrue("\($0)".contains("the sandbox of UnstartableMigrationCase did not start"), "\($0)")
                XCTAssertTrue("\($0)".contains("no fixture 'no-such-fixture'"), "the sandbox's own message: \($0)")
            }
        }
        UnstartableMigrationCase.tearDown()
    }

    /// The end-to-end classes start their sandbox through the harness, never with a fatalError that
    /// would take the whole test process down (and every other class's results with it).
    func testNoTestClassCrashesTheProcessWhenItsSandboxDoesNotStart() throws {
        let dir = Sandbox.repoRoot.appendingPathComponent("Tests/EndToEndTests")
        for file in try FileManager.default.contentsOfDirectory(atPath: dir.path) where file.hasSuffix(".swift") {
            let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            XCTAssertFalse(text.contains("fatal" + "Error("), "\(file): use SharedSandbox (class setUp: start(); setUpWithError: get())")
        }
    }
}

/// A class with no tests of its own (XCTest does not run it) whose sandbox cannot start.
private final class UnstartableMigrationCase: MigrationTestCase {
    override class var fixtures: [String] { ["no-such-fixture"] }
}
