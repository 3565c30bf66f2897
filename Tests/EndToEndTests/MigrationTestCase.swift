import Foundation
import XCTest

/// A test class whose tests share one `MigrationHarness` (a sandbox with the class's `fixtures`
/// and `fixtureVars`): started before the class's first test, where `noteFixture` then reads what
/// the class keeps of the untouched fixture; stopped after the class's last test. Each test has it
/// as `sb`, with no fault left injected. When the sandbox did not start or `noteFixture` threw,
/// every test of the class fails with that error (none is skipped, none runs on half a fixture).
class MigrationTestCase: XCTestCase {
    /// The fixtures of this class's sandbox.
    class var fixtures: [String] { [] }
    /// The fixture variables of this class's sandbox (`sandbox up --fixture-var K=V`).
    class var fixtureVars: [String: String] { [:] }
    /// Reads what the class keeps of the fixture before its first test.
    class func noteFixture(_ sb: MigrationHarness) throws {}

    private static let harnesses = PerClass<Result<MigrationHarness, Error>>()

    var sb: MigrationHarness!

    override class func setUp() {
        super.setUp()
        let started = Result { () throws -> MigrationHarness in
            let sb = try MigrationHarness(fixtures: fixtures, fixtureVars: fixtureVars)
            do { try noteFixture(sb) } catch { sb.shutdown(); throw error }
            return sb
        }
        harnesses.replace(for: self, with: started)
    }

    override class func tearDown() {
        if case .success(let sb)? = harnesses.replace(for: self, with: nil) { sb.shutdown() }
        super.tearDown()
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        do {
            guard let started = Self.harnesses.value(for: Self.self) else { throw MigrationHarness.HarnessError.failed("no class setUp ran") }
            sb = try started.get()
        } catch {
            throw MigrationHarness.HarnessError.failed("the sandbox of \(Self.self) did not start: \(error)")
        }
        try? sb.fault(["--clear"])
    }

    override func tearDown() {
        try? sb?.fault(["--clear"])
        super.tearDown()
    }
}
