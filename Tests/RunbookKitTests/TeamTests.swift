import Foundation
@testable import RunbookKit
import XCTest

/// Pure parts of team-wide runs: names, gzip, MicroTime, permissions and the RBAC rules built from them.
final class TeamTests: XCTestCase {
    func testNamesFitKubernetes() {
        XCTAssertEqual(KubeName.subdomain("Migrate_Calibrate-IRT"), "migrate-calibrate-irt")
        XCTAssertEqual(RunRecords.secretName("deploy-20261121T175000-9ace"), "runbook.run.v1.deploy-20261121t175000-9ace")
        XCTAssertEqual(KubeName.labelValue("deploy-20261121T175000-9ace"), "deploy-20261121T175000-9ace")
        XCTAssertNil(KubeName.labelValue(String(repeating: "a", count: 64)))
        XCTAssertNil(KubeName.labelValue("-x"))
    }

    func testGzipRoundTripAndTruncation() throws {
        let text = Data(String(repeating: "{\"step\":\"x\"}\n", count: 500).utf8)
        let packed = try Gzip.compress(text)
        XCTAssertLessThan(packed.count, text.count / 10)
        XCTAssertEqual(Array(packed.prefix(2)), [0x1f, 0x8b], "gzip magic")
        XCTAssertEqual(try Gzip.decompress(packed), text)
        XCTAssertThrowsError(try Gzip.decompress(packed.prefix(packed.count / 2)))
    }

    func testMicroTime() throws {
        let d = try XCTUnwrap(ClusterLease.parseMicroTime("2026-11-27T14:37:52.501000Z"))
        XCTAssertEqual(d.timeIntervalSince1970, try XCTUnwrap(ClusterLease.parseMicroTime("2026-11-27T14:37:52Z")).timeIntervalSince1970 + 0.501,
                       accuracy: 0.0005)
        XCTAssertEqual(ClusterLease.microTime(d), "2026-11-27T14:37:52.501000Z")
    }

    func testPermissionText() {
        XCTAssertEqual(Permission("get", group: "", resource: "secrets", namespace: "ns", name: "db").description,
                       "get secrets/db in namespace ns")
        XCTAssertEqual(Permission("patch", group: "apps", resource: "deployments", subresource: "scale", namespace: "ns", name: "api").description,
                       "patch deployments.apps/api (subresource scale) in namespace ns")
        // create is authorized before the object has a name; "" is every namespace
        XCTAssertEqual(Permission("create", group: "", resource: "secrets", namespace: "", name: "x").description, "create secrets cluster-wide")
    }

    func testRulesShareResourceNamesAndKeepVerbsExact() {
        let p = [Permission("get", group: "", resource: "secrets", namespace: "ns", name: "a"),
                 Permission("get", group: "", resource: "secrets", namespace: "ns", name: "b"),
                 Permission("create", group: "", resource: "secrets", namespace: "ns", name: nil),
                 Permission("patch", group: "batch", resource: "cronjobs", namespace: "ns", name: "c"),
                 Permission("get", group: "batch", resource: "cronjobs", namespace: "ns", name: "c")]
        let rules = RBACManifests.rules(p).map { $0.jsonString() }
        XCTAssertEqual(rules, [
            #"{"apiGroups":[""],"resources":["secrets"],"verbs":["create"]}"#,
            #"{"apiGroups":[""],"resources":["secrets"],"resourceNames":["a","b"],"verbs":["get"]}"#,
            #"{"apiGroups":["batch"],"resources":["cronjobs"],"resourceNames":["c"],"verbs":["get","patch"]}"#,
        ])
    }

    /// `k8s.rollout` restart/undo are rolled back by a PUT of the prior object: `update` is needed,
    /// while `status` only reads (a ServiceAccount bound to the rbac output could not undo a restart).
    func testRolloutVerbsIncludeWhatItsRollbackSends() {
        XCTAssertEqual(K8sRollout.rbacVerbs(do: "status"), ["get"])
        XCTAssertEqual(K8sRollout.rbacVerbs(do: "restart"), ["get", "patch", "update"])
        XCTAssertEqual(K8sRollout.rbacVerbs(do: "undo"), ["get", "patch", "update"])
        XCTAssertEqual(K8sRollout.rbacVerbs(do: nil), ["get", "patch", "update"], "a do known only at run time may be any of them")
    }
}
