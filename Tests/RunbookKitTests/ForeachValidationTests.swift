import Foundation
import XCTest
@testable import RunbookKit

private struct TestRead: Action {
    static let spec = ActionSpec(name: "test.read", required: ["name"], optional: [], mutating: false, dryRun: .execute)
    func preview(_ context: ActionContext) async throws -> Preview { throw ActionError.failed("validation-only test action") }
    func execute(_ context: ActionContext) async throws -> ActionResult { throw ActionError.failed("validation-only test action") }
}

private struct TestWrite: Action {
    static let spec = ActionSpec(name: "test.write", required: ["target", "value"], optional: [], mutating: true, dryRun: .preview)
    func preview(_ context: ActionContext) async throws -> Preview { throw ActionError.failed("validation-only test action") }
    func execute(_ context: ActionContext) async throws -> ActionResult { throw ActionError.failed("validation-only test action") }
}

/// `foreach` groups are checked like any step list: keys, positions, references, `as` names.
final class ForeachValidationTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let validator = RunbookValidator(actions: [TestRead.self, TestWrite.self])

    func fixture(_ name: String) -> URL { URL(fileURLWithPath: "fixtures/runbooks/foreach/\(name)", relativeTo: Self.root) }

    func testValidGroupBuildsTheModel() throws {
        let rb = try RunbookLoader.load(fixture("foreach-valid.yaml"), validator: validator)
        XCTAssertEqual(rb.steps.map(\.id), ["find", "each", "after"])
        let group = try XCTUnwrap(rb.steps[1].group)
        XCTAssertEqual(rb.steps[1].action, "foreach")
        XCTAssertEqual(group.name, "job")
        XCTAssertEqual(group.concurrency, 4)
        XCTAssertEqual(group.canary, 1)
        XCTAssertEqual(group.maxFailures, 2)
        XCTAssertEqual(group.steps.map(\.id), ["read-one", "write-one"])
        XCTAssertNil(rb.steps[0].group)
    }

    func testInvalidGroupReportsEveryError() {
        let f = "fixtures/runbooks/foreach/foreach-invalid.yaml"
        var found: [String] = []
        do {
            _ = try RunbookLoader.load(fixture("foreach-invalid.yaml"), validator: validator)
            XCTFail("validated")
        } catch RunbookError.invalid(let d) {
            found = d.map(\.description)
        } catch {
            XCTFail("\(error)")
        }
        XCTAssertEqual(found, [
            "7:24: step 'write-one' runs once per item of foreach group 'each'; after the group, read steps.each.outputs.results",
            "9:18: step 'each' cannot read its own outputs",
            "10:9: as: 'vars' is a name expressions already use; choose another",
            "11:18: concurrency must be an integer of at least 1",
            "12:13: canary must be an integer of at least 0",
            "13:19: max_failures must be an integer of at least 0",
            "14:5: unknown key 'parallel' in foreach group 'each'; allowed: id, name, foreach, as, concurrency, canary, max_failures, when, steps",
            "18:43: unknown key 'extra' in with of test.read; allowed: name",
            "19:9: unknown key 'on_failure' in step 'read-one'; allowed: id, name, action, with, when, timeout, retry, rollback",
            "22:30: step 'later' does not come before step 'write-one'",
            "22:69: step 'write-one' is inside foreach group 'each' and cannot read the group's outputs",
            "23:9: foreach groups do not nest; move the inner loop into its own group",
            "23:13: duplicate step id 'find' (first used at line 5)",
            "26:5: missing required key 'steps' in foreach group 'bare'",
            "28:5: unknown key 'action' in foreach group 'bare'; allowed: id, name, foreach, as, concurrency, canary, max_failures, when, steps",
            "31:24: step 'read-one' runs once per item of foreach group 'each'; after the group, read steps.each.outputs.results",
            "31:59: unknown name 'job.name': expressions can read vars, steps, env and run",
        ].map { "\(f):\($0)" })
    }
}
