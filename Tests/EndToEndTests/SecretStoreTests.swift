import Foundation
import RunbookKit
import TestSupport
import XCTest

/// `secret.put` / `secret.get` through the built binary against the sandbox's GCP emulator and
/// moto (SSM, Secrets Manager), checked directly with curl and the aws CLI.
final class SecretStoreTests: SandboxTestCase {
    override class var fixtures: [String] { ["calibrate-irt", "eso-aws"] }
    var work: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        work = try ScratchDirectory.make("stores-e2e")
    }

    override func tearDown() { ScratchDirectory.remove(work) }

    // MARK: the three providers, read directly

    enum Provider: String, CaseIterable { case gcp, ssm = "aws-ssm", sm = "aws-secretsmanager" }

    func store(_ p: Provider) -> String {
        switch p {
        case .gcp: return "{provider: gcp, project: univprepai}"
        case .ssm, .sm: return "{provider: \(p.rawValue), region: \(sb.env["AWS_REGION"]!)}"
        }
    }

    func uniqueName(_ p: Provider) -> String {
        let id = UUID().uuidString.prefix(8).lowercased()
        return p == .ssm ? "/e2e/secret-\(id)" : "e2e-secret-\(id)"
    }

    /// What a plain read of `name` returns, asked of the service itself (nil: no such secret).
    func directRead(_ p: Provider, _ name: String) throws -> String? {
        switch p {
        case .gcp:
            let base = sb.env["CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER"]!
            let r = try Sandbox.run("/usr/bin/curl", ["-s", "-w", "\n%{http_code}", "-H",
                                                      "Authorization: Bearer \(sb.env["CLOUDSDK_AUTH_ACCESS_TOKEN"]!)",
                                                      "\(base)v1/projects/univprepai/secrets/\(name)/versions/latest:access"])
            let lines = r.stdout.split(separator: "\n")
            if lines.last == "404" { return nil }
            XCTAssertEqual(lines.last, "200", r.stdout)
            let body = try Value.parseJSON(String(lines.dropLast().joined(separator: "\n")))
            return body["payload"]?["data"]?.stringValue.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
        case .ssm:
            let r = try aws(["ssm", "get-parameter", "--name", name, "--with-decryption"])
            if r.stderr.contains("ParameterNotFound") { return nil }
            XCTAssertEqual(r.status, 0, r.stderr)
            return try Value.parseJSON(r.stdout)["Parameter"]?["Value"]?.stringValue
        case .sm:
            let r = try aws(["secretsmanager", "get-secret-value", "--secret-id", name, "--version-stage", "AWSCURRENT"])
            if r.stderr.contains("ResourceNotFoundException") { return nil }
            XCTAssertEqual(r.status, 0, r.stderr)
            return try Value.parseJSON(r.stdout)["SecretString"]?.stringValue
        }
    }

    /// How many versions the service holds for `name`.
    func versionCount(_ p: Provider, _ name: String) throws -> Int {
        switch p {
        case .gcp:
            let base = sb.env["CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER"]!
            let r = try Sandbox.run("/usr/bin/curl", ["-s", "-H", "Authorization: Bearer \(sb.env["CLOUDSDK_AUTH_ACCESS_TOKEN"]!)",
                                                      "\(base)v1/projects/univprepai/secrets/\(name)/versions"])
            return try Value.parseJSON(r.stdout)["versions"]?.arrayValue?.count ?? 0
        case .ssm:
            let r = try aws(["ssm", "get-parameter-history", "--name", name])
            return try Value.parseJSON(r.stdout)["Parameters"]?.arrayValue?.count ?? 0
        case .sm:
            let r = try aws(["secretsmanager", "list-secret-version-ids", "--secret-id", name])
            return try Value.parseJSON(r.stdout)["Versions"]?.arrayValue?.count ?? 0
        }
    }

    func directCreate(_ p: Provider, _ name: String, _ value: String) throws {
        switch p {
        case .gcp:
            let base = sb.env["CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER"]!
            let auth = "Authorization: Bearer \(sb.env["CLOUDSDK_AUTH_ACCESS_TOKEN"]!)"
            _ = try Sandbox.run("/usr/bin/curl", ["-sf", "-X", "POST", "-H", auth, "-H", "Content-Type: application/json", "-d",
                                                  #"{"replication":{"automatic":{}}}"#,
                                                  "\(base)v1/projects/univprepai/secrets?secretId=\(name)"])
            let data = Data(value.utf8).base64EncodedString()
            let r = try Sandbox.run("/usr/bin/curl", ["-sf", "-X", "POST", "-H", auth, "-H", "Content-Type: application/json", "-d",
                                                      #"{"payload":{"data":"\#(data)"}}"#,
                                                      "\(base)v1/projects/univprepai/secrets/\(name):addVersion"])
            XCTAssertEqual(r.status, 0, r.stderr)
        case .ssm:
            XCTAssertEqual(try aws(["ssm", "put-parameter", "--name", name, "--type", "SecureString", "--value", value]).status, 0)
        case .sm:
            XCTAssertEqual(try aws(["secretsmanager", "create-secret", "--name", name, "--secret-string", value]).status, 0)
        }
    }

    func aws(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in sb.env { env[k] = v }
        env["AWS_DEFAULT_REGION"] = sb.env["AWS_REGION"]
        return try Sandbox.run("/usr/bin/env", ["aws", "--endpoint-url", sb.env["AWS_ENDPOINT_URL"]!, "--output", "json"] + args,
                               environment: env)
    }

    // MARK: runbooks

    /// Writes a runbook that puts `value` into `name`, optionally followed by a failing step.
    func putRunbook(_ rb: String, _ p: Provider, _ name: String, fail: Bool = false) -> String {
        var text = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: \(rb), description: secret store e2e}
        vars:
          value: {required: true, secret: true}
        steps:
          - id: put
            action: secret.put
            with:
              store: \(store(p))
              name: "\(name)"
              value: "${{ vars.value }}"
          - id: get
            action: secret.get
            with: {store: \(store(p)), name: "\(name)"}
          - id: check
            action: assert
            with: {equals: ["${{ steps.get.outputs.value }}", "${{ vars.value }}"]}

        """
        if fail {
            text += """
              - id: boom
                action: exec
                with: {command: ["false"]}

            """
        }
        let url = work.appendingPathComponent("\(rb).yaml")
        try! text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func cli(_ args: [String], env: [String: String] = [:]) throws -> RunbookCLI.Result {
        var e = sb.env
        for (k, v) in env { e[k] = v }
        let state = work.appendingPathComponent("state").path
        // a plan records nothing, so it takes no --state-dir
        return try RunbookCLI.run(args + (args.first == "plan" ? [] : ["--state-dir", state]), env: e, cwd: work)
    }

    // MARK: tests

    func testPutCreateUnchangedAddVersionPreviewAndRollbackOnEveryProvider() throws {
        for p in Provider.allCases {
            let name = uniqueName(p)
            let rb = putRunbook("put-\(p)", p, name)
            let first = "first-\(UUID().uuidString.prefix(6))", second = "second-\(UUID().uuidString.prefix(6))"

            // create
            var r = try cli(["run", rb, "--yes", "--var", "value=\(first)"])
            XCTAssertEqual(r.exitCode, 0, "\(p): \(r.output)")
            XCTAssertTrue(r.output.contains("created"), "\(p): \(r.output)")
            XCTAssertFalse(r.output.contains(first), "\(p): the value was printed")
            XCTAssertEqual(try directRead(p, name), first, "\(p)")
            XCTAssertEqual(try versionCount(p, name), 1, "\(p)")

            // same value again: no new version
            r = try cli(["run", rb, "--yes", "--var", "value=\(first)"])
            XCTAssertEqual(r.exitCode, 0, "\(p): \(r.output)")
            XCTAssertTrue(r.output.contains("unchanged"), "\(p): \(r.output)")
            XCTAssertEqual(try versionCount(p, name), 1, "\(p): an unchanged put added a version")

            // preview of a change: says add version, shows no value, changes nothing
            r = try cli(["plan", rb, "--var", "value=\(second)"])
            XCTAssertTrue(r.output.contains("add version"), "\(p): \(r.output)")
            XCTAssertFalse(r.output.contains(second) || r.output.contains(first), "\(p): a value was printed: \(r.output)")
            XCTAssertEqual(try directRead(p, name), first, "\(p): the plan changed the store")
            XCTAssertEqual(try versionCount(p, name), 1, "\(p)")

            // add a version, then fail: rollback makes reads return the first value again
            let failing = putRunbook("put-fail-\(p)", p, name, fail: true)
            r = try cli(["run", failing, "--yes", "--var", "value=\(second)"])
            XCTAssertEqual(r.exitCode, 1, "\(p): \(r.output)")
            XCTAssertEqual(try directRead(p, name), first, "\(p): rollback did not restore the prior value")
            XCTAssertFalse(r.output.contains(second) || r.output.contains(first), "\(p): a value was printed: \(r.output)")
            let state = work.appendingPathComponent("state")
            let files = FileManager.default.enumerator(atPath: state.path)?.compactMap { $0 as? String } ?? []
            for f in files {
                let text = (try? String(contentsOfFile: state.path + "/" + f, encoding: .utf8)) ?? ""
                XCTAssertFalse(text.contains(first) || text.contains(second), "\(p): a value reached \(f)")
            }

            // add a version for real
            r = try cli(["run", rb, "--yes", "--var", "value=\(second)"])
            XCTAssertEqual(r.exitCode, 0, "\(p): \(r.output)")
            XCTAssertTrue(r.output.contains("added version"), "\(p): \(r.output)")
            XCTAssertEqual(try directRead(p, name), second, "\(p)")
        }
    }

    func testRollbackRemovesASecretTheStepCreated() throws {
        for p in Provider.allCases {
            let name = uniqueName(p)
            let rb = putRunbook("create-fail-\(p)", p, name, fail: true)
            let r = try cli(["run", rb, "--yes", "--var", "value=new-\(UUID().uuidString.prefix(6))"])
            XCTAssertEqual(r.exitCode, 1, "\(p): \(r.output)")
            XCTAssertNil(try directRead(p, name), "\(p): the created secret is still there after rollback")
        }
    }

    func testRollbackOfASecretThatExistedBeforeTheRun() throws {
        for p in Provider.allCases {
            let name = uniqueName(p)
            try directCreate(p, name, "made-outside-1")
            let rb = putRunbook("outside-\(p)", p, name, fail: true)
            let r = try cli(["run", rb, "--yes", "--var", "value=from-runbook-2"])
            XCTAssertEqual(r.exitCode, 1, "\(p): \(r.output)")
            XCTAssertEqual(try directRead(p, name), "made-outside-1", "\(p)")
        }
    }

    func testGetReadsAVersionAndTheFixtureValue() throws {
        let text = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: get-fixture, description: read fixture secrets}
        steps:
          - id: gcp
            action: secret.get
            with: {store: \(store(.gcp)), name: sandbox-probe, version: "1"}
          - id: gcp-check
            action: assert
            with: {equals: ["${{ steps.gcp.outputs.value }}", probe-value]}
          - id: ssm
            action: secret.get
            with: {store: \(store(.ssm)), name: /ecoeco/prod/openai-api-key}
          - id: ssm-check
            action: assert
            with: {equals: ["${{ steps.ssm.outputs.version }}", "1"]}
          - id: sm
            action: secret.get
            with: {store: \(store(.sm)), name: ecoeco/prod/chat-api}
          - id: sm-check
            action: assert
            with: {that: "${{ steps.sm.outputs.value }}"}
        """
        try text.write(to: work.appendingPathComponent("get-fixture.yaml"), atomically: true, encoding: .utf8)
        let r = try cli(["run", work.appendingPathComponent("get-fixture.yaml").path, "--yes"])
        XCTAssertEqual(r.exitCode, 0, r.output)
        XCTAssertFalse(r.output.contains("probe-value") || r.output.contains("sk-sandbox-openai"), r.output)
    }

    func testWrongCredentialsGiveAClearErrorAndChangeNothing() throws {
        let name = uniqueName(.gcp)
        let rb = putRunbook("denied", .gcp, name)
        var r = try cli(["run", rb, "--yes", "--var", "value=whatever-1"], env: ["CLOUDSDK_AUTH_ACCESS_TOKEN": "sandbox-denied-token"])
        XCTAssertNotEqual(r.exitCode, 0, r.output)
        XCTAssertTrue(r.output.contains("permission denied") && r.output.contains("PERMISSION_DENIED"), r.output)
        XCTAssertNil(try directRead(.gcp, name))

        let ssm = putRunbook("no-aws-creds", .ssm, uniqueName(.ssm))
        r = try cli(["run", ssm, "--yes", "--var", "value=whatever-2"],
                    env: ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "nobody",
                          "AWS_SHARED_CREDENTIALS_FILE": work.appendingPathComponent("none").path,
                          "AWS_CONFIG_FILE": work.appendingPathComponent("none").path])
        XCTAssertNotEqual(r.exitCode, 0, r.output)
        XCTAssertTrue(r.output.contains("no AWS credentials"), r.output)
    }

    func testCredentialsFromAWSProfileFile() throws {
        let creds = work.appendingPathComponent("credentials")
        try "[ops]\naws_access_key_id = \(sb.env["AWS_ACCESS_KEY_ID"]!)\naws_secret_access_key = \(sb.env["AWS_SECRET_ACCESS_KEY"]!)\n"
            .write(to: creds, atomically: true, encoding: .utf8)
        let name = uniqueName(.ssm)
        let rb = putRunbook("profile", .ssm, name)
        let r = try cli(["run", rb, "--yes", "--var", "value=via-profile-1"],
                        env: ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "ops",
                              "AWS_SHARED_CREDENTIALS_FILE": creds.path])
        XCTAssertEqual(r.exitCode, 0, r.output)
        XCTAssertEqual(try directRead(.ssm, name), "via-profile-1")
    }

    func testNamesTheProviderWouldRejectAreValidationErrors() throws {
        let text = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: bad-names, description: names}
        steps:
          - id: gcp
            action: secret.put
            with:
              store: {provider: gcp, project: univprepai}
              name: seedtest/database-url
              value: x
          - id: ssm
            action: secret.put
            with: {store: {provider: aws-ssm, region: eu-west-1}, name: "no/leading/slash", value: x}
          - id: other
            action: secret.get
            with: {store: {provider: vault}, name: x}
        """
        let file = work.appendingPathComponent("bad-names.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let r = try RunbookCLI.run(["validate", file.path], env: sb.env, cwd: work)
        XCTAssertEqual(r.exitCode, 2, r.output)
        XCTAssertTrue(r.output.contains("bad-names.yaml:9:13:") && r.output.contains("not a valid GCP secret id"), r.output)
        XCTAssertTrue(r.output.contains("bad-names.yaml:13:65:") && r.output.contains("fully qualified"), r.output)
        XCTAssertTrue(r.output.contains("bad-names.yaml:16:30:") && r.output.contains("unknown secret store provider 'vault'"), r.output)
    }

    /// kill -9 right after the put, then resume (no second version) and roll back (secret gone).
    func testKillNineAfterPutThenResumeAndRollback() throws {
        let name = uniqueName(.gcp)
        let text = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: killed, description: kill after put}
        steps:
          - id: put
            action: secret.put
            with: {store: \(store(.gcp)), name: \(name), value: killed-value-1}
          - id: wait
            action: exec
            with: {command: ["sleep", "3"]}
        """
        let file = work.appendingPathComponent("killed.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        var e = sb.env
        e["NO_COLOR"] = "1"
        let running = try RunbookCLI.start(["run", file.path, "--yes", "--state-dir", work.appendingPathComponent("state").path],
                                           env: e, cwd: work)
        let deadline = Date().addingTimeInterval(30)
        while (try? directRead(.gcp, name)) ?? nil == nil, Date() < deadline { usleep(100_000) }
        running.kill9()
        _ = running.wait(timeout: 10)
        let out = running.result().output
        XCTAssertEqual(try versionCount(.gcp, name), 1, out)
        let runs = try FileManager.default.contentsOfDirectory(atPath: work.appendingPathComponent("state/runs").path)
        let runID = try XCTUnwrap(runs.first)
        var r = try cli(["resume", runID, "--yes"])
        XCTAssertEqual(r.exitCode, 0, r.output)
        XCTAssertEqual(try versionCount(.gcp, name), 1, "resume added a second version: \(r.output)")
        XCTAssertEqual(try directRead(.gcp, name), "killed-value-1")
        r = try cli(["rollback", runID, "--yes"])
        XCTAssertEqual(r.exitCode, 0, r.output)
        XCTAssertNil(try directRead(.gcp, name), "rollback after kill -9 left the created secret: \(r.output)")
    }

    func testTransientGCPFaultsAreRetriedAndThrottlingIsReported() throws {
        let name = uniqueName(.gcp)
        let rb = putRunbook("faults", .gcp, name)
        try sb.fault(target: "gcp", count: 2, action: "503")
        var r = try cli(["run", rb, "--yes", "--var", "value=after-faults-1"])
        XCTAssertEqual(r.exitCode, 0, "two 503s were not retried: \(r.output)")
        XCTAssertEqual(try directRead(.gcp, name), "after-faults-1")

        try sb.fault(target: "gcp", count: 20, action: "429")
        r = try cli(["run", rb, "--yes", "--var", "value=after-faults-2"])
        try sb.clearFaults()
        XCTAssertEqual(r.exitCode, 1, r.output)
        XCTAssertTrue(r.output.contains("throttled") && r.output.contains("RESOURCE_EXHAUSTED"), r.output)
        XCTAssertEqual(try directRead(.gcp, name), "after-faults-1")
    }

    func testGCPTokenFromGcloudAndFromTheMetadataServer() throws {
        let token = sb.env["CLOUDSDK_AUTH_ACCESS_TOKEN"]!
        // 1. the real gcloud, configured with an access-token file (one subprocess per run)
        let tokenFile = work.appendingPathComponent("token")
        try token.write(to: tokenFile, atomically: true, encoding: .utf8)
        let name1 = uniqueName(.gcp)
        var r = try cli(["run", putRunbook("via-gcloud", .gcp, name1), "--yes", "--var", "value=via-gcloud-1"],
                        env: ["CLOUDSDK_AUTH_ACCESS_TOKEN": "", "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE": tokenFile.path,
                              "CLOUDSDK_CONFIG": work.appendingPathComponent("gcloud").path])
        XCTAssertEqual(r.exitCode, 0, r.output)
        XCTAssertEqual(try directRead(.gcp, name1), "via-gcloud-1")

        // 2. no gcloud on PATH: the metadata server (GCE_METADATA_HOST), asked with Metadata-Flavor: Google
        let server = """
        import http.server, json, sys
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                ok = self.path == "/computeMetadata/v1/instance/service-accounts/default/token" and self.headers.get("Metadata-Flavor") == "Google"
                body = json.dumps({"access_token": sys.argv[1], "expires_in": 3599, "token_type": "Bearer"}).encode() if ok else b"{}"
                self.send_response(200 if ok else 403); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
            def log_message(self, *a): pass
        s = http.server.HTTPServer(("127.0.0.1", 0), H)
        print(s.server_address[1], flush=True)
        s.serve_forever()
        """
        let script = work.appendingPathComponent("metadata.py")
        try server.write(to: script, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script.path, token]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        defer { p.terminate(); p.waitUntilExit() }
        let port = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(port.isEmpty)
        let emptyBin = work.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: emptyBin, withIntermediateDirectories: true)
        let name2 = uniqueName(.gcp)
        r = try cli(["run", putRunbook("via-metadata", .gcp, name2), "--yes", "--var", "value=via-metadata-1"],
                    env: ["CLOUDSDK_AUTH_ACCESS_TOKEN": "", "PATH": emptyBin.path, "GCE_METADATA_HOST": "127.0.0.1:\(port)"])
        XCTAssertEqual(r.exitCode, 0, r.output)
        XCTAssertEqual(try directRead(.gcp, name2), "via-metadata-1")

        // 3. none of them: a clear error naming what was tried
        r = try cli(["run", putRunbook("no-token", .gcp, uniqueName(.gcp)), "--yes", "--var", "value=x-1234"],
                    env: ["CLOUDSDK_AUTH_ACCESS_TOKEN": "", "PATH": emptyBin.path, "GCE_METADATA_HOST": "127.0.0.1:1"])
        XCTAssertNotEqual(r.exitCode, 0, r.output)
        XCTAssertTrue(r.output.contains("no GCP access token") && r.output.contains("gcloud is not on PATH"), r.output)
    }

    /// kill -9 while addVersion is in flight (the emulator completes it after the process died,
    /// so the store changed but no checkpoint says so): resume adds no duplicate, rollback
    /// restores the prior value from the write-ahead journal alone.
    func testKillNineDuringTheAPICallUsesTheWriteAheadJournal() throws {
        let name = uniqueName(.gcp)
        try directCreate(.gcp, name, "orig-value-1")
        let rb = putRunbook("inflight", .gcp, name)
        try sb.fault(target: "gcp", method: "POST", path: ":addVersion$", count: 1, action: "slow", delay: 3)
        var e = sb.env
        e["NO_COLOR"] = "1"
        let state = work.appendingPathComponent("state")
        let running = try RunbookCLI.start(["run", rb, "--yes", "--var", "value=new-value-2", "--state-dir", state.path],
                                           env: e, cwd: work)
        let deadline = Date().addingTimeInterval(60)
        var runID: String?
        while Date() < deadline, runID == nil {
            for id in (try? FileManager.default.contentsOfDirectory(atPath: state.appendingPathComponent("runs").path)) ?? [] {
                // The write-ahead record is in the checkpoint journal until state.json is compacted.
                let text = ["state.json", "journal.jsonl"].map {
                    (try? String(contentsOf: state.appendingPathComponent("runs/\(id)/\($0)"), encoding: .utf8)) ?? ""
                }.joined()
                if text.contains("previousVersion") { runID = id }
            }
            if runID == nil { usleep(20_000) }
        }
        // the request is now held inside the emulator: the slow rule fired
        XCTAssertTrue(try sb.waitForFault(path: ":addVersion$", fired: 1, timeout: 20), "addVersion never reached the emulator")
        XCTAssertEqual(try versionCount(.gcp, name), 1, "the version was added before the kill: no in-flight window")
        running.kill9()
        _ = running.wait(timeout: 10)
        let id = try XCTUnwrap(runID, "the journal was never written: \(running.result().output)")
        // the slow request completes inside the emulator after the kill
        let settle = Date().addingTimeInterval(60)
        while try versionCount(.gcp, name) < 2, Date() < settle { usleep(200_000) }
        XCTAssertEqual(try versionCount(.gcp, name), 2)
        XCTAssertEqual(try directRead(.gcp, name), "new-value-2")

        var r = try cli(["resume", id, "--yes", "--var", "value=new-value-2"])
        XCTAssertEqual(r.exitCode, 0, r.output)
        XCTAssertEqual(try versionCount(.gcp, name), 2, "resume added a duplicate version: \(r.output)")

        r = try cli(["rollback", id, "--yes", "--var", "value=new-value-2"])
        XCTAssertEqual(r.exitCode, 0, r.output)
        XCTAssertEqual(try directRead(.gcp, name), "orig-value-1", r.output)
    }

    /// A GCP secret whose latest version is disabled reads as an error; after a failed run the
    /// version the step added is disabled again, so reads fail as they did before.
    func testRollbackOverADisabledLatestVersionKeepsReadsFailing() throws {
        let name = uniqueName(.gcp)
        try directCreate(.gcp, name, "disabled-value-1")
        let base = sb.env["CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER"]!
        let auth = "Authorization: Bearer \(sb.env["CLOUDSDK_AUTH_ACCESS_TOKEN"]!)"
        let d = try Sandbox.run("/usr/bin/curl", ["-sf", "-X", "POST", "-H", auth, "-d", "{}",
                                                  "\(base)v1/projects/univprepai/secrets/\(name)/versions/1:disable"])
        XCTAssertEqual(d.status, 0, d.stderr)
        let rb = putRunbook("disabled", .gcp, name, fail: true)
        let plan = try cli(["plan", rb, "--var", "value=fresh-value-2"])
        XCTAssertTrue(plan.output.contains("latest version 1 is not readable"), plan.output)
        let r = try cli(["run", rb, "--yes", "--var", "value=fresh-value-2"])
        XCTAssertEqual(r.exitCode, 1, r.output)
        let latest = try Sandbox.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", auth,
                                                       "\(base)v1/projects/univprepai/secrets/\(name)/versions/latest:access"])
        XCTAssertEqual(latest.stdout, "400", "reads of latest should fail again (FAILED_PRECONDITION) after the rollback")
        let v2 = try Sandbox.run("/usr/bin/curl", ["-s", "-H", auth, "\(base)v1/projects/univprepai/secrets/\(name)/versions/2"])
        XCTAssertEqual(try Value.parseJSON(v2.stdout)["state"], "DISABLED", v2.stdout)
    }

    func testGetOfAMissingSecretSaysNotFoundWithTheProvidersReason() throws {
        let reasons: [Provider: String] = [.gcp: "NOT_FOUND", .ssm: "ParameterNotFound", .sm: "ResourceNotFoundException"]
        for p in Provider.allCases {
            let text = """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: missing-\(p), description: missing}
            steps:
              - id: g
                action: secret.get
                with: {store: \(store(p)), name: "\(uniqueName(p))"}
            """
            let file = work.appendingPathComponent("missing-\(p).yaml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let r = try cli(["run", file.path, "--yes"])
            XCTAssertEqual(r.exitCode, 1, "\(p): \(r.output)")
            XCTAssertTrue(r.output.contains("was not found") && r.output.contains(reasons[p]!), "\(p): \(r.output)")
        }
    }

    func testOptionalGetOfAMissingSecretIsNotFound() throws {
        for p in Provider.allCases {
            let text = """
            apiVersion: runbook/v1
            kind: Runbook
            metadata: {name: optional-\(p), description: optional read}
            steps:
              - id: g
                action: secret.get
                with: {store: \(store(p)), name: "\(uniqueName(p))", optional: true}
              - id: check
                action: assert
                with: {that: "${{ !steps.g.outputs.found && steps.g.outputs.value == '' }}"}
            """
            let file = work.appendingPathComponent("optional-\(p).yaml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let r = try cli(["run", file.path, "--yes"])
            XCTAssertEqual(r.exitCode, 0, "\(p): \(r.output)")
        }
    }
}
