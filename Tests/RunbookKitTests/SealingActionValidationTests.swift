import Foundation
@testable import RunbookKit
import XCTest

/// The static checks of `secret.seal`, `file.write` and the whole-Secret form of `k8s.secret.read`.
final class SealingActionValidationTests: XCTestCase {
    func diagnostics(_ type: any Action.Type, _ yaml: String) throws -> [String] {
        let node = try XCTUnwrap(try YAMLParser.parse(yaml, file: "t.yaml").first)
        var out: [Diagnostic] = []
        type.validate(node, file: "t.yaml", into: &out)
        return out.map(\.description)
    }

    func testSecretSealNeedsACertificateSourceAndAKnownScope() throws {
        XCTAssertEqual(try diagnostics(SecretSealAction.self, "controller: {namespace: s, name: c}\nnamespace: n\nname: x\ndata: {A: b}\n"), [])
        XCTAssertEqual(try diagnostics(SecretSealAction.self, "certificate: \"${{ vars.c }}\"\ncontroller: {}\nscope: \"${{ vars.s }}\"\n"), [])
        XCTAssertEqual(try diagnostics(SecretSealAction.self, "namespace: n\n").count, 1)
        XCTAssertEqual(try diagnostics(SecretSealAction.self, "certificate: x\nscope: cluster\n"),
                       ["t.yaml:2:8: secret.seal: scope must be strict, namespace-wide or cluster-wide (got cluster)"])
    }

    func testFileWriteModeIsOctal() throws {
        XCTAssertEqual(try diagnostics(FileWriteAction.self, "path: a\ncontent: b\nmode: \"0640\"\n"), [])
        XCTAssertEqual(try diagnostics(FileWriteAction.self, "path: a\ncontent: b\nmode: \"${{ vars.m }}\"\n"), [])
        XCTAssertEqual(try diagnostics(FileWriteAction.self, "path: a\ncontent: b\nmode: rw\n"),
                       ["t.yaml:3:7: file.write: mode must be octal permission bits such as \"0644\""])
    }

    func testSecretReadTakesANameOrASelector() throws {
        XCTAssertEqual(try diagnostics(K8sSecretRead.self, "name: a\nkey: b\n"), [])
        XCTAssertEqual(try diagnostics(K8sSecretRead.self, "labelSelector: a=b\n"), [])
        XCTAssertEqual(try diagnostics(K8sSecretRead.self, "key: b\n").count, 1)
        XCTAssertEqual(try diagnostics(K8sSecretRead.self, "name: a\nlabelSelector: a=b\n").count, 1)
        XCTAssertEqual(try diagnostics(K8sSecretRead.self, "labelSelector: a=b\nkey: k\n"),
                       ["t.yaml:2:6: k8s.secret.read: key goes with name, not with labelSelector"])
    }

    func testApplyRollbackPropagation() throws {
        XCTAssertEqual(try diagnostics(K8sApply.self, "objects: []\nrollbackPropagation: Orphan\n"), [])
        XCTAssertEqual(try diagnostics(K8sApply.self, "objects: []\nrollbackPropagation: orphan\n").count, 1)
    }

    func testSecretDataDigestIsKeyedWithTheUid() {
        let a: Value = ["metadata": ["uid": "u1"], "data": ["B": "Yg==", "A": "YQ=="]]
        let reordered: Value = ["metadata": ["uid": "u1"], "data": ["A": "YQ==", "B": "Yg=="]]
        let otherUID: Value = ["metadata": ["uid": "u2"], "data": ["A": "YQ==", "B": "Yg=="]]
        let otherData: Value = ["metadata": ["uid": "u1"], "data": ["A": "YQ==", "B": "Yw=="]]
        XCTAssertEqual(K8sSecretRead.digest(of: a), K8sSecretRead.digest(of: reordered))
        XCTAssertNotEqual(K8sSecretRead.digest(of: a), K8sSecretRead.digest(of: otherUID))
        XCTAssertNotEqual(K8sSecretRead.digest(of: a), K8sSecretRead.digest(of: otherData))
        XCTAssertTrue(K8sSecretRead.digest(of: a).hasPrefix("sha256:"))
        let restorable = K8sSecretRead.restorable(["apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                                                   "metadata": ["name": "k", "namespace": "n", "uid": "u", "resourceVersion": "9",
                                                                "labels": ["l": "v"],
                                                                "annotations": ["kubectl.kubernetes.io/last-applied-configuration": "{}"]],
                                                   "data": ["tls.key": "eA=="]])
        XCTAssertEqual(restorable, ["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "k", "namespace": "n", "labels": ["l": "v"]],
                                    "type": "kubernetes.io/tls", "data": ["tls.key": "eA=="]])
    }
}
