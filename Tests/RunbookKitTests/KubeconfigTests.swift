import Foundation
@testable import RunbookKit
import XCTest

final class KubeconfigTests: XCTestCase {
    var dir: URL!

    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kubecfg-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    @discardableResult
    func write(_ name: String, _ text: String, mode: Int = 0o600) -> String {
        let p = dir.appendingPathComponent(name).path
        _ = FileManager.default.createFile(atPath: p, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
        return p
    }

    let first = """
    apiVersion: v1
    kind: Config
    current-context: a
    clusters:
    - name: c1
      cluster: {server: "https://one:6443/", certificate-authority: ca.pem}
    users:
    - name: u1
      user: {token: tok-one}
    contexts:
    - name: a
      context: {cluster: c1, user: u1, namespace: team-a}
    """
    let second = """
    current-context: b
    clusters:
    - name: c1
      cluster: {server: "https://ignored:1"}
    - name: c2
      cluster: {server: "https://two:6443", insecure-skip-tls-verify: true}
    users:
    - name: u2
      user: {tokenFile: ./token}
    contexts:
    - name: b
      context: {cluster: c2, user: u2}
    """

    func testKUBECONFIGListMergesFirstWins() throws {
        write("ca.pem", "CA-PEM")
        let f1 = write("one.yaml", first), f2 = write("two.yaml", second)
        let c = try KubeConnection.resolve(ClientOptions(environment: ["KUBECONFIG": "\(f1):/nonexistent:\(f2)"]))
        XCTAssertEqual(c.server, "https://one:6443")
        XCTAssertEqual(c.namespace, "team-a")
        XCTAssertEqual(c.tls.caPEM, Data("CA-PEM".utf8), "relative certificate-authority resolves against the file's directory")
        XCTAssertFalse(c.tls.insecureSkipVerify)
        guard case .token("tok-one") = c.credential else { return XCTFail("\(c.credential)") }
    }

    func testContextFlagPicksLaterFileContextAndDefaultNamespace() throws {
        let f1 = write("one.yaml", first), f2 = write("two.yaml", second)
        let c = try KubeConnection.resolve(ClientOptions(context: "b", environment: ["KUBECONFIG": "\(f1):\(f2)"]))
        XCTAssertEqual(c.server, "https://two:6443")
        XCTAssertEqual(c.namespace, "default")
        XCTAssertTrue(c.tls.insecureSkipVerify, "only because the kubeconfig says so")
        guard case .tokenFile(let p) = c.credential else { return XCTFail("\(c.credential)") }
        XCTAssertEqual(p, dir.path + "/./token")
    }

    func testKubeconfigFlagBeatsEnvironmentAndUnknownContextIsClear() throws {
        let f1 = write("one.yaml", first), f2 = write("two.yaml", second)
        let c = try KubeConnection.resolve(ClientOptions(kubeconfig: f2, environment: ["KUBECONFIG": f1]))
        XCTAssertEqual(c.server, "https://two:6443")
        XCTAssertThrowsError(try KubeConnection.resolve(ClientOptions(kubeconfig: f1, context: "nope", environment: [:]))) { e in
            XCTAssertTrue("\(e.localizedDescription)".contains("context \"nope\" not found"), e.localizedDescription)
        }
    }

    func testHomeConfigThenInCluster() throws {
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(".kube"), withIntermediateDirectories: true)
        write(".kube/config", first)
        write(".kube/ca.pem", "CA")
        XCTAssertEqual(try KubeConnection.resolve(ClientOptions(environment: ["HOME": dir.path])).server, "https://one:6443")
        let sa = dir.appendingPathComponent("sa")
        try FileManager.default.createDirectory(at: sa, withIntermediateDirectories: true)
        write("sa/token", "sa-token\n")
        write("sa/namespace", "payments")
        write("sa/ca.crt", "SA-CA")
        let env = ["HOME": "/nonexistent", "KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"]
        let c = try KubeConnection.resolve(ClientOptions(environment: env), serviceAccountDir: sa.path)
        XCTAssertEqual(c.server, "https://10.0.0.1:443")
        XCTAssertEqual(c.namespace, "payments")
        XCTAssertEqual(c.tls.caPEM, Data("SA-CA".utf8))
        XCTAssertThrowsError(try KubeConnection.resolve(ClientOptions(environment: ["HOME": "/nonexistent"])))
    }

    func testExecPluginCredentialIsCachedUntilExpiry() throws {
        let counter = dir.appendingPathComponent("count").path
        let plugin = write("plugin.sh", """
        #!/bin/sh
        echo x >> \(counter)
        case "$KUBERNETES_EXEC_INFO" in *client.authentication.k8s.io/v1*) ;; *) exit 3;; esac
        echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"'$TOKEN_PREFIX'-1","expirationTimestamp":"'$EXP'"}}'
        """, mode: 0o700)
        let cfg = Kubeconfig.ExecConfig(command: plugin, args: [], env: ["TOKEN_PREFIX": "from-plugin", "EXP": "2999-01-01T00:00:00Z"],
                                        apiVersion: "client.authentication.k8s.io/v1")
        let p = ExecCredentialProvider(config: cfg, server: "https://x", caPEM: nil, environment: [:])
        XCTAssertEqual(try p.credential().token, "from-plugin-1")
        XCTAssertEqual(try p.credential().token, "from-plugin-1")
        XCTAssertEqual(try String(contentsOfFile: counter, encoding: .utf8).split(separator: "\n").count, 1, "cached")
        let expired = ExecCredentialProvider(config: { var c = cfg; c.env["EXP"] = "2000-01-01T00:00:00Z"; return c }(),
                                             server: "https://x", caPEM: nil, environment: [:])
        _ = try expired.credential()
        _ = try expired.credential()
        XCTAssertEqual(try String(contentsOfFile: counter, encoding: .utf8).split(separator: "\n").count, 3, "expired: run again")
    }

    func testCertificateWithoutKeyIsAnError() throws {
        let f = write("c.yaml", """
        current-context: x
        clusters: [{name: c, cluster: {server: "https://h"}}]
        users: [{name: u, user: {client-certificate-data: "QUJD"}}]
        contexts: [{name: x, context: {cluster: c, user: u}}]
        """)
        XCTAssertThrowsError(try KubeConnection.resolve(ClientOptions(kubeconfig: f, environment: [:])))
    }
}
