import Foundation
@testable import RunbookKit
import XCTest

/// The pure parts of `k8s.rollout`, `http.request` and `secret.generate`: rollout judgement,
/// expectations, proxy paths, generated values and static checks.
final class RolloutActionsTests: XCTestCase {
    func deployment(generation: Int = 2, observed: Int = 2, replicas: Int = 2, updated: Int = 2, total: Int = 2,
                    available: Int = 2, progressing: Value? = nil) -> Value {
        var status: Value = ["observedGeneration": .int(observed), "updatedReplicas": .int(updated), "replicas": .int(total),
                             "availableReplicas": .int(available)]
        if let progressing { status["conditions"] = [progressing] }
        return ["kind": "Deployment", "metadata": ["name": "r-analytics", "generation": .int(generation)],
                "spec": ["replicas": .int(replicas)], "status": status]
    }

    func testDeploymentRolloutIsJudgedAsKubectlDoes() {
        XCTAssertEqual(RolloutStatus.of(deployment(observed: 1)), .waiting("Waiting for deployment spec update to be observed..."))
        XCTAssertEqual(RolloutStatus.of(deployment(updated: 1, total: 3, available: 2)),
                       .waiting("Waiting for deployment \"r-analytics\" rollout to finish: 1 out of 2 new replicas have been updated..."))
        XCTAssertEqual(RolloutStatus.of(deployment(total: 3)),
                       .waiting("Waiting for deployment \"r-analytics\" rollout to finish: 1 old replicas are pending termination..."))
        XCTAssertEqual(RolloutStatus.of(deployment(available: 1)),
                       .waiting("Waiting for deployment \"r-analytics\" rollout to finish: 1 of 2 updated replicas are available..."))
        XCTAssertEqual(RolloutStatus.of(deployment()), .done("deployment \"r-analytics\" successfully rolled out"))
        let stuck: Value = ["type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                            "message": "ReplicaSet \"r-analytics-x\" has timed out progressing."]
        XCTAssertEqual(RolloutStatus.of(deployment(updated: 1, total: 3, available: 2, progressing: stuck)),
                       .failed("deployment \"r-analytics\" exceeded its progress deadline: ReplicaSet \"r-analytics-x\" has timed out progressing."))
    }

