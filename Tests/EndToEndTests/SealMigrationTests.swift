import Foundation
import TestSupport
import XCTest

/// `runbooks/seal-observer-secrets.yaml` end to end through the built binary, against one sandbox
/// (fixture observer-postgres, which runs the sandbox's SealedSecrets controller). Each test starts
/// from the fixture: the hand-made Secret observer-secrets, no SealedSecret, no manifest, no backup.
final class SealMigrationTests: MigrationTestCase {
    override class var fixtures: [String] { ["observer-postgres"] }
    /// The fixture Secret's data (base64, as stored), compared after every scenario.
    nonisolated(unsafe) static var fixtureData: [String: String] = [:]

    static let namespace = "observer-prod"
    static let project = "univprepai"
    static let backup = "sealed-secrets-key-backup"

    override class func noteFixture(_ sb: MigrationHarness) throws {
        fixtureData = (try sb.object("secret", "observer-secrets", namespace: namespace)?["data"] as? [String: String]) ?? [:]
        if fixtureData.count != 3 {
            throw MigrationHarness.HarnessError.failed("the fixture Secret observer-secrets has \(fixtureData.count) keys, not its three")
        }
    }

    var gitops: URL { sb.dir.appendingPathComponent("gitops") }
    var manifest: URL { gitops.appendingPathComponent("observer-sealed-secrets.yaml") }

    override func setUpWithError() throws {
        try super.setUpWithError()
        sb.forgetUnfinishedRuns()
        let ns = Self.namespace
        _ = try? sb.kubectl(["-n", ns, "delete", "sealedsecret", "observer-secrets", "--cascade=orphan", "--ignore-not-found"])
        _ = try? sb.kubectl(["-n", ns, "annotate", "secret", "observer-secrets", "sealedsecrets.bitnami.com/managed-"])
        _ = try? sb.gcp("v1/projects/\(Self.project)/secrets/\(Self.backup)", method: "DELETE")
        try? FileManager.default.removeItem(at: gitops)
        try? FileManager.default.createDirectory(at: gitops, withIntermediateDirectories: true)
    }

    override func tearDown() {
        if let sb { assertNothingSecretOnDisk(sb) }
        super.tearDown()
    }

    // MARK: helpers

    func run(_ sb: MigrationHarness, _ command: String = "run", _ extra: [String] = []) throws -> MigrationHarness.Output {
        try sb.runbook([command, "seal-observer-secrets", "--output", "json", "--var", "gitops_dir=\(gitops.path)"]
            + (command == "run" ? ["--yes"] : []) + extra)
    }

    /// The controller's private keys (PEM), read from the cluster.
    private func controllerKeys(_ sb: MigrationHarness) throws -> [String] {
        let out = try sb.kubectl(["-n", "sealed-secrets", "get", "secret", "-l", "sealedsecrets.bitnami.com/sealed-secrets-key=active", "-o", "json"])
        let items = ((try JSONSerialization.jsonObject(with: Data(out.stdout.utf8))) as? [String: Any])?["items"] as? [[String: Any]] ?? []
        return items.compactMap { (($0["data"] as? [String: Any])?["tls.key"] as? String).flatMap { Data(base64Encoded: $0) } }
            .map { String(decoding: $0, as: UTF8.self) }
    }

