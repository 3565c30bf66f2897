import Foundation
import TestSupport
import XCTest

/// A test class whose tests share one sandbox with the class's `fixtures`: started before the
/// class's first test, stopped after its last. Each test has it as `sb`; when it did not start,
/// the test fails with the sandbox's own output.
class SandboxTestCase: XCTestCase {
    /// The fixtures of this class's sandbox.
    class var fixtures: [String] { ["calibrate-irt"] }

    /// The sandbox of this class (one per subclass).
    class var shared: SharedSandbox { sandboxes.value(for: self) { SharedSandbox(fixtures: fixtures) } }
    private static let sandboxes = PerClass<SharedSandbox>()

    var sb: Sandbox!

    override class func setUp() {
        super.setUp()
        shared.start()
    }

    override class func tearDown() {
        shared.stop()
        super.tearDown()
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        sb = try Self.shared.get()
    }
}
