import Foundation
import XCTest

/// What "every Secret reference moved" means for one CronJob of the fixture, checked against the
/// CronJob as the fixture made it.
extension FanoutTests {
    nonisolated(unsafe) static var initialCronJobs: [String: [String: Any]] = [:]
    nonisolated(unsafe) static var fixtureSecretValues: [String] = []

    /// Notes the fixture's CronJobs and every value of its hand-made Secrets (`noteFixture`).
    static func noteReferences(_ sb: MigrationHarness) throws {
        for key in cronjobs + ["reports-00/legacy-export"] {
            let p = key.split(separator: "/").map(String.init)
            initialCronJobs[key] = try sb.object("cronjob", p[1], namespace: p[0])
        }
        for ns in namespaces {
            for s in try sb.objects("secrets", namespace: ns) {
                for case let b64 as String in (s["data"] as? [String: Any] ?? [:]).values {
                    if let d = Data(base64Encoded: b64) { fixtureSecretValues.append(String(decoding: d, as: UTF8.self)) }
                }
            }
        }
    }

    /// The CronJob's pod spec, changed by `body` for each container and init container.
    static func mapContainers(_ cj: [String: Any], _ body: (inout [String: Any]) throws -> Void) rethrows -> [String: Any] {
        var cj = cj
        var spec = cj["spec"] as? [String: Any] ?? [:]
        var jt = spec["jobTemplate"] as? [String: Any] ?? [:]
        var jts = jt["spec"] as? [String: Any] ?? [:]
        var tpl = jts["template"] as? [String: Any] ?? [:]
        var pod = tpl["spec"] as? [String: Any] ?? [:]
        for list in ["initContainers", "containers"] {
            guard var cs = pod[list] as? [[String: Any]] else { continue }
            for i in cs.indices { try body(&cs[i]) }
            pod[list] = cs
        }
        tpl["spec"] = pod
        jts["template"] = tpl
        jt["spec"] = jts
        spec["jobTemplate"] = jt
        cj["spec"] = spec
        return cj
    }

    /// Every env reference of the CronJob `key` to an existing Secret now reads the Secret made by
    /// External Secrets (`<cronjob>-eso`, key `<container>.<env>`) holding the same value, Secret
    /// Manager holds every value, an optional reference to a missing Secret is left alone, and
    /// nothing else of the CronJob changed (the whole object is compared).
    func assertEveryReferenceMoved(_ sb: MigrationHarness, _ key: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let p = key.split(separator: "/").map(String.init)
        let (ns, name) = (p[0], p[1])
        let before = try XCTUnwrap(Self.initialCronJobs[key], file: file, line: line)
        let live = try XCTUnwrap(sb.object("cronjob", name, namespace: ns), file: file, line: line)
        let stored = try sb.gcpLatest(project: Self.project, secret: "\(ns)--\(name)") ?? ""
        let blob = (try? JSONSerialization.jsonObject(with: Data(stored.utf8))) as? [String: [String: String]] ?? [:]
        var moved = 0
        let expected = try Self.mapContainers(before) { c in
            guard var env = c["env"] as? [[String: Any]] else { return }
            for i in env.indices {
                guard var from = env[i]["valueFrom"] as? [String: Any], let ref = from["secretKeyRef"] as? [String: Any],
                      let secret = ref["name"] as? String, let k = ref["key"] as? String else { continue }
                guard let value = try sb.secretValue(secret, key: k, namespace: ns) else {
                    XCTAssertEqual(ref["optional"] as? Bool, true, "\(key): \(secret) is missing", file: file, line: line)
                    continue
                }
                let target = "\(c["name"] as? String ?? "").\(env[i]["name"] as? String ?? "")"
                XCTAssertTrue(try sb.secretValue("\(name)-eso", key: target, namespace: ns) == value,
                              "\(key): \(name)-eso key \(target) does not hold the value of \(secret)/\(k)", file: file, line: line)
                XCTAssertTrue(blob[secret]?[k] == value, "\(key): Secret Manager lacks the value of \(secret)/\(k)", file: file, line: line)
                from["secretKeyRef"] = ["name": "\(name)-eso", "key": target]
                env[i]["valueFrom"] = from
                moved += 1
            }
            c["env"] = env
        }
        XCTAssertGreaterThan(moved, 0, key, file: file, line: line)
        XCTAssertEqual(MigrationHarness.canonical(MigrationHarness.normalized(live)), MigrationHarness.canonical(MigrationHarness.normalized(expected)),
                       "\(key): the CronJob differs from the fixture's with every reference moved", file: file, line: line)
    }
}

