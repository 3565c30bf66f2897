@testable import RunbookKit
import XCTest

/// `--request-timeout`/`RUNBOOK_REQUEST_TIMEOUT` and `--retries`/`RUNBOOK_RETRIES`: flags win,
/// and a value that is not usable is a usage error naming where it came from.
final class RequestPolicyTests: XCTestCase {
    private func message(_ body: () throws -> RequestPolicy) -> String? {
        do { _ = try body(); return nil } catch { return (error as? LocalizedError)?.errorDescription ?? "\(error)" }
    }

    func testFlagsWinOverTheEnvironmentWhichWinsOverDefaults() throws {
        XCTAssertEqual(try RequestPolicy.resolve(timeoutFlag: nil, retriesFlag: nil, environment: [:]), RequestPolicy())
        let env = ["RUNBOOK_REQUEST_TIMEOUT": "2m", "RUNBOOK_RETRIES": "7"]
        XCTAssertEqual(try RequestPolicy.resolve(timeoutFlag: nil, retriesFlag: nil, environment: env), RequestPolicy(timeout: 120, retries: 7))
        XCTAssertEqual(try RequestPolicy.resolve(timeoutFlag: "10s", retriesFlag: 0, environment: env), RequestPolicy(timeout: 10, retries: 0))
    }

    func testUnusableValuesAreRefusedNamingTheirSource() {
        XCTAssertEqual(message { try RequestPolicy.resolve(timeoutFlag: "abc", retriesFlag: nil, environment: [:]) },
                       "--request-timeout 'abc' is not a duration (e.g. 10s, 2m)")
        XCTAssertEqual(message { try RequestPolicy.resolve(timeoutFlag: "0s", retriesFlag: nil, environment: [:]) },
                       "--request-timeout must be longer than 0s, not '0s'")
        XCTAssertEqual(message { try RequestPolicy.resolve(timeoutFlag: nil, retriesFlag: nil, environment: ["RUNBOOK_REQUEST_TIMEOUT": "soon"]) },
                       "RUNBOOK_REQUEST_TIMEOUT 'soon' is not a duration (e.g. 10s, 2m)")
        XCTAssertEqual(message { try RequestPolicy.resolve(timeoutFlag: nil, retriesFlag: -1, environment: [:]) },
                       "--retries must be 0 or more, not -1")
        // Once silently replaced by the default.
        XCTAssertEqual(message { try RequestPolicy.resolve(timeoutFlag: nil, retriesFlag: nil, environment: ["RUNBOOK_RETRIES": "many"]) },
                       "RUNBOOK_RETRIES 'many' is not a whole number")
        // A flag makes the environment's value irrelevant.
        XCTAssertNil(message { try RequestPolicy.resolve(timeoutFlag: nil, retriesFlag: 2, environment: ["RUNBOOK_RETRIES": "many"]) })
    }
}
