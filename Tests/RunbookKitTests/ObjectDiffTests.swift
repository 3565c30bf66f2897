@testable import RunbookKit
import XCTest

final class ObjectDiffTests: XCTestCase {
    func testChangedAddedRemovedFieldsAndNoiseIgnored() {
        let live: Value = ["kind": "ConfigMap", "metadata": ["name": "x", "resourceVersion": "1", "labels": ["a": "1", "gone": "y"]],
                           "data": ["k": "old"]]
        let result: Value = ["kind": "ConfigMap", "metadata": ["name": "x", "resourceVersion": "2", "labels": ["a": "1", "new": "z"]],
                             "data": ["k": "new"]]
        XCTAssertEqual(ObjectDiff.render(live: live, result: result), """
        - metadata.labels.gone: "y"
        + metadata.labels.new: "z"
        - data.k: "old"
        + data.k: "new"
        """)
        XCTAssertEqual(ObjectDiff.render(live: live, result: live), "")
    }

    func testSecretDataShowsOnlyKeys() {
        let live: Value = ["kind": "Secret", "metadata": ["name": "s"], "data": ["same": "c2FtZQ==", "pw": "b2xkLXB3", "old": "eA=="]]
        let result: Value = ["kind": "Secret", "metadata": ["name": "s"], "data": ["same": "c2FtZQ==", "pw": "bmV3LXB3", "add": "eQ=="]]
        let d = ObjectDiff.render(live: live, result: result)
        XCTAssertEqual(d, """
        ~ data.pw: *** (changed)
        - data.old: ***
        + data.add: ***
        """)
        XCTAssertFalse(d.contains("b2xk") || d.contains("bmV3"))
        let created = ObjectDiff.render(live: nil, result: result)
        XCTAssertTrue(created.contains("+ data.pw: ***"), created)
        XCTAssertFalse(created.contains("bmV3"))
    }
}
