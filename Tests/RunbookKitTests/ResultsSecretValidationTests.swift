import Foundation
import XCTest
@testable import RunbookKit

/// `steps.GROUP.outputs.results` holds only stored outputs: reading a body step's secret output
/// through it is a validation error at its position (it would be null, before and after a resume).
final class ResultsSecretValidationTests: XCTestCase {
    let validator = RunbookValidator(actions: [K8sSecretRead.self, AssertAction.self, K8sList.self])

    func diagnostics(_ steps: String) -> [String] {
        let text = "apiVersion: runbook/v1\nkind: Runbook\nmetadata: { name: x }\nsteps:\n" + steps
        do {
            _ = try validator.validate(try YAMLParser.parse(text, file: "x.yaml"), file: URL(fileURLWithPath: "/tmp/x.yaml"),
                                       displayPath: "x.yaml", sha256: "")
            return []
        } catch RunbookError.invalid(let d) {
            return d.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    let group = """
          - id: each
            foreach: [a, b]
            steps:
              - id: read
                action: k8s.secret.read
                with: { name: "${{ item }}", key: k }
        """

    func testASecretOutputThroughResultsIsRefusedWhereItIsWritten() {
        let message = "steps.each.outputs.results holds only the outputs that are stored, never secret ones: 'value' of step 'read' "
            + "(k8s.secret.read) is secret and not kept once an item is done (nor across a resume); use it inside the group's body"
        XCTAssertEqual(diagnostics(group + """

              - id: after
                action: assert
                with:
                  that: "${{ steps.each.outputs.results[0].read.value == 'x' }}"
            """), ["x.yaml:14:18: " + message])
        XCTAssertEqual(diagnostics(group + """

              - id: after
                action: assert
                with: { equals: ["${{ steps.each.outputs.results[steps.each.outputs.count]['read']['value'] }}", x] }
            """).filter { $0.contains("results holds") }.count, 1, "a computed item index and quoted names are seen too")
    }

    func testStoredOutputsThroughResultsAreFine() {
        XCTAssertEqual(diagnostics(group + """

              - id: after
                action: assert
                with: { that: "${{ steps.each.outputs.results[1].read.found && steps.each.outputs.count == 2 }}" }
            """), [])
    }
}
