import Foundation
@testable import RunbookKit
import XCTest

/// The pure parts of `k8s.can_i` (who `as` names, the summary) and the static checks of
/// `k8s.can_i` and of `k8s.wait`'s `not_equals`.
final class K8sCanIWaitTests: XCTestCase {
    func diagnostics(_ type: any Action.Type, _ yaml: String) throws -> [String] {
        let node = try XCTUnwrap(try YAMLParser.parse(yaml, file: "t.yaml").first)
        var out: [Diagnostic] = []
        type.validate(node, file: "t.yaml", into: &out)
        return out.map(\.description)
    }

    func testAServiceAccountGetsTheGroupsTheAPIServerGivesIt() throws {
        let sa = try XCTUnwrap(K8sCanI.subject("system:serviceaccount:external-secrets:external-secrets"))
        XCTAssertEqual(sa.user, "system:serviceaccount:external-secrets:external-secrets")
        XCTAssertEqual(sa.groups, ["system:serviceaccounts", "system:serviceaccounts:external-secrets", "system:authenticated"])
        let user = try XCTUnwrap(K8sCanI.subject("jane@example.com"))
        XCTAssertEqual(user.groups, ["system:authenticated"])
        XCTAssertNil(K8sCanI.subject("system:serviceaccount:only-namespace"))
        XCTAssertNil(K8sCanI.subject("system:serviceaccount::name"))
        XCTAssertNil(K8sCanI.subject("system:serviceaccount:a:b:c"))
    }

    func testSummaryNamesVerbResourceAndScope() {
        XCTAssertEqual(K8sCanI.describe(["verb": "create", "resource": "secrets", "namespace": "chat"]),
                       "create secrets in namespace chat")
        XCTAssertEqual(K8sCanI.describe(["verb": "patch", "resource": "customresourcedefinitions", "group": "apiextensions.k8s.io",
                                         "name": "externalsecrets.external-secrets.io"]),
                       "patch customresourcedefinitions.apiextensions.k8s.io \"externalsecrets.external-secrets.io\" cluster-wide")
        XCTAssertEqual(K8sCanI.describe(["verb": "get", "resource": "pods", "subresource": "log", "namespace": "x"]),
                       "get pods/log in namespace x")
    }

    func testMalformedServiceAccountIsAValidationError() throws {
        XCTAssertEqual(try diagnostics(K8sCanI.self, "verb: get\nresource: secrets\nas: system:serviceaccount:ns:sa\n"), [])
        XCTAssertEqual(try diagnostics(K8sCanI.self, "verb: get\nresource: secrets\nas: \"${{ vars.who }}\"\n"), [])
        let d = try diagnostics(K8sCanI.self, "verb: get\nresource: secrets\nas: system:serviceaccount:sa\n")
        XCTAssertEqual(d, ["t.yaml:3:5: k8s.can_i: as 'system:serviceaccount:sa' must be written system:serviceaccount:NAMESPACE:NAME"])
    }

    func testWaitFieldNeedsEqualsOrNotEqualsButNotBoth() throws {
        let base = "apiVersion: v1\nkind: ConfigMap\nname: x\nfield: data.a\n"
        XCTAssertEqual(try diagnostics(K8sWait.self, base + "equals: b\n"), [])
        XCTAssertEqual(try diagnostics(K8sWait.self, base + "not_equals: b\n"), [])
        XCTAssertEqual(try diagnostics(K8sWait.self, base), ["t.yaml:1:1: k8s.wait with field needs equals or not_equals (one of them)"])
        XCTAssertEqual(try diagnostics(K8sWait.self, base + "equals: b\nnot_equals: c\n"),
                       ["t.yaml:1:1: k8s.wait with field needs equals or not_equals (one of them)"])
    }
}
