import XCTest
@testable import RunbookKit

/// Where Leases and run records live: the flag, else RUNBOOK_NAMESPACE, else runbook-system —
/// and a name no namespace can have is a usage error naming its source.
final class RunsNamespaceTests: XCTestCase {
    func testTheFlagWinsThenTheEnvironmentThenTheDefault() throws {
        XCTAssertEqual(try LockMode.runsNamespace(flag: "team-a", environment: ["RUNBOOK_NAMESPACE": "team-b"]), "team-a")
        XCTAssertEqual(try LockMode.runsNamespace(flag: nil, environment: ["RUNBOOK_NAMESPACE": "team-b"]), "team-b")
        XCTAssertEqual(try LockMode.runsNamespace(flag: "", environment: [:]), "runbook-system")
    }

    func testNamesNoNamespaceCanHaveAreUsageErrorsNamingTheirSource() {
        let bad = ["Not_A_Namespace", "UPPER", "-lead", "trail-", "dots.in.it", String(repeating: "a", count: 64), "ümlaut"]
        for name in bad {
            XCTAssertThrowsError(try LockMode.runsNamespace(flag: name, environment: [:]), name) { error in
                guard case RunbookError.usage(let message) = error else { return XCTFail("\(name): \(error)") }
                XCTAssertTrue(message.hasPrefix("--namespace-for-runs: '\(name)' is not a namespace name"), message)
            }
        }
        XCTAssertThrowsError(try LockMode.runsNamespace(flag: nil, environment: ["RUNBOOK_NAMESPACE": "Bad_NS"])) { error in
            guard case RunbookError.usage(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.hasPrefix("RUNBOOK_NAMESPACE: 'Bad_NS'"), message)
        }
        for good in ["a", "runbook-system", "team-1", String(repeating: "a", count: 63)] {
            XCTAssertEqual(try LockMode.runsNamespace(flag: good, environment: [:]), good)
        }
    }
}