extension FanoutTests {
    func testPlanPreviewsEveryReferenceAndChangesNothing() throws {
        let out = try sb.runbook(["plan", "migrate-cronjobs-to-eso", "--output", "json"])
        XCTAssertEqual(out.status, 0, out.text)
        let events = Self.events(out)
        let items = events.filter { $0["event"] as? String == "item.finished" }
        XCTAssertEqual(items.compactMap { $0["status"] as? String }, Array(repeating: "would run", count: 4), out.stdout)
        // The canary's patch preview repoints all four references that have a value, the init container's too.
        let patch = events.first { $0["event"] as? String == "step.planned" && $0["step"] as? String == "patch" && $0["item"] as? Int == 0 }
        let diff = (patch?["diff"] as? String ?? "").split(separator: "\n").filter { $0.hasPrefix("+ ") }
        let prefix = "+ spec.jobTemplate.spec.template.spec."
        XCTAssertEqual(Set(diff.filter { $0.contains("secretKeyRef.key") }), Set([
            prefix + "initContainers[0].env[0].valueFrom.secretKeyRef.key: \"migrate.DATABASE_URL\"",
            prefix + "containers[0].env[0].valueFrom.secretKeyRef.key: \"report.DATABASE_URL\"",
            prefix + "containers[0].env[2].valueFrom.secretKeyRef.key: \"report.API_TOKEN\"",
            prefix + "containers[1].env[1].valueFrom.secretKeyRef.key: \"uploader.UPLOAD_TOKEN\"",
        ].map { Substring($0) }), "the optional reference without a Secret (env[3]) is left alone: \(diff)")
        try assertWorldIsInitial(sb, "after plan")
        sb.assertNoSecretLeaks(Self.fixtureSecretValues)
    }

    func testACronJobWithEnvFromOrSecretVolumesIsRefusedWithTheReasons() throws {
        let manifest = """
            apiVersion: batch/v1
            kind: CronJob
            metadata: { name: report-envfrom, namespace: reports-01, labels: { migrate.runbook.dev/to: external-secrets } }
            spec:
              schedule: "0 3 * * *"
              jobTemplate:
                spec:
                  template:
                    spec:
                      restartPolicy: Never
                      volumes:
                        - { name: certs, secret: { secretName: report-0003-db } }
                        - { name: bundle, projected: { sources: [{ secret: { name: report-0001-db } }] } }
                      containers:
                        - name: report
                          image: registry.example.com/platform/nightly-report:1.4
                          env: [{ name: DATABASE_URL, valueFrom: { secretKeyRef: { name: report-0001-db, key: DATABASE_URL } } }]
                          envFrom: [{ secretRef: { name: report-0003-db } }]
            """
        XCTAssertEqual(try sb.kubectl(["apply", "-f", "-"], stdin: manifest).status, 0)
        defer { _ = try? sb.kubectl(["-n", "reports-01", "delete", "cronjob", "report-envfrom", "--ignore-not-found"]) }
        let before = try XCTUnwrap(sb.object("cronjob", "report-envfrom", namespace: "reports-01"))
        let out = try sb.runbook(["run", "migrate-cronjobs-to-eso", "--yes", "--output", "json", "--var", "namespace=reports-01",
                                  "--var", "max_failures=1"])
        XCTAssertEqual(out.status, 1, out.text)
        let failed = Self.events(out).first { $0["event"] as? String == "item.finished" && $0["status"] as? String == "failed" }
        XCTAssertEqual(failed?["item_key"] as? String, "reports-01/report-envfrom", out.stdout)
        for reason in ["container report takes all of Secret report-0003-db (envFrom)", "volume certs mounts Secret report-0003-db",
                       "volume bundle projects Secret report-0001-db"] {
            XCTAssertTrue((failed?["message"] as? String ?? "").contains(reason), "\(reason): \(failed ?? [:])")
        }
        XCTAssertEqual(MigrationHarness.canonical(MigrationHarness.normalized(try XCTUnwrap(sb.object("cronjob", "report-envfrom", namespace: "reports-01")))),
                       MigrationHarness.canonical(MigrationHarness.normalized(before)), "the refused CronJob is untouched")
        for key in Self.cronjobs where key.hasPrefix("reports-01/") { try assertEveryReferenceMoved(sb, key) }
        let id = try XCTUnwrap(sb.runID(from: out))
        let back = try sb.runbook(["rollback", id, "--yes"])
        XCTAssertEqual(back.status, 0, back.text)
        _ = try sb.kubectl(["-n", "reports-01", "delete", "cronjob", "report-envfrom"])
        try assertWorldIsInitial(sb, "after the rollback")
    }
}
