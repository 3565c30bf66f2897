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

    // MARK: fingerprints (drift is judged on desired content, not resourceVersion)

    let deployment: Value = [
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": ["name": "d", "namespace": "n", "uid": "u-1", "resourceVersion": "95", "generation": 2,
                     "labels": ["app": "d"], "annotations": ["deployment.kubernetes.io/revision": "2", "owner": "team"]],
        "spec": ["replicas": 1, "template": ["spec": ["containers": [["name": "c", "image": "i:2"]]]]],
        "status": ["observedGeneration": 2, "conditions": [["type": "Available", "status": "True"]]],
    ]

    func testFingerprintIgnoresStatusServerMetadataAndKeyOrder() {
        let fp = ObjectFingerprint.of(deployment)
        XCTAssertTrue(fp.hasPrefix("sha256:") && fp.count == 7 + 64, fp)
        var statusOnly = deployment
        statusOnly["status"] = ["observedGeneration": 3, "readyReplicas": 1]
        statusOnly["metadata"]?["resourceVersion"] = "97"
        statusOnly["metadata"]?["managedFields"] = [["manager": "eso", "subresource": "status"]]
        statusOnly["metadata"]?["annotations"]?["deployment.kubernetes.io/revision"] = "3"
        XCTAssertEqual(ObjectFingerprint.of(statusOnly), fp)
        // The same content with keys in another order.
        guard case .object(let o) = deployment else { return XCTFail() }
        XCTAssertEqual(ObjectFingerprint.of(.object(Object(o.members.reversed()))), fp)
    }

    func testFingerprintSeesWhatAPersonChanges() {
        let fp = ObjectFingerprint.of(deployment)
        for path in ["metadata.labels.someone", "metadata.annotations.note", "spec.paused", "metadata.ownerReferences", "type"] {
            var changed = deployment
            let parts = path.split(separator: ".").map(String.init)
            if parts.count == 1 { changed[parts[0]] = "x" }
            else if parts.count == 2 { changed[parts[0]]?[parts[1]] = "x" }
            else { changed[parts[0]]?[parts[1]]?[parts[2]] = "x" }
            XCTAssertNotEqual(ObjectFingerprint.of(changed), fp, path)
        }
        var recreated = deployment
        recreated["metadata"]?["uid"] = "u-2"
        XCTAssertNotEqual(ObjectFingerprint.of(recreated), fp, "re-created by someone else")
    }

    func testFingerprintDoesNotRevealSecretData() {
        let secret: Value = ["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "s", "uid": "u"], "data": ["pw": "aHVudGVyMg=="]]
        let fp = ObjectFingerprint.of(secret)
        XCTAssertFalse(fp.contains("aHVudGVyMg") || fp.contains("hunter2"))
        var other = secret
        other["data"]?["pw"] = "aHVudGVyMw=="
        XCTAssertNotEqual(ObjectFingerprint.of(other), fp)
    }

    func testDriftUsesTheFingerprintAndFallsBackToResourceVersionForOldRecords() {
        let ref = ObjectRef(apiVersion: "apps/v1", kind: "Deployment", namespace: "n", name: "d")
        var record: Value = [:]
        PriorState.noteAfter(deployment, in: &record)
        XCTAssertEqual(record["after"], "95")
        var statusOnly = deployment
        statusOnly["metadata"]?["resourceVersion"] = "97"
        statusOnly["status"]?["observedGeneration"] = 3
        XCTAssertNil(PriorState.drift(of: statusOnly, from: record, ref: ref))
        var labelled = statusOnly
        labelled["metadata"]?["labels"]?["someone"] = "else"
        let reason = PriorState.drift(of: labelled, from: record, ref: ref)
        XCTAssertTrue(reason?.contains("changed after this step") == true && reason?.contains("95 → 97") == true, reason ?? "nil")
        // A record from before fingerprints: only resourceVersion, compared as before.
        let old: Value = ["after": "95"]
        XCTAssertNil(PriorState.drift(of: deployment, from: old, ref: ref))
        XCTAssertNotNil(PriorState.drift(of: statusOnly, from: old, ref: ref))
        XCTAssertNil(PriorState.drift(of: labelled, from: nil, ref: ref))
    }
}
