import Foundation
@testable import RunbookKit
import XCTest

/// What `runbook rbac` derives before the run that a least-privilege run found missing: the
/// holder Secrets of prior states that hold a secret of the run (any object, decided at run time),
/// and the kind and name of an object applied from an earlier step's output (a SealedSecret).
final class PermissionPlanningTests: XCTestCase {
    /// Stands for `k8s.apply` without discovery: `patch` on the resource of `with.objects[0]`.
    struct ApplyLike: Action {
        static let spec = ActionSpec(name: "test.apply", required: ["objects"], mutating: true, dryRun: .preview)
        init() {}
        func preview(_ context: ActionContext) async throws -> Preview { Preview(summary: "") }
        func execute(_ context: ActionContext) async throws -> ActionResult { ActionResult() }
        static func permissions(_ c: ActionContext) async throws -> [Permission] {
            guard let o = c.with["objects"]?[0], let kind = o["kind"]?.stringValue else { return [] }
            return [Permission("patch", group: "bitnami.com", resource: kind.lowercased() + "s",
                               namespace: o.lookup("metadata.namespace")?.stringValue, name: o.lookup("metadata.name")?.stringValue)]
        }
    }

    /// Stands for `k8s.patch` without discovery: `patch` on the Deployment, and its prior-state holders.
    struct PatchLike: Action {
        static let spec = ActionSpec(name: "test.patch", required: ["name"], mutating: true, dryRun: .preview)
        init() {}
        func preview(_ context: ActionContext) async throws -> Preview { Preview(summary: "") }
        func execute(_ context: ActionContext) async throws -> ActionResult { ActionResult() }
        static func permissions(_ c: ActionContext) async throws -> [Permission] {
            [Permission("patch", group: "apps", resource: "deployments", namespace: "ns", name: c.known("name"))]
                + c.priorStatePermissions(kind: "Deployment", namespace: "ns")
        }
    }

    func node(_ yaml: String) throws -> YAMLNode { try XCTUnwrap(try YAMLParser.parse(yaml, file: "t.yaml").first) }

    func step(_ id: String, _ action: String, _ with: String) throws -> Step {
        Step(id: id, name: nil, action: action, with: try node(with), when: nil, timeout: nil, retry: nil, onFailure: nil,
             rollback: .auto, mark: Mark(line: 1, column: 1))
    }

    func runner(_ steps: [Step], vars: [VarDecl] = [], lock: LockMode? = .local, runsNamespace: String = "runs") -> Runner {
        let dir = FileManager.default.temporaryDirectory
        let runbook = Runbook(file: dir.appendingPathComponent("t.yaml"), name: "t", description: nil, vars: vars,
                              onFailure: .rollback, steps: steps, sha256: "")
        let state = RunState(runID: "t-1", runbookName: "t", runbookPath: "", sha256: "", vars: [:], secretVars: [],
                             kubeconfig: nil, context: nil, status: .running, startedAt: Date(), who: "me@host",
                             steps: steps.map { StepRecord(id: $0.id, action: $0.action) })
        var options = EngineOptions(store: StateStore(root: dir.appendingPathComponent("unused-\(UUID())")),
                                    terminal: Terminal(stdinIsTTY: false, stdoutIsTTY: false, noColor: true),
                                    clients: ClientOptions(), actions: ActionCatalog(ActionRegistry.all + [ApplyLike.self, PatchLike.self]))
        options.dryRun = true
        options.lockMode = lock
        options.runsNamespace = runsNamespace
        return Runner(runbook: runbook, state: state, vars: [:], options: options, masker: Masker(), reporter: JSONReporter(masker: Masker()))
    }

    func testPriorStateHoldersAreNeededForAnyObjectOnceTheRunMayHoldASecret() async throws {
        let patch = try step("p", "k8s.patch", "{apiVersion: apps/v1, kind: Deployment, namespace: ns, name: db}")
        var ctx = await runner([patch]).context(for: patch, with: .object(Object()), journal: nil, slot: nil)
        let holders = ["create", "get", "delete"].map { Permission($0, group: "", resource: "secrets", namespace: "ns", name: nil) }
        ctx.runMayHoldSecrets = false
        XCTAssertEqual(ctx.priorStatePermissions(kind: "Deployment", namespace: "ns"), [])
        XCTAssertEqual(ctx.priorStatePermissions(kind: "Secret", namespace: "ns"), holders)
        // a Deployment whose env holds a value equal to a secret the run read is kept in a holder Secret
        ctx.runMayHoldSecrets = true
        XCTAssertEqual(ctx.priorStatePermissions(kind: "Deployment", namespace: "ns"), holders)
    }

