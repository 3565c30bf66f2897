import Foundation
import XCTest

/// What "every Secret reference moved" means for one CronJob of the fixture, checked against the
/// CronJob as the fixture made it.
extension FanoutTests {
    nonisolated(unsafe) static var initialCronJobs: [String: [String: Any]] = [:]
    nonisolated(unsafe) static var fixtureSecretValues: [String] = []

    /// Notes the fixture's CronJobs and every value of its hand-made Secrets (class setUp).
    static func noteFixture(_ sb: MigrationHarness) throws {
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
