import Foundation
import XCTest

/// The canary across `kill -9` + `resume`: a canary that passed is not run again (its success is
/// in the checkpoint), and a run killed during the canary finishes the canary first.
extension FanoutTests {
    /// The resume's JSON events of one kind, in order, as item indexes.
    private func items(_ events: [[String: Any]], _ kind: String) -> [Int] {
        events.filter { $0["event"] as? String == kind }.compactMap { $0["item"] as? Int }
    }

    /// Starts the migration, waits until `fragments` appear in the run's events, kills it with
    /// SIGKILL and clears the faults. Returns the run id.
    private func killedRun(_ sb: MigrationHarness, vars: [String], at fragments: [String]) throws -> String {
        let before = sb.runIDs()
        let (p, o, e) = try sb.startRunbook(["run", "migrate-cronjobs-to-eso", "--yes", "--output", "json"] + vars)
        let reached = sb.waitForEvent(containing: fragments, timeout: 120, while: p, excluding: before)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        sb.collect(o, e)
        try sb.fault(["--clear"])
        XCTAssertTrue(reached, "the run never reached \(fragments)")
        return try XCTUnwrap(sb.runIDs().subtracting(before).first)
    }

    func testAResumeAfterThePassedCanaryRunsNoCanaryAgain() throws {
        // Every non-canary CronJob patch hangs (and is then dropped, changing nothing), so the kill
        // lands once the canary (item 0) passed and while the other items are in flight.
        try sb.fault(["--target", "kube", "--method", "PATCH", "--path", "/cronjobs/report-000[123]$",
                      "--count", "20", "--action", "timeout", "--delay", "30"])
        let id = try killedRun(sb, vars: ["--var", "concurrency=3", "--var", "max_failures=1"],
                               at: ["\"item.started\"", "\"migrate[1]\""])
        let state = try String(contentsOf: sb.stateDir.appendingPathComponent("runs/\(id)/state.json"), encoding: .utf8)
            + ((try? String(contentsOf: sb.stateDir.appendingPathComponent("runs/\(id)/journal.jsonl"), encoding: .utf8)) ?? "")
        XCTAssertTrue(state.contains("\"canary_passed\":true"), "the checkpoint records the passed canary")
        // Item 1 (the first not yet done) now fails. Were it a new canary, its failure would stop
        // everything and roll the run back; as an ordinary item it is within max_failures 1.
        try sb.fault(["--target", "kube", "--method", "PATCH", "--path", "/namespaces/reports-00/cronjobs/report-0002$",
                      "--count", "50", "--action", "500"])
        let resumed = try sb.runbook(["resume", id, "--yes", "--output", "json"])
        try sb.fault(["--clear"])
        XCTAssertEqual(resumed.status, 1, resumed.text)
        let events = Self.events(resumed)
        XCTAssertFalse(resumed.stdout.contains("canary item"), resumed.stdout)
        let groupStarted = events.first { $0["event"] as? String == "step.started" && $0["step"] as? String == "migrate" }
        XCTAssertTrue((groupStarted?["message"] as? String ?? "").contains("canary 1 (passed earlier)"), "\(groupStarted ?? [:])")
        XCTAssertFalse(items(events, "item.started").contains(0), "the canary is not run again")
        XCTAssertEqual(Set(items(events, "item.started")), [1, 2, 3])
        let finished = events.last { $0["event"] as? String == "run.finished" }
        XCTAssertEqual(finished?["status"] as? String, "failed")
        XCTAssertTrue((finished?["message"] as? String ?? "").contains("reports-00/report-0002"), "\(finished ?? [:])")
        for key in Self.cronjobs where key != "reports-00/report-0002" {
            XCTAssertEqual(try envSecretName(sb, key), "\(key.split(separator: "/")[1])-eso", key)
        }
        XCTAssertEqual(try envSecretName(sb, "reports-00/report-0002"), "report-0002-db", "the failed item is restored")
        // The test Job ran once, for the canary, before the kill: the resume ran none.
        XCTAssertTrue(events.filter { $0["event"] as? String == "step.finished" && $0["step"] as? String == "test-job" }
            .allSatisfy { $0["status"] as? String == "skipped" })
        let back = try sb.runbook(["rollback", id, "--yes"])
        XCTAssertEqual(back.status, 0, back.text)
        try assertWorldIsInitial(sb, "after the rollback of the resumed run")
    }

    func testAResumeDuringTheCanaryFinishesTheCanaryFirst() throws {
        // The canary's CronJob patch hangs, so the kill lands inside the canary.
        try sb.fault(["--target", "kube", "--method", "PATCH", "--path", "/namespaces/reports-00/cronjobs/report-0000$",
                      "--count", "4", "--action", "timeout", "--delay", "30"])
        let id = try killedRun(sb, vars: ["--var", "concurrency=4"], at: ["\"step.started\"", "\"patch[0]\""])
        let resumed = try sb.runbook(["resume", id, "--yes", "--output", "json"])
        XCTAssertEqual(resumed.status, 0, resumed.text)
        let events = Self.events(resumed)
        let order = events.compactMap { e -> String? in
            guard let kind = e["event"] as? String, ["item.started", "item.finished"].contains(kind), let k = e["item"] as? Int else { return nil }
            return "\(kind == "item.started" ? "start" : "end") \(k)"
        }
        XCTAssertEqual(Array(order.prefix(2)), ["start 0", "end 0"], "the canary finishes before any other item starts: \(order)")
        XCTAssertEqual(Set(items(events, "item.started")), [0, 1, 2, 3])
        let groupStarted = events.first { $0["event"] as? String == "step.started" && $0["step"] as? String == "migrate" }
        XCTAssertFalse((groupStarted?["message"] as? String ?? "").contains("passed earlier"), "\(groupStarted ?? [:])")
        let jobs = events.filter { $0["event"] as? String == "step.finished" && $0["step"] as? String == "test-job" }
        XCTAssertEqual(jobs.filter { $0["status"] as? String == "succeeded" }.compactMap { $0["item"] as? Int }, [0], "\(jobs)")
        for key in Self.cronjobs {
            XCTAssertEqual(try envSecretName(sb, key), "\(key.split(separator: "/")[1])-eso", key)
        }
        let back = try sb.runbook(["rollback", id, "--yes"])
        XCTAssertEqual(back.status, 0, back.text)
        try assertWorldIsInitial(sb, "after the rollback of the resumed run")
    }
}
