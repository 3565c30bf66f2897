import Foundation
import RunbookKit
import XCTest

/// Hostile runbooks and expressions (issue inputs as seeds) are refused with a positioned error,
/// at once and in bounded memory; a deterministic mutation fuzzer over the loader and the
/// expression parser runs for a bounded time (`RUNBOOK_FUZZ_SECONDS`, default 20) in CI.
final class HostileInputTests: XCTestCase {
    static let header = "apiVersion: runbook/v1\nkind: Runbook\nmetadata: {name: %@}\nvars:\n  x: {default: a}\nsteps:\n"

    /// The inputs that crashed or stalled `runbook validate`, each scaled as reported.
    static var seeds: [(name: String, text: String)] {
        func book(_ name: String, _ that: String) -> String {
            String(format: header, name) + "  - id: one\n    action: assert\n    with: {that: \(that)}\n"
        }
        var laughs = "apiVersion: runbook/v1\nkind: Runbook\nmetadata: {name: laughs}\nvars:\n"
        laughs += "  l0: {default: &a0 [" + Array(repeating: "\"lol\"", count: 9).joined(separator: ",") + "]}\n"
        for i in 1..<10 {
            laughs += "  l\(i): {default: &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ",") + "]}\n"
        }
        laughs += "steps:\n  - id: one\n    action: assert\n    with: {that: \"${{ vars.l0 }}\"}\n"
        let nestedWith = String(format: header, "laughs-with") + "  - id: one\n    action: exec\n    with:\n      command: &c0 [a, b, c, d, e, f, g, h]\n"
            + (1..<9).map { "      env\($0): &c\($0) [" + Array(repeating: "*c\($0 - 1)", count: 8).joined(separator: ",") + "]\n" }.joined()
        return [
            ("parens", book("parens", "\"${{ " + String(repeating: "(", count: 28_000) + "vars.x" + String(repeating: ")", count: 28_000) + " }}\"")),
            ("parens-short", book("parens-short", "\"${{ " + String(repeating: "(", count: 2_000) + "vars.x" + String(repeating: ")", count: 2_000) + " }}\"")),
            ("bangs", book("bangs", "\"${{ " + String(repeating: "!", count: 5_000) + "vars.x }}\"")),
            ("flow", book("flow", String(repeating: "[", count: 28_000) + String(repeating: "]", count: 28_000))),
            ("mappings", book("mappings", String(repeating: "{a: ", count: 26_000) + "b" + String(repeating: "}", count: 26_000))),
            ("laughs", laughs),
            ("laughs-with", nestedWith),
            ("many", book("many", "\"" + String(repeating: "${{ vars.x }}", count: 10_000) + "\"")),
            ("chain", book("chain", "\"${{ " + Array(repeating: "vars.x", count: 20_000).joined(separator: " && ") + " }}\"")),
            ("short-chain", book("short-chain", "\"${{ " + Array(repeating: "x", count: 1_200).joined(separator: "&&") + " }}\"")),
        ]
    }

    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Loads `text` as a runbook file; returns how long it took and the error, if any.
    func load(_ name: String, _ text: String) throws -> (TimeInterval, Error?) {
        let file = dir.appendingPathComponent("\(name).yaml")
        try Data(text.utf8).write(to: file)
        let start = Date()
        do {
            _ = try RunbookLoader.load(file)
            return (Date().timeIntervalSince(start), nil)
        } catch {
            return (Date().timeIntervalSince(start), error)
        }
    }

    func testEveryIssueInputIsRefusedWithAPositionAtOnce() throws {
        for seed in Self.seeds {
            let (took, error) = try load(seed.name, seed.text)
            XCTAssertLessThan(took, 2, "\(seed.name) took \(took)s")
            guard case RunbookError.invalid(let diagnostics)? = error else {
                XCTFail("\(seed.name): not refused as invalid: \(String(describing: error))")
                continue
            }
            XCTAssertTrue(diagnostics.allSatisfy { $0.mark.line > 0 && $0.mark.column > 0 }, "\(seed.name): \(diagnostics)")
        }
    }

    func testLimitsLeaveRoomForRealRunbooks() throws {
        // 900 expressions in a value, 90 nested parentheses, 120 nested collections, aliases used sanely.
        let fine = String(format: Self.header, "fine") + """
          - id: one
            action: assert
            with: {that: "\(String(repeating: "${{ vars.x }}", count: 900))"}
          - id: two
            action: assert
            with: {that: "${{ \(String(repeating: "(", count: 90))vars.x\(String(repeating: ")", count: 90)) }}"}
          - id: three
            action: assert
            with: {equals: [&v [1, 2], *v], message: \(String(repeating: "[", count: 120))x\(String(repeating: "]", count: 120))}

        """
        let (took, error) = try load("fine", fine)
        XCTAssertNil(error, "\(String(describing: error))")
        XCTAssertLessThan(took, 2)
    }

    // MARK: fuzzing

    /// SplitMix64: deterministic, so a failure reproduces from the printed iteration.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    }

    static let tokens = ["${{", "}}", "(", ")", "[", "]", "{", "}", "&a ", "*a", "!", "&&", "||", "==", "'", "\"", "\n  ",
                         ": ", "- ", "vars.x", "steps.one.outputs.v", "<<: *a", "#", "\\", "\t", "---\n"]

    func mutate(_ input: [UInt8], _ r: inout Random) -> [UInt8] {
        var b = input
        for _ in 0...r.below(4) {
            let at = r.below(b.count + 1)
            switch r.below(5) {
            case 0 where !b.isEmpty:  // delete a range
                let end = min(b.count, at + 1 + r.below(16))
                if at < end { b.removeSubrange(at..<end) }
            case 1:  // insert a token
                b.insert(contentsOf: Array(Self.tokens[r.below(Self.tokens.count)].utf8), at: at)
            case 2 where !b.isEmpty:  // duplicate a slice, many times (nesting, repetition)
                let start = r.below(b.count)
                let slice = Array(b[start..<min(b.count, start + 1 + r.below(24))])
                for _ in 0..<(1 + r.below(64)) { b.insert(contentsOf: slice, at: min(at, b.count)) }
            case 3 where !b.isEmpty:  // flip a byte
                b[min(at, b.count - 1)] = UInt8(truncatingIfNeeded: r.next())
            default:
                b.insert(contentsOf: Array(String(repeating: Self.tokens[r.below(6) + 2], count: 1 + r.below(400)).utf8), at: at)
            }
        }
        return b.count > 400_000 ? Array(b.prefix(400_000)) : b
    }

    func testFuzzTheLoaderAndTheExpressionParser() throws {
        let seconds = Double(ProcessInfo.processInfo.environment["RUNBOOK_FUZZ_SECONDS"] ?? "") ?? 20
        var corpus = Self.seeds.map { Array($0.text.utf8.prefix(60_000)) }
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/runbooks")
        for name in ["valid-runbook.yaml", "malformed-runbook.yaml", "engine/exec-steps.yaml", "engine/broken.yaml"] {
            if let d = FileManager.default.contents(atPath: fixtures.appendingPathComponent(name).path) { corpus.append(Array(d)) }
        }
        var r = Random(state: 0x5EED_0F_0009)
        let scope = Scope(vars: ["x": "a"], outputs: ["one": ["v": 1]], env: [:], runID: "r")
        let deadline = Date().addingTimeInterval(seconds)
        var iterations = 0
        var slowest = 0.0
        while Date() < deadline {
            iterations += 1
            let input = mutate(corpus[r.below(corpus.count)], &r)
            let text = String(decoding: input, as: UTF8.self)
            let (took, error) = try load("fuzz", text)
            slowest = max(slowest, took)
            XCTAssertLessThan(took, 2, "iteration \(iterations) took \(took)s (input kept in the test's temp dir)")
            if let error, !(error is RunbookError) { XCTFail("iteration \(iterations): unexpected \(type(of: error)): \(error)") }
            // The expression parser on its own, over a slice of the same bytes.
            let start = Date()
            _ = try? Expressions.evaluate(String(text.prefix(20_000)), scope: scope)
            XCTAssertLessThan(Date().timeIntervalSince(start), 2, "iteration \(iterations): the expression took too long")
            if error == nil, iterations % 8 == 0 { corpus.append(input) }  // valid inputs breed
            if took >= 2 { break }
        }
        print("fuzzed the loader and the expression parser: \(iterations) inputs in \(Int(seconds))s, slowest \(String(format: "%.3f", slowest))s")
        XCTAssertGreaterThan(iterations, 10)
    }
}
