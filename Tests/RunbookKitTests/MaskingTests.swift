import Foundation
@testable import RunbookKit
import XCTest

/// Secrets and their encoded forms never pass the masker, in text, values and report events.
final class MaskingTests: XCTestCase {
    func testSecretAndItsBase64FormsAreMasked() {
        let m = Masker()
        let secret = "p@ss/word+?>"  // has characters whose standard and URL-safe base64 differ
        m.add(secret)
        let b64 = Data(secret.utf8).base64EncodedString()
        let url = b64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        for form in [secret, b64, b64.trimmingCharacters(in: ["="]), url, url.trimmingCharacters(in: ["="])] {
            XCTAssertEqual(m.mask("x \(form) y"), "x *** y", form)
        }
        XCTAssertEqual(m.mask("nothing secret here"), "nothing secret here")
    }

    func testJSONEscapedFormAndValuesAreMasked() {
        let m = Masker()
        m.add("line1\n\"quoted\"")
        let v: Value = ["a": .string("line1\n\"quoted\""), "b": ["c", .string("pre line1\n\"quoted\" post")]]
        XCTAssertFalse(m.mask(v).jsonString().contains("quoted"))
        XCTAssertFalse(m.mask(Value.string("line1\n\"quoted\"").jsonString()).contains("quoted"))
    }

    func testEveryOccurrenceIsMaskedWhereverItStands() {
        let m = Masker()
        m.add("s3cr3t")
        XCTAssertEqual(m.mask("s3cr3t"), "***")
        XCTAssertEqual(m.mask("a s3cr3ts3cr3t b s3cr3"), "a ****** b s3cr3")
        XCTAssertEqual(m.mask("한글s3cr3t😀"), "한글***😀")
        XCTAssertEqual(m.mask("nothing here"), "nothing here")
    }

    func testALongerSecretContainingAShorterOneIsMaskedWhole() {
        let m = Masker()
        m.add("pass")
        m.add("password-1")
        XCTAssertEqual(m.mask("x password-1 pass"), "x *** ***")
    }

    func testThousandsOfSecretsWithACommonPrefixAreEachRegisteredOnceAndMasked() {
        let m = Masker()
        let secrets = (0..<2000).map { "postgresql://report_\($0):pw-\(String($0 * 7919, radix: 16))@db.internal:5432/reports" }
        for s in secrets { m.add(s) }
        let registered = m.generation
        for s in secrets.shuffled().prefix(500) { m.add(s) }
        XCTAssertEqual(m.generation, registered, "a secret added again adds no form")
        for k in [0, 1, 999, 1999] {
            let b64 = Data(secrets[k].utf8).base64EncodedString()
            XCTAssertEqual(m.mask("a \(secrets[k]) b \(b64) c"), "a *** b *** c")
        }
        // a prefix of a secret is not a secret
        XCTAssertEqual(m.mask("postgresql://report_1:pw"), "postgresql://report_1:pw")
    }

    func testFormsRegisteredSinceAGenerationAreFoundInText() {
        let m = Masker()
        m.add("first-secret")
        let g = m.generation
        XCTAssertEqual(m.forms(since: g).forms.count, 0)
        m.add("second-secret")
        let (newer, now) = m.forms(since: g)
        XCTAssertEqual(now, m.generation)
        XCTAssertTrue(newer.contains(Array("second-secret".utf8)))
        XCTAssertFalse(newer.contains(Array("first-secret".utf8)))
        XCTAssertTrue(NeedleIndex(distinct: newer).occurs(in: Array("{\"a\":\"x second-secret y\"}".utf8)))
        XCTAssertTrue(NeedleIndex(distinct: newer).occurs(in: Array(Data("second-secret".utf8).base64EncodedString().utf8)))
        XCTAssertFalse(NeedleIndex(distinct: newer).occurs(in: Array("{\"a\":\"first-secret\"}".utf8)))
        XCTAssertFalse(NeedleIndex(distinct: newer).occurs(in: Array("seco".utf8)))
    }

    func testShortValuesAreNotRegistered() {
        let m = Masker()
        m.add("ab")
        XCTAssertTrue(m.isEmpty)
        XCTAssertEqual(m.mask("abc"), "abc")
    }

    func testReportEventsAndErrorsAreMasked() {
        let m = Masker()
        m.add("s3cr3t-token")
        var e = ReportEvent(.stepFinished, runID: "r", step: "s", status: "failed", message: "bad s3cr3t-token")
        e.hint = "retry with s3cr3t-token"
        let json = e.masked(by: m).toValue().jsonString()
        XCTAssertFalse(json.contains("s3cr3t"))
        XCTAssertTrue(json.contains("\"message\":\"bad ***\""))
        let lines = ErrorReport.lines(for: ActionError.failed("cannot use s3cr3t-token"), masker: m)
        XCTAssertEqual(lines, ["error: cannot use ***"])
    }

    func testExitCodeMapping() {
        XCTAssertEqual(ErrorReport.exitCode(for: RunbookError.usage("x")), 2)
        XCTAssertEqual(ErrorReport.exitCode(for: StateError.locked(runbook: "a", holder: "b")), 4)
        XCTAssertEqual(ErrorReport.exitCode(for: EngineError.runbookChanged(runID: "r", path: "p", recorded: "a", now: "b")), 2)
        XCTAssertEqual(RunOutcome.completed.exitCode, 0)
        XCTAssertEqual(RunOutcome.rolledBack.exitCode, 1)
        XCTAssertEqual(RunOutcome.paused.exitCode, 3)
        XCTAssertEqual(RunOutcome.rollbackFailed.exitCode, 3)
    }
}
