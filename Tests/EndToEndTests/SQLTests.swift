import Foundation
import RunbookKit
import TestSupport
import XCTest

/// `sql.query` through the built binary against the sandbox's PostgreSQL, checked with psql.
final class SQLTests: SandboxTestCase {
    var work: URL!
    var db = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        work = try ScratchDirectory.make("sql-e2e")
        db = "e2e_\(UUID().uuidString.prefix(8).lowercased())"
        _ = try psql("postgres", "CREATE DATABASE \(db)")
        _ = try psql(db, """
            CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric, active bool, meta jsonb);
            INSERT INTO items VALUES (1, 'alpha', 1.50, true, '{"tags": ["a"]}'), (2, 'beta', 2, false, null),
                                     (3, 'gamma', 10.25, true, '[]');
            """)
    }

    override func tearDown() {
        guard sb != nil, let work else { return }   // the sandbox did not start
        _ = try? psql("postgres", "DROP DATABASE IF EXISTS \(db) WITH (FORCE)")
        ScratchDirectory.remove(work)
    }

    // MARK: helpers

    /// psql as a person would use it: `-At` output, errors fail the call.
    func psql(_ database: String, _ sql: String) throws -> String {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in sb.env { env[k] = v }
        let r = try Sandbox.run("/usr/bin/env", ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql],
                                environment: env)
        guard r.status == 0 else { throw Sandbox.Failure.command("psql", r.status, r.stderr) }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    var password: String { sb.env["PGPASSWORD"]! }
    var dsnURL: String { "postgresql://\(sb.env["PGUSER"]!):\(password)@\(sb.env["PGHOST"]!):\(sb.env["PGPORT"]!)/\(db)" }

    /// A runbook whose DSN comes in as a secret var; `steps` is indented YAML.
    func runbook(_ name: String, _ steps: String) -> String {
        let text = """
        apiVersion: runbook/v1
        kind: Runbook
        metadata: {name: \(name), description: sql e2e}
        vars:
          dsn: {required: true, secret: true}
        steps:
        \(steps)
        """
        let url = work.appendingPathComponent("\(name).yaml")
        try! text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func cli(_ args: [String], dsn: String? = nil) throws -> RunbookCLI.Result {
        // PGPASSWORD is left out so that only the DSN can log in.
        var env = sb.env
        env["PGPASSWORD"] = ""
        // a plan records nothing, so it takes no --state-dir
        let state = args.first == "plan" ? [] : ["--state-dir", work.appendingPathComponent("state").path]
        return try RunbookCLI.run(args + ["--var", "dsn=\(dsn ?? dsnURL)"] + state,
                                  env: env, cwd: work)
    }

    // MARK: tests

    func testTypedRowsScalarParamsAndExpectations() throws {
        let rb = runbook("typed", """
          - id: q
            action: sql.query
            with:
              dsn: "${{ vars.dsn }}"
              query: SELECT id, name, price, active, meta FROM items WHERE id <= $1 ORDER BY id
              params: [2]
              expect:
                rows: 2
                equals:
                  - {id: 1, name: alpha, price: 1.5, active: true, meta: {tags: [a]}}
                  - {id: 2, name: beta, price: 2, active: false, meta: null}
          - id: count
            action: sql.query
            with:
              dsn: "${{ vars.dsn }}"
              query: SELECT count(*) FROM items WHERE active = $1
              params: [true]
              expect: {equals: 2, min_rows: 1, max_rows: 1}
          - id: typed
            action: assert
            with: {equals: ["${{ steps.count.outputs.scalar }}", 2]}
          - id: json-row
            action: assert
            with: {equals: ["${{ steps.q.outputs.rows }}", [{id: 1, name: alpha, price: 1.5, active: true, meta: {tags: [a]}}, {id: 2, name: beta, price: 2.0, active: false, meta: null}]]}
        """)
        let r = try cli(["run", rb, "--yes"])
        XCTAssertEqual(r.exitCode, 0, r.output)
        XCTAssertFalse(r.output.contains(password), "the password was printed")
    }

    func testFailingExpectationShowsExpectedAndActual() throws {
        let rb = runbook("expect-fails", """
          - id: q
            action: sql.query
            with:
              dsn: "${{ vars.dsn }}"
              query: SELECT name FROM items ORDER BY id
              expect: {rows: 5, equals: [[alpha], [beta]]}
        """)
        let r = try cli(["run", rb, "--yes"])
        XCTAssertEqual(r.exitCode, 1, r.output)
        XCTAssertTrue(r.output.contains("expected 5, actual 3"), r.output)
        XCTAssertTrue(r.output.contains(#"expected: [["alpha"],["beta"]]"#), r.output)
        XCTAssertTrue(r.output.contains(#"actual:   [["alpha"],["beta"],["gamma"]]"#), r.output)
    }

    func testWriteUnderReadonlyFailsAndChangesNothing() throws {
        let rb = runbook("readonly-write", """
          - id: q
            action: sql.query
            with:
              dsn: "${{ vars.dsn }}"
              query: DELETE FROM items WHERE id = 1
        """)
        let r = try cli(["run", rb, "--yes"])
        XCTAssertEqual(r.exitCode, 1, r.output)
        XCTAssertTrue(r.output.contains("read-only transaction"), r.output)
        XCTAssertEqual(try psql(db, "SELECT count(*) FROM items"), "3")
        // A second statement cannot escape the read-only transaction either.
        let sneaky = runbook("readonly-sneaky", """
          - id: q
            action: sql.query
            with:
              dsn: "${{ vars.dsn }}"
              query: "COMMIT; DELETE FROM items"
        """)
        XCTAssertEqual(try cli(["run", sneaky, "--yes"]).exitCode, 1)
        XCTAssertEqual(try psql(db, "SELECT count(*) FROM items"), "3")
    }

    func testReadWriteQueryRunsOnlyForRealAndReadonlyRunsInDryRun() throws {
        let rb = runbook("readwrite", """
          - id: before
            action: sql.query
            with: {dsn: "${{ vars.dsn }}", query: SELECT count(*) AS n FROM items, expect: {equals: 3}}
          - id: w
            action: sql.query
            with:
              dsn: "${{ vars.dsn }}"
              query: UPDATE items SET active = false WHERE id = $1
              params: [3]
              readonly: false
        """)
        let plan = try cli(["plan", rb])
        XCTAssertEqual(plan.exitCode, 0, plan.output)
        XCTAssertTrue(plan.output.contains("1 row (read-only)"), "the read-only query did not run in the dry-run: \(plan.output)")
        XCTAssertTrue(plan.output.contains("would run a read-write query"), plan.output)
        XCTAssertEqual(try psql(db, "SELECT active FROM items WHERE id = 3"), "t", "the dry-run wrote")
        let run = try cli(["run", rb, "--yes"])
        XCTAssertEqual(run.exitCode, 0, run.output)
        XCTAssertTrue(run.output.contains("1 rows affected"), run.output)
        XCTAssertEqual(try psql(db, "SELECT active FROM items WHERE id = 3"), "f")
    }

    func testConnectionErrorsNeverShowThePassword() throws {
        let rb = runbook("badlogin", """
          - id: q
            action: sql.query
            with: {dsn: "${{ vars.dsn }}", query: SELECT 1, connect_timeout: 3s}
        """)
        let wrong = "Wr0ng-Secret-Pass"
        let urlDSN = "postgresql://\(sb.env["PGUSER"]!):\(wrong)@\(sb.env["PGHOST"]!):\(sb.env["PGPORT"]!)/\(db)"
        var r = try cli(["run", rb, "--yes"], dsn: urlDSN)
        XCTAssertEqual(r.exitCode, 1, r.output)
        XCTAssertTrue(r.output.contains("password authentication failed"), r.output)
        XCTAssertFalse(r.output.contains(wrong), r.output)

        let keywordDSN = "host=127.0.0.1 port=1 user=x password='\(wrong)' dbname=\(db)"
        let start = Date()
        r = try cli(["run", rb, "--yes"], dsn: keywordDSN)
        XCTAssertEqual(r.exitCode, 1, r.output)
        XCTAssertTrue(r.output.contains("could not connect to PostgreSQL at x@127.0.0.1:1"), r.output)
        XCTAssertFalse(r.output.contains(wrong), r.output)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
        let state = work.appendingPathComponent("state")
        for f in FileManager.default.enumerator(atPath: state.path)?.compactMap({ $0 as? String }) ?? [] {
            let text = (try? String(contentsOfFile: state.path + "/" + f, encoding: .utf8)) ?? ""
            XCTAssertFalse(text.contains(wrong) || text.contains(password), "a password reached \(f)")
        }
    }
}
