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
}