    /// The sealed manifest in the GitOps directory as JSON (nil when there is none).
    func manifestObject(_ sb: MigrationHarness) throws -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: manifest.path) else { return nil }
        let out = try MigrationHarness.exec("/usr/bin/env", ["python3", "-c", "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", manifest.path], env: sb.env)
        return (try JSONSerialization.jsonObject(with: Data(out.stdout.utf8))) as? [String: Any]
    }

    /// What the migration leaves behind, comparable across runs (ciphertexts differ by design:
    /// the manifest is shown by what it decrypts to with the controller's key, as a digest).
    func world(_ sb: MigrationHarness) throws -> String {
        let ns = Self.namespace
        var w: [String: Any] = [:]
        if var s = try sb.object("secret", "observer-secrets", namespace: ns) {
            s = MigrationHarness.normalized(s, recreated: true)
            w["secret"] = s
        }
        if let ss = try sb.object("sealedsecret", "observer-secrets", namespace: ns) {
            let spec = ss["spec"] as? [String: Any] ?? [:]
            let conds = ((ss["status"] as? [String: Any])?["conditions"] as? [[String: Any]]) ?? []
            w["sealedsecret"] = ["template": spec["template"] ?? [:], "keys": ((spec["encryptedData"] as? [String: Any]) ?? [:]).keys.sorted(),
                                 "synced": conds.first { $0["type"] as? String == "Synced" }?["status"] ?? "none"]
        }
        if let m = try manifestObject(sb) {
            var shown = m
            var spec = m["spec"] as? [String: Any] ?? [:]
            spec["encryptedData"] = try opened(sb, m).mapValues { "sha:" + MigrationHarness.digest($0) }
            shown["spec"] = spec
            w["manifest"] = shown
        }
        w["backup"] = try sb.gcpLatest(project: Self.project, secret: Self.backup).map { "sha:" + MigrationHarness.digest($0) } ?? "none"
        return MigrationHarness.canonical(w)
    }

    /// The manifest's values opened with the controller's key, as the controller would (strict label).
    func opened(_ sb: MigrationHarness, _ m: [String: Any]) throws -> [String: String] {
        let keys = try controllerKeys(sb)
        let meta = m["metadata"] as? [String: Any] ?? [:]
        let label = Array("\(meta["namespace"] as? String ?? "")/\(meta["name"] as? String ?? "")".utf8)
        var out: [String: String] = [:]
        for (k, v) in ((m["spec"] as? [String: Any])?["encryptedData"] as? [String: String]) ?? [:] {
            let sealed = try XCTUnwrap(Data(base64Encoded: v), "\(k) is not base64")
            let plain = keys.lazy.compactMap { SealedSecretOpener.open(Array(sealed), privateKeyPEM: $0, label: label) }.first
            out[k] = plain.map { Data($0).base64EncodedString() } ?? "<cannot be opened>"
        }
        return out
    }

    func assertSame(_ before: String, _ after: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        if before != after { XCTFail("\(what): differs\n\(MigrationHarness.diff(before, after))", file: file, line: line) }
    }

    /// The fixture Secret, hand-made again: same data, no owner, no managed annotation.
    func assertHandMadeWithFixtureData(_ sb: MigrationHarness, file: StaticString = #filePath, line: UInt = #line) throws {
        let s = try XCTUnwrap(try sb.object("secret", "observer-secrets", namespace: Self.namespace), file: file, line: line)
        XCTAssertEqual(s["data"] as? [String: String], Self.fixtureData, "the Secret's data is intact", file: file, line: line)
        let meta = s["metadata"] as? [String: Any] ?? [:]
        XCTAssertNil(meta["ownerReferences"], "no owner is left", file: file, line: line)
        XCTAssertEqual(meta["labels"] as? [String: String], ["app.kubernetes.io/part-of": "observer-stack"], "its labels are kept", file: file, line: line)
        XCTAssertNil((meta["annotations"] as? [String: Any])?["sealedsecrets.bitnami.com/managed"], file: file, line: line)
        XCTAssertNil(try sb.object("sealedsecret", "observer-secrets", namespace: Self.namespace), file: file, line: line)
    }

    /// No secret value or private key in any output, state file, event or written file
    /// (plain or base64; every line of the private keys' PEM counts on its own).
    private func assertNothingSecretOnDisk(_ sb: MigrationHarness, file: StaticString = #filePath, line: UInt = #line) {
        var needles: [String] = []
        if let pw = Self.fixtureData["POSTGRES_PASSWORD"], let d = Data(base64Encoded: pw) { needles.append(String(decoding: d, as: UTF8.self)) }
        for pem in (try? controllerKeys(sb)) ?? [] {
            needles.append(pem)
            needles += pem.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("-----") && $0.count >= 40 }
        }
        XCTAssertGreaterThan(needles.count, 2, "the scan has the password and the key lines", file: file, line: line)
        sb.assertNoSecretLeaks(needles, file: file, line: line)
        let forms = needles.flatMap { [$0, Data($0.utf8).base64EncodedString()] }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: gitops.path)) ?? [] {
            let url = gitops.appendingPathComponent(name)
            let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
            for n in forms where text.contains(n) {
                XCTFail("a secret (digest \(MigrationHarness.digest(n))) appears in \(url.path)", file: file, line: line)
            }
        }
    }
}
