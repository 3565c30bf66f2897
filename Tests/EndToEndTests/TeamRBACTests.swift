import Foundation
import RunbookKit
import TestSupport
import XCTest

/// Least privilege through the built binary: a ServiceAccount bound to exactly what `runbook rbac`
/// prints runs the runbook in in-cluster mode (KUBERNETES_SERVICE_HOST/_PORT and the token/CA files
/// at RUNBOOK_SERVICEACCOUNT_DIR); without any one of its rules the preflight refuses, naming it,
/// and changes nothing. `runbook job` manifests are accepted by the API server.
final class TeamRBACTests: SandboxTestCase {
    var work: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        work = try ScratchDirectory.make("rbac-e2e")
    }

    override func tearDown() { ScratchDirectory.remove(work) }

    func kubectl(_ a: [String], stdin: String? = nil) throws -> String {
        try sb.kubectlSucceeding(a, stdin: stdin)
    }

    /// A runbook reading a Secret, applying a ConfigMap, patching the CronJob and (with fail=true)
    /// failing at the end, so that everything is rolled back.
    func writeRunbook() throws -> String {
        let text = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: team-least}
        vars:
          fail: {default: false, type: bool}
        steps:
          - id: read
            action: k8s.secret.read
            with: {namespace: seedtest, name: seedtest-db-credentials, key: DATABASE_URL}
          - id: cm
            action: k8s.apply
            with: {manifest: cm.yaml}
          - id: label
            action: k8s.patch
            with:
              apiVersion: batch/v1
              kind: CronJob
              namespace: seedtest
              name: calibrate-irt-weekly
              type: merge
              patch: {metadata: {labels: {team-least: "yes"}}}
          - id: check
            action: assert
            with: {that: "${{ !vars.fail }}", message: forced failure}
        """
        try "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: team-least-cm, namespace: seedtest}\ndata: {a: \"1\"}\n"
            .write(to: work.appendingPathComponent("cm.yaml"), atomically: true, encoding: .utf8)
        let path = work.appendingPathComponent("team-least.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func runbook(_ args: [String], env: [String: String]) throws -> RunbookCLI.Result {
        // `plan` writes nothing and takes no state dir
        let state = args.first == "plan" ? [] : ["--state-dir", work.appendingPathComponent("state").path]
        return try RunbookCLI.run(args + state, env: env, cwd: work)
    }

    func testServiceAccountWithExactlyTheRbacOutputRunsInClusterAndEveryRuleIsNeeded() throws {
        let path = try writeRunbook()
        let identity = try sb.leastPrivilege(runbook: path, vars: [], work: work)
        let objects = identity.objects
        XCTAssertEqual(Set(objects.compactMap { $0["kind"]?.stringValue }), ["Namespace", "ServiceAccount", "Role", "RoleBinding"])
        XCTAssertEqual(identity.serviceAccount.namespace, "runbook-system")
        XCTAssertEqual(identity.serviceAccount.name, "runbook-team-least")
        let seedtestRole = try XCTUnwrap(objects.first { $0["kind"] == "Role" && $0.lookup("metadata.namespace") == "seedtest" })
        // named objects are granted by name (the Secret read is covered by the rule on the prior-state
        // holder Secrets, named after the run id: the run reads a secret, so a patched object may hold it)
        XCTAssertTrue(seedtestRole.jsonString().contains("\"resourceNames\":[\"calibrate-irt-weekly\"]"), seedtestRole.jsonString())
        XCTAssertTrue(seedtestRole.jsonString().contains("\"resourceNames\":[\"team-least-cm\"]"), seedtestRole.jsonString())
        let env = identity.env

        // every rule is needed: without it the preflight refuses, naming what is missing, and nothing changes
        for (ri, role) in objects.enumerated() where role["kind"] == "Role" {
            let rules = role["rules"]?.arrayValue ?? []
            for (i, rule) in rules.enumerated() {
                var cut = role
                cut["rules"] = .array(rules.enumerated().filter { $0.offset != i }.map(\.element))
                _ = try kubectl(["apply", "-f", "-"], stdin: cut.jsonString())
                let plan = try runbook(["plan", path], env: env)
                let verb = rule["verbs"]?[0]?.stringValue ?? "?"
                let resource = (rule["resources"]?[0]?.stringValue ?? "?").split(separator: "/")[0]
                let ns = role.lookup("metadata.namespace")?.stringValue ?? "?"
                XCTAssertEqual(plan.exitCode, 3, "role \(ri) rule \(i): \(plan.output)")
                XCTAssertTrue(plan.stderr.contains("lacks") && plan.stderr.contains("\(verb) \(resource)")
                    && plan.stderr.contains("in namespace \(ns)"), "role \(ri) rule \(i) (\(verb) \(resource)) not named: \(plan.output)")
                _ = try kubectl(["apply", "-f", "-"], stdin: role.jsonString())
            }
        }
        XCTAssertNil(try sb.kubectlJSON(["configmap", "team-least-cm", "-n", "seedtest"]))
        XCTAssertNil(try sb.kubectlJSON(["lease", "team-least", "-n", "runbook-system"]))

        // a forced failure rolls back with the same rights
        let failed = try runbook(["run", path, "--yes", "--var", "fail=true"], env: env)
        XCTAssertEqual(failed.exitCode, 1, failed.output)
        XCTAssertNil(try sb.kubectlJSON(["configmap", "team-least-cm", "-n", "seedtest"]))
        XCTAssertNil(try sb.kubectlJSON(["cronjob", "calibrate-irt-weekly", "-n", "seedtest"])?.lookup("metadata.labels.team-least"))

        let ok = try runbook(["run", path, "--yes"], env: env)
        XCTAssertEqual(ok.exitCode, 0, ok.output)
        XCTAssertEqual(try sb.kubectlJSON(["configmap", "team-least-cm", "-n", "seedtest"])?.lookup("data.a"), "1")
        XCTAssertEqual(try sb.kubectlJSON(["cronjob", "calibrate-irt-weekly", "-n", "seedtest"])?
            .lookup("metadata.labels")?["team-least"], "yes")
        let holder = try sb.kubectlJSON(["lease", "team-least", "-n", "runbook-system"])
        XCTAssertNotNil(holder)
        let rolled = try runbook(["rollback", try XCTUnwrap(ok.output.range(of: #"team-least-\d{8}T\d{6}-[0-9a-f]{4}"#, options: .regularExpression)
            .map { String(ok.output[$0]) }), "--yes"], env: env)
        XCTAssertEqual(rolled.exitCode, 0, rolled.output)
        XCTAssertNil(try sb.kubectlJSON(["configmap", "team-least-cm", "-n", "seedtest"]))
    }

    func testJobManifestsAreAcceptedAndKeepSecretVarsOut() throws {
        let path = try writeRunbook()
        let job = try RunbookCLI.run(["job", path, "--image", "registry.example/runbook:1", "--var", "fail=false",
                                      "--kubeconfig", sb.kubeconfig], cwd: work)
        XCTAssertEqual(job.exitCode, 0, job.output)
        let objects = try YAMLParser.parse(job.stdout, file: "job").map { $0.toValue() }.filter { !$0.isNull }
        let cm = try XCTUnwrap(objects.first { $0["kind"] == "ConfigMap" })
        XCTAssertEqual(cm.lookup("data")?["team-least.yaml"]?.stringValue, try String(contentsOfFile: path, encoding: .utf8))
        XCTAssertNotNil(cm.lookup("data")?["cm.yaml"])
        let j = try XCTUnwrap(objects.first { $0["kind"] == "Job" })
        // The ConfigMap is named after its content: the Job mounts it, and a changed runbook gets another one
        // (kubectl create would otherwise keep the old ConfigMap and run the old runbook).
        let cmName = try XCTUnwrap(cm.lookup("metadata.name")?.stringValue)
        XCTAssertTrue(cmName.hasPrefix("runbook-team-least-") && cmName.count == "runbook-team-least-".count + 10, cmName)
        XCTAssertEqual(j.lookup("spec.template.spec.volumes")?[0]?.lookup("configMap.name")?.stringValue, cmName)
        let again = try RunbookCLI.run(["job", path, "--image", "registry.example/runbook:1", "--var", "fail=false",
                                        "--kubeconfig", sb.kubeconfig], cwd: work)
        XCTAssertTrue(again.stdout.contains("name: \(cmName)"), "the same runbook gets the same ConfigMap")
        try (try String(contentsOfFile: path, encoding: .utf8) + "# changed\n").write(toFile: path, atomically: true, encoding: .utf8)
        let changed = try RunbookCLI.run(["job", path, "--image", "registry.example/runbook:1", "--var", "fail=false",
                                          "--kubeconfig", sb.kubeconfig], cwd: work)
        XCTAssertEqual(changed.exitCode, 0, changed.output)
        XCTAssertFalse(changed.stdout.contains(cmName), "a changed runbook kept the old ConfigMap's name")
        XCTAssertEqual(j.lookup("spec.template.spec.serviceAccountName"), "runbook-team-least")
        let args = j.lookup("spec.template.spec.containers")?[0]?["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
        XCTAssertEqual(Array(args.prefix(3)), ["run", "/runbook/team-least.yaml", "--yes"])
        XCTAssertTrue(args.contains("cluster") && args.contains("fail=false"), "\(args)")
        // the server validates every object (a dry-run does not create the namespace its objects go to)
        _ = try sb.kubectl(["create", "namespace", "runbook-system"])
        let stream = objects.filter { $0["kind"] != "Namespace" }.map { "---\n" + $0.yamlString() }.joined()
        let dry = try sb.kubectl(["create", "--dry-run=server", "-f", "-"], stdin: stream)
        XCTAssertEqual(dry.status, 0, dry.stderr)

        // a secret var is refused: it would land in the manifest
        try """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: team-secretjob}
        vars:
          pw: {required: true, secret: true}
        steps:
          - {id: a, action: k8s.get, with: {apiVersion: v1, kind: ConfigMap, namespace: seedtest, name: x, optional: true}}
        """.write(to: work.appendingPathComponent("team-secretjob.yaml"), atomically: true, encoding: .utf8)
        let refused = try RunbookCLI.run(["job", "team-secretjob.yaml", "--image", "x", "--var", "pw=hunter2-secret",
                                          "--kubeconfig", sb.kubeconfig], cwd: work)
        XCTAssertEqual(refused.exitCode, 2, refused.output)
        XCTAssertFalse(refused.output.contains("hunter2-secret"), refused.output)
        let withFile = try RunbookCLI.run(["job", "team-secretjob.yaml", "--image", "x", "--kubeconfig", sb.kubeconfig], cwd: work)
        XCTAssertEqual(withFile.exitCode, 0, withFile.output)
        XCTAssertTrue(withFile.stdout.contains("/vars/vars.yaml") && withFile.stdout.contains("runbook-team-secretjob-vars"), withFile.output)
    }

    /// A step applying an object whose kind only a run knows (an earlier step's output) cannot be
    /// granted: `rbac` says so on stderr (its YAML still applies), and `plan` notes it too.
    func testRbacWarnsAboutAnAppliedObjectItCannotKnow() throws {
        try """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: team-gap}
        steps:
          - {id: read, action: k8s.get, with: {apiVersion: v1, kind: ConfigMap, namespace: seedtest, name: team-gap-src, optional: true}}
          - {id: copy, action: k8s.apply, with: {objects: ["${{ steps.read.outputs.object }}"]}}
        """.write(to: work.appendingPathComponent("team-gap.yaml"), atomically: true, encoding: .utf8)
        let rbac = try RunbookCLI.run(["rbac", "team-gap.yaml", "--kubeconfig", sb.kubeconfig], cwd: work)
        XCTAssertEqual(rbac.exitCode, 0, rbac.output)
        XCTAssertTrue(rbac.stderr.contains("warning: copy applies an object whose kind is known only at run time"), rbac.output)
        XCTAssertTrue(rbac.stdout.contains("kind: ServiceAccount") && !rbac.stdout.contains("warning"), rbac.stdout)
        let plan = try RunbookCLI.run(["plan", "team-gap.yaml", "--kubeconfig", sb.kubeconfig], cwd: work)
        XCTAssertTrue(plan.stderr.contains("warning: not checked before the run: copy applies an object"), plan.output)
    }

    /// `--output json`: one `v1` `List` holding exactly the YAML's objects, which kubectl applies
    /// (the ServiceAccount then holds the rules, as `kubectl auth can-i --list` shows); errors are
    /// the JSON error event on stdout, masked.
    func testRbacAndJobPrintJSONListsThatKubectlAccepts() throws {
        let text = try String(contentsOfFile: try writeRunbook(), encoding: .utf8)
            .replacingOccurrences(of: "metadata: {name: team-least}", with: "metadata: {name: team-json}")
        let path = work.appendingPathComponent("team-json.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let common = ["--var", "fail=false", "--kubeconfig", sb.kubeconfig]

        func list(_ r: RunbookCLI.Result) throws -> [Value] {
            XCTAssertEqual(r.exitCode, 0, r.output)
            let doc = try Value.parseJSON(r.stdout)
            XCTAssertEqual(doc["apiVersion"], "v1")
            XCTAssertEqual(doc["kind"], "List")
            return try XCTUnwrap(doc["items"]?.arrayValue, r.stdout)
        }
        func yamlObjects(_ r: RunbookCLI.Result) throws -> [Value] {
            XCTAssertEqual(r.exitCode, 0, r.output)
            return try YAMLParser.parse(r.stdout, file: "out").map { $0.toValue() }.filter { !$0.isNull }
        }

        let rbacItems = try list(try RunbookCLI.run(["rbac", path, "--output", "json"] + common, cwd: work))
        XCTAssertEqual(rbacItems, try yamlObjects(try RunbookCLI.run(["rbac", path] + common, cwd: work)))
        XCTAssertEqual(rbacItems.compactMap { $0["kind"]?.stringValue }.filter { $0 == "Role" }.count, 2)

        let jobRun = try RunbookCLI.run(["job", path, "--image", "registry.example/runbook:1", "--output", "json"] + common, cwd: work)
        let jobItems = try list(jobRun)
        XCTAssertEqual(jobItems, try yamlObjects(try RunbookCLI.run(["job", path, "--image", "registry.example/runbook:1"] + common,
                                                                    cwd: work)))
        XCTAssertEqual(jobItems.last?["kind"], "Job")
        XCTAssertEqual(jobRun.stderr, "")
        // the server takes the Job's List as it is (its namespaces made first; a dry run creates nothing)
        let namespaces = jobItems.filter { $0["kind"] == "Namespace" }
        _ = try kubectl(["apply", "-f", "-"], stdin: Value.kubeList(namespaces).jsonString())
        let dry = try sb.kubectl(["create", "--dry-run=server", "-f", "-"],
                                 stdin: Value.kubeList(jobItems.filter { $0["kind"] != "Namespace" }).jsonString())
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssertNil(try sb.kubectlJSON(["configmap", "runbook-team-json", "-n", "runbook-system"]))

        // apply the rbac List for real: the ServiceAccount may change exactly the named objects, and
        // on the Secrets of the workload namespace only what its steps need (reading one Secret by
        // name), nothing for the prior-state holders (the run reads a secret that a changed object
        // may hold): they live in the runs namespace, where the run records need
        // create/get/update/list already and the holders add delete
        let applied = try RunbookCLI.run(["rbac", path, "--output", "json"] + common, cwd: work)
        _ = try kubectl(["apply", "-f", "-"], stdin: applied.stdout)
        let token = try kubectl(["-n", "runbook-system", "create", "token", "runbook-team-json"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let rows = try kubectl(["--token", token, "--context", "sandbox-viewer", "auth", "can-i", "--list", "-n", "seedtest"])
            .split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        XCTAssertTrue(rows.contains("cronjobs.batch [] [calibrate-irt-weekly] [get patch update]"), rows.joined(separator: "\n"))
        XCTAssertTrue(rows.contains("configmaps [] [team-least-cm] [delete get patch update]"), rows.joined(separator: "\n"))
        XCTAssertEqual(rows.filter { $0.hasPrefix("secrets ") }, ["secrets [] [seedtest-db-credentials] [get]"], rows.joined(separator: "\n"))
        let runsRows = try kubectl(["--token", token, "--context", "sandbox-viewer", "auth", "can-i", "--list", "-n", "runbook-system"])
            .split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        XCTAssertEqual(runsRows.filter { $0.hasPrefix("secrets ") }, ["secrets [] [] [create delete get list update]"],
                       runsRows.joined(separator: "\n"))
        XCTAssertFalse(rows.contains { $0.hasPrefix("cronjobs.batch [] [] ") || $0.hasPrefix("configmaps [] [] ") }, rows.joined(separator: "\n"))

        // errors: the JSON error event on stdout, the secret masked, nothing else printed there
        try """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: team-jsonsecret}
        vars:
          pw: {required: true, secret: true}
        steps:
          - {id: a, action: k8s.get, with: {apiVersion: v1, kind: ConfigMap, namespace: seedtest, name: x, optional: true}}
        """.write(to: work.appendingPathComponent("team-jsonsecret.yaml"), atomically: true, encoding: .utf8)
        for args in [["job", "team-jsonsecret.yaml", "--image", "x", "--var", "pw=hunter2-json-secret"],
                     ["rbac", "no-such-runbook.yaml"], ["job", "no-such-runbook.yaml", "--image", "x"]] {
            let r = try RunbookCLI.run(args + ["--output", "json", "--kubeconfig", sb.kubeconfig], cwd: work)
            XCTAssertEqual(r.exitCode, 2, r.output)
            let event = try Value.parseJSON(r.stdout)
            XCTAssertEqual(event["event"], "error", r.stdout)
            XCTAssertEqual(event["code"]?.intValue, 2, r.stdout)
            XCTAssertFalse(r.output.contains("hunter2-json-secret"), r.output)
        }
        let withFile = try RunbookCLI.run(["job", "team-jsonsecret.yaml", "--image", "x", "--output", "json",
                                           "--kubeconfig", sb.kubeconfig], cwd: work)
        XCTAssertEqual(withFile.exitCode, 0, withFile.output)
        XCTAssertEqual(try Value.parseJSON(withFile.stdout)["kind"], "List")
        XCTAssertTrue(withFile.stderr.contains("note: secret vars are read from the Secret runbook-system/runbook-team-jsonsecret-vars"),
                      withFile.stderr)
    }
}
