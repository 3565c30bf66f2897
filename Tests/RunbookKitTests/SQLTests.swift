import XCTest
@testable import RunbookKit

final class SQLTests: XCTestCase {
    func testURLPasswordIsRedactedAndParsed() throws {
        let dsn = try PostgresDSN("postgresql://app:s%40cret-pw@db.local:5432/seedtest?sslmode=disable")
        XCTAssertEqual(dsn.password, "s@cret-pw")
        XCTAssertEqual(dsn.redacted, "postgresql://app:***@db.local:5432/seedtest?sslmode=disable")
        XCTAssertEqual(dsn.server, "app@db.local:5432/seedtest")
        let msg = "FATAL: password authentication failed for s@cret-pw (postgresql://app:s%40cret-pw@db.local)"
        let scrubbed = PostgresDSN.scrub(msg, secrets: dsn.secretForms)
        XCTAssertFalse(scrubbed.contains("cret-pw"), scrubbed)
    }

    func testKeywordPasswordQuotedAndPlain() throws {
        XCTAssertEqual(PostgresDSN.redact("host=x password=hunter22 dbname=y"), "host=x password=*** dbname=y")
        XCTAssertEqual(PostgresDSN.redact("host=x password = 'a b\\'c' user=u"), "host=x password = *** user=u")
        let dsn = try PostgresDSN("host=x password='a b\\'c' user=u")
        XCTAssertEqual(dsn.password, "a b'c")
        XCTAssertTrue(dsn.secretForms.contains("a b'c"))
    }

    func testQueryParameterPasswordIsRedacted() {
        XCTAssertEqual(PostgresDSN.redact("postgres://h/db?user=u&password=topsecret&x=1"), "postgres://h/db?user=u&password=***&x=1")
    }

    func testInvalidDSNIsAnErrorWithoutThePassword() {
        XCTAssertThrowsError(try PostgresDSN("host=x password=verysecret bogus_option=1")) { error in
            let text = (error as? SQLError)?.errorDescription ?? ""
            XCTAssertTrue(text.contains("bogus_option"), text)
            XCTAssertFalse(text.contains("verysecret"), text)
        }
    }

    func testTypeConversionByOID() {
        XCTAssertEqual(PostgresType.value(text: "42", oid: 23), .int(42))
        XCTAssertEqual(PostgresType.value(text: "-7", oid: 21), .int(-7))
        XCTAssertEqual(PostgresType.value(text: "9007199254740993", oid: 20), .int(9007199254740993))
        XCTAssertEqual(PostgresType.value(text: "1.5", oid: 701), .double(1.5))
        XCTAssertEqual(PostgresType.value(text: "12.50", oid: 1700), .double(12.5))
        XCTAssertEqual(PostgresType.value(text: "NaN", oid: 1700), .string("NaN"))
        XCTAssertEqual(PostgresType.value(text: "t", oid: 16), .bool(true))
        XCTAssertEqual(PostgresType.value(text: "f", oid: 16), .bool(false))
        XCTAssertEqual(PostgresType.value(text: #"{"a": [1, "x"]}"#, oid: 3802), ["a": [1, "x"]])
        XCTAssertEqual(PostgresType.value(text: nil, oid: 23), .null)
        XCTAssertEqual(PostgresType.value(text: "2024-01-01", oid: 1082), .string("2024-01-01"))
    }

    func testParametersAsText() {
        XCTAssertEqual(PostgresType.parameter(.int(3)), "3")
        XCTAssertEqual(PostgresType.parameter(.bool(false)), "false")
        XCTAssertNil(PostgresType.parameter(.null))
        XCTAssertEqual(PostgresType.parameter(["k": 1]), #"{"k":1}"#)
    }

    func testExpectationsSideBySide() throws {
        let result = QueryResult(columns: ["id", "name"], rows: [[1, "a"], [2, "b"]])
        XCTAssertEqual(try QueryExpectation(["rows": 2, "min_rows": 1, "max_rows": 2]).failures(for: result), [])
        let f = try QueryExpectation(["rows": 3, "max_rows": 1]).failures(for: result)
        XCTAssertEqual(f, ["  rows:     expected 3, actual 2", "  max_rows: expected at most 1, actual 2"])
        XCTAssertEqual(try QueryExpectation(["equals": [["name": "a", "id": 1.0], ["id": 2, "name": "b"]]])
            .failures(for: result), [])
        XCTAssertEqual(try QueryExpectation(["equals": [[1, "a"], [2, "b"]]]).failures(for: result), [])
        let eq = try QueryExpectation(["equals": 5]).failures(for: result)
        XCTAssertEqual(eq, ["  equals:", "    expected: 5", "    actual:   1"])
        XCTAssertEqual(try QueryExpectation(["equals": "1"]).failures(for: result), [])
        XCTAssertThrowsError(try QueryExpectation(["row": 1]))
        XCTAssertThrowsError(try QueryExpectation(["rows": -1]))
    }

    func testResultObjectsAndScalar() {
        let r = QueryResult(columns: ["n"], rows: [[7]])
        XCTAssertEqual(r.objects, [["n": 7]])
        XCTAssertEqual(r.scalar, 7)
        XCTAssertEqual(QueryResult(columns: ["n"], rows: []).scalar, .null)
    }
}