    func testStatefulSetAndDaemonSetRollouts() {
        let sts: Value = ["kind": "StatefulSet", "metadata": ["name": "pg", "generation": 3],
                          "spec": ["replicas": 2, "updateStrategy": ["type": "RollingUpdate"]],
                          "status": ["observedGeneration": 3, "readyReplicas": 2, "updatedReplicas": 1, "currentReplicas": 1,
                                     "updateRevision": "pg-b", "currentRevision": "pg-a"]]
        XCTAssertEqual(RolloutStatus.of(sts), .waiting("waiting for statefulset rolling update to complete 1 pods at revision pg-b..."))
        var onDelete = sts
        onDelete["spec"]?["updateStrategy"] = ["type": "OnDelete"]
        XCTAssertEqual(RolloutStatus.of(onDelete), .failed("rollout status is only available for RollingUpdate strategy type"))
        let ds: Value = ["kind": "DaemonSet", "metadata": ["name": "agent", "generation": 1],
                         "status": ["observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 2]]
        XCTAssertEqual(RolloutStatus.of(ds), .waiting("Waiting for daemon set \"agent\" rollout to finish: 2 of 3 updated pods are available..."))
    }

    func testUndoComparesTemplatesWithoutHashLabels() {
        let a: Value = ["metadata": ["labels": ["app": "x", "pod-template-hash": "abc"], "creationTimestamp": .null], "spec": ["containers": []]]
        let b: Value = ["metadata": ["labels": ["app": "x"]], "spec": ["containers": []]]
        XCTAssertEqual(K8sRollout.withoutHash(a), K8sRollout.withoutHash(b))
    }

    func expectation(_ yaml: String) throws -> HTTPExpectation {
        let node = try XCTUnwrap(try YAMLParser.parse(yaml, file: "t.yaml").first)
        return try HTTPExpectation(try Expressions.evaluate(node, scope: Scope(), file: "t.yaml"), stepID: "health")
    }

    func testHTTPExpectations() throws {
        let body = Data(#"{"status": "ok", "checks": [{"name": "db", "up": true}]}"#.utf8)
        XCTAssertNil(try expectation("{}").mismatch(status: 204, body: Data()))
        XCTAssertEqual(try expectation("{}").mismatch(status: 401, body: Data()), "expected a 2xx status, got 401")
        XCTAssertEqual(try expectation("{status: [200, 204]}").mismatch(status: 503, body: Data()), "expected status 200 or 204, got 503")
        XCTAssertNil(try expectation("{status: 200, contains: ok, json: {status: ok, 'checks[0].up': true}}").mismatch(status: 200, body: body))
        XCTAssertEqual(try expectation("{json: {'checks[0].name': cache}}").mismatch(status: 200, body: body),
                       "expected json checks[0].name = \"cache\", got \"db\"")
        XCTAssertEqual(try expectation("{json: {status: ok}}").mismatch(status: 200, body: Data("<html>".utf8)), "the body is not JSON")
        XCTAssertThrowsError(try expectation("{code: 200}"))
        XCTAssertThrowsError(try expectation("{status: 42}"))
    }

    func testServiceTargetsGoThroughTheAPIServersProxy() {
        let t = HTTPTarget.service(namespace: "", name: "r-analytics", port: "http", path: "/health?full=1")
        XCTAssertEqual(t.proxyPath(defaultNamespace: "seedtest"), "/api/v1/namespaces/seedtest/services/r-analytics:http/proxy/health?full=1")
        XCTAssertEqual(t.label, "service r-analytics:http /health?full=1")
        XCTAssertNil(HTTPTarget.url("https://example.com/x").proxyPath(defaultNamespace: "d"))
    }

    func testGeneratedValuesUseOnlyTheirAlphabet() {
        for (name, chars) in SecretGenerateAction.alphabets {
            let v = SecretGenerateAction.generate(length: 64, alphabet: name)
            XCTAssertEqual(v.count, 64)
            XCTAssertTrue(v.allSatisfy { chars.contains($0) }, "\(name)")
        }
        XCTAssertNotEqual(SecretGenerateAction.generate(length: 32, alphabet: "alnum"), SecretGenerateAction.generate(length: 32, alphabet: "alnum"))
    }

    func diagnostics(_ type: any Action.Type, _ yaml: String) throws -> [String] {
        let node = try XCTUnwrap(try YAMLParser.parse(yaml, file: "t.yaml").first)
        var out: [Diagnostic] = []
        type.validate(node, file: "t.yaml", into: &out)
        return out.map(\.description)
    }

    func testStaticChecks() throws {
        XCTAssertEqual(try diagnostics(SecretGenerateAction.self, "length: 43\nalphabet: base64\n"), [])
        XCTAssertEqual(try diagnostics(SecretGenerateAction.self, "length: 4\nalphabet: emoji\n").count, 2)
        XCTAssertEqual(try diagnostics(HTTPRequestAction.self, "service: {name: x, port: http}\npath: /health\n"), [])
        XCTAssertEqual(try diagnostics(HTTPRequestAction.self, "url: http://x/\nservice: {name: x}\n"),
                       ["t.yaml:1:1: http.request: needs exactly one of url or service"])
        XCTAssertEqual(try diagnostics(HTTPRequestAction.self, "url: http://x/\nmethod: FETCH\n").count, 1)
        XCTAssertEqual(try diagnostics(K8sRollout.self, "kind: Deployment\nname: x\ndo: status\n"), [])
        XCTAssertEqual(try diagnostics(K8sRollout.self, "kind: CronJob\nname: x\ndo: pause\nto_revision: 2\n").count, 3)
    }

    /// The undo's patch carries the resourceVersion it was based on, for either patch kind.
    func testUndoPatchIsPinnedToTheResourceVersionRead() {
        let json = K8sRollout.UndoTarget(name: "rs-1", revision: 1, template: .null, contentType: "application/json-patch+json",
                                         patch: [["op": "replace", "path": "/spec/template", "value": ["metadata": [:]]]])
        XCTAssertEqual(K8sRollout.pinned(json.patch, to: "42"), [["op": "replace", "path": "/metadata/resourceVersion", "value": "42"],
                                               ["op": "replace", "path": "/spec/template", "value": ["metadata": [:]]]])
        let strategic = K8sRollout.UndoTarget(name: "cr-1", revision: 1, template: .null, contentType: "application/strategic-merge-patch+json",
                                              patch: ["metadata": ["labels": ["a": "b"]], "spec": ["template": [:]]])
        XCTAssertEqual(K8sRollout.pinned(strategic.patch, to: "42"), ["metadata": ["labels": ["a": "b"], "resourceVersion": "42"], "spec": ["template": [:]]])
    }
}
