import RunbookKit
import XCTest

final class SuggestionTests: XCTestCase {
    func testTyposFindTheirNameAndUnrelatedWordsFindNothing() {
        XCTAssertEqual(Suggestion.closest(to: "rnu", in: ["run", "plan", "resume"]), "run")
        XCTAssertEqual(Suggestion.closest(to: "namesapce", in: ["namespace", "project"]), "namespace")
        XCTAssertEqual(Suggestion.closest(to: "migrate-calibrate-irt2", in: ["migrate-calibrate-irt", "x"]), "migrate-calibrate-irt")
        XCTAssertNil(Suggestion.closest(to: "zzz", in: ["run", "plan"]))
        XCTAssertEqual(Suggestion.hint(for: "projet", in: ["project"]), "; did you mean 'project'?")
        XCTAssertEqual(Suggestion.hint(for: "other", in: ["project"]), "")
    }
}