    /// With the cluster lock the holders live in the runs namespace (beside the Lease and the run
    /// records, which need create and get there already): the run gets no Secret rights in the
    /// object's namespace for them, only `delete` is added in the runs namespace. With the local
    /// lock (no cluster records) they stay beside the object.
    func testWithTheClusterLockPriorStateHoldersLiveInTheRunsNamespace() async throws {
        let patch = try step("p", "test.patch", "{name: db}")
        let secretVar = VarDecl(name: "pw", kind: .string, defaultValue: nil, required: true, secret: true, description: nil,
                                mark: Mark(line: 1, column: 1))
        do {
            let r = runner([patch], vars: [secretVar], lock: .cluster, runsNamespace: "runs")
            let ctx = await r.context(for: patch, with: .object(Object()), journal: nil, slot: nil)
            XCTAssertEqual(ctx.priorStateNamespace, "runs")
            XCTAssertEqual(ctx.priorStatePermissions(kind: "Secret", namespace: "ns"),
                           ["create", "get", "delete"].map { Permission($0, group: "", resource: "secrets", namespace: "runs", name: nil) })
            let team = Runner.teamPermissions(runbook: "t", namespace: "runs")
            let perms = try await r.requiredPermissions(lock: .cluster)
            XCTAssertEqual(perms.filter { $0.resource == "secrets" && $0.namespace != "runs" }, [], "\(perms)")
            XCTAssertEqual(Set(perms.filter { $0.resource == "secrets" }.map(\.verb)), ["create", "get", "update", "list", "delete"])
            // beyond the team's own permissions, only delete of Secrets in the runs namespace
            XCTAssertEqual(Set(perms).subtracting(team).filter { $0.resource == "secrets" },
                           [Permission("delete", group: "", resource: "secrets", namespace: "runs", name: nil)])
        }
        let local = runner([patch], vars: [secretVar], lock: .local)
        let ctx = await local.context(for: patch, with: .object(Object()), journal: nil, slot: nil)
        XCTAssertNil(ctx.priorStateNamespace)
        let perms = try await local.requiredPermissions(lock: .local)
        XCTAssertEqual(Set(perms.filter { $0.resource == "secrets" }),
                       Set(["create", "delete", "get"].map { Permission($0, group: "", resource: "secrets", namespace: "ns", name: nil) }))
    }

    func testARunMayHoldSecretsWhenAVarOrAStepCanMakeOne() async throws {
        let patch = try step("p", "k8s.patch", "{apiVersion: apps/v1, kind: Deployment, namespace: ns, name: db}")
        let none = await runner([patch]).runMayHoldSecrets
        XCTAssertFalse(none)
        let secretVar = VarDecl(name: "pw", kind: .string, defaultValue: nil, required: true, secret: true, description: nil,
                                mark: Mark(line: 1, column: 1))
        let withVar = await runner([patch], vars: [secretVar]).runMayHoldSecrets
        XCTAssertTrue(withVar)
        for (action, with) in [("k8s.secret.read", "{namespace: ns, name: s, key: k}"),
                               ("k8s.get", "{apiVersion: v1, kind: ConfigMap, namespace: ns, name: c}"),
                               ("sql.query", "{dsn: x, query: select 1}"),
                               ("secret.put", "{store: {provider: gcp, project: p}, name: n, value: v}")] {
            let withStep = await runner([patch, try step("s", action, with)]).runMayHoldSecrets
            XCTAssertTrue(withStep, action)
        }
    }

    func testTheSealedSecretOfASealStepGetsItsPermissionsBeforeTheRun() async throws {
        let seal = try step("seal", "secret.seal", "{certificate: PEM, namespace: prod, name: creds, data: {a: b}}")
        let apply = try step("apply", "test.apply", "{objects: [\"${{ steps.seal.outputs.sealed }}\"]}")
        let ctx = await runner([seal]).context(for: seal, with: ["namespace": "prod", "name": "creds"], journal: nil, slot: nil)
        XCTAssertEqual(SecretSealAction.plannedOutputs(ctx)["sealed"]?["kind"], "SealedSecret")
        let planned = runner([seal, apply])
        let perms = try await planned.requiredPermissions(lock: .local)
        XCTAssertEqual(perms, [Permission("patch", group: "bitnami.com", resource: "sealedsecrets", namespace: "prod", name: "creds")])
        let gaps = await planned.permissionGaps
        XCTAssertEqual(gaps, [])
        // a name known only at run time plans nothing
        let unknown = await runner([seal]).context(for: seal, with: ["namespace": "prod", "name": "<unknown until run: steps.x.outputs.y>"],
                                             journal: nil, slot: nil)
        XCTAssertTrue(SecretSealAction.plannedOutputs(unknown).isEmpty)
    }

    /// `runbook rbac` grants for the Pod that runs as the ServiceAccount: a step naming no
    /// namespace (and the prior-state holders of cluster-scoped objects) works in the
    /// ServiceAccount's namespace, whatever the kubeconfig's context says.
    func testAStepWithoutANamespaceIsGrantedInTheServiceAccountsNamespace() async throws {
        let read = try step("r", "k8s.secret.read", "{name: db, key: url}")
        let perms = try await runner([read]).requiredPermissions(lock: .local, defaultNamespace: "runbook-system")
        XCTAssertEqual(perms, [Permission("get", group: "", resource: "secrets", namespace: "runbook-system", name: "db")])
        var ctx = await runner([read]).context(for: read, with: .object(Object()), journal: nil, slot: nil)
        ctx.permissionDefaultNamespace = "runbook-system"
        ctx.runMayHoldSecrets = true
        XCTAssertEqual(try ctx.priorStatePermissions(kind: "CustomResourceDefinition", namespace: ctx.permissionNamespace).map(\.namespace),
                       ["runbook-system", "runbook-system", "runbook-system"])
    }

    /// An applied object whose kind comes from an output nothing plans gets no permission, and
    /// that is said (`runbook rbac` prints it as a warning; the preflight notes it) instead of silence.
    func testAnAppliedObjectOfAKindKnownOnlyAtRunTimeIsReported() async throws {
        let apply = try step("apply", "k8s.apply", "{objects: [\"${{ steps.make.outputs.object }}\"]}")
        let r = runner([apply])
        let perms = try await r.requiredPermissions(lock: .local)
        XCTAssertEqual(perms, [])
        let gaps = await r.permissionGaps
        XCTAssertEqual(gaps.count, 1, "\(gaps)")
        XCTAssertTrue(gaps.first?.hasPrefix("apply applies an object whose kind is known only at run time (<unknown until run: steps.make.outputs.object>)") == true,
                      "\(gaps)")
    }
}
