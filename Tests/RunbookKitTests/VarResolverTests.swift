import Foundation
import XCTest
@testable import RunbookKit

final class VarResolverTests: XCTestCase {
    let decls = [
        VarDecl(name: "namespace", kind: .string, defaultValue: "seedtest", required: false, secret: false, description: nil, mark: Mark(line: 1, column: 1)),
        VarDecl(name: "flag", kind: .bool, defaultValue: true, required: false, secret: false, description: nil, mark: Mark(line: 2, column: 1)),
        VarDecl(name: "count", kind: .int, defaultValue: nil, required: false, secret: false, description: nil, mark: Mark(line: 3, column: 1)),
        VarDecl(name: "password", kind: .string, defaultValue: nil, required: true, secret: true, description: nil, mark: Mark(line: 4, column: 1)),
    ]

    func usage(_ block: () throws -> Any) -> String? {
        do { _ = try block(); return nil } catch RunbookError.usage(let m) { return m } catch { return "unexpected \(error)" }
    }

    func testDefaultsAndCLIConversion() throws {
        let v = try VarResolver.resolve(decls, cli: ["password=s3cr=t", "flag=FALSE", "count=42"], varsFile: nil)
        XCTAssertEqual(v, ["namespace": "seedtest", "flag": false, "count": 42, "password": "s3cr=t"])
        let w = try VarResolver.resolve(decls, cli: ["password=x", "namespace="], varsFile: nil)
        XCTAssertEqual(w["namespace"], "")
        XCTAssertEqual(w["count"], .null)
    }

    func testVarsFileThenCLIWins() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vars-\(getpid())-\(UUID().uuidString).yaml")
        try "namespace: prod\ncount: 7\nflag: false\npassword: from-file\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let v = try VarResolver.resolve(decls, cli: ["count=8"], varsFile: file)
        XCTAssertEqual(v, ["namespace": "prod", "flag": false, "count": 8, "password": "from-file"])

        try "count: seven\n".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(usage { try VarResolver.resolve(self.decls, cli: ["password=x"], varsFile: file) },
                       "\(file.path):1:1: var 'count' is of type int; 'seven' is not an int")
        try "- a\n".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(usage { try VarResolver.resolve(self.decls, cli: ["password=x"], varsFile: file) },
                       "--vars-file \(file.path) must be a YAML mapping of var names to values")
        try "other: 1\n".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(usage { try VarResolver.resolve(self.decls, cli: ["password=x"], varsFile: file) },
                       "\(file.path):1:1: unknown var 'other'; this runbook declares: namespace, flag, count, password")
    }

    func testUsageErrors() {
        XCTAssertEqual(usage { try VarResolver.resolve(self.decls, cli: [], varsFile: nil) },
                       "missing required var 'password': pass --var password=VALUE or set it in --vars-file")
        XCTAssertEqual(usage { try VarResolver.resolve(self.decls, cli: ["password=x", "flag=yes"], varsFile: nil) },
                       "--var flag: var 'flag' is of type bool; 'yes' is not a bool")
        XCTAssertEqual(usage { try VarResolver.resolve(self.decls, cli: ["password=x", "count=1.5"], varsFile: nil) },
                       "--var count: var 'count' is of type int; '1.5' is not an int")
        XCTAssertEqual(usage { try VarResolver.resolve(self.decls, cli: ["password=x", "nope=1"], varsFile: nil) },
                       "--var nope: unknown var 'nope'; this runbook declares: namespace, flag, count, password")
        XCTAssertEqual(usage { try VarResolver.resolve(self.decls, cli: ["password"], varsFile: nil) },
                       "--var password: expected NAME=VALUE")
        let missing = URL(fileURLWithPath: "/nonexistent/vars.yaml")
        XCTAssertEqual(usage { try VarResolver.resolve(self.decls, cli: [], varsFile: missing) },
                       "--vars-file /nonexistent/vars.yaml cannot be read")
    }

    func testSecretValueIsNotEchoedInErrors() {
        let secretInt = [VarDecl(name: "pin", kind: .int, defaultValue: nil, required: false, secret: true, description: nil, mark: Mark(line: 1, column: 1))]
        let m = usage { try VarResolver.resolve(secretInt, cli: ["pin=hunter2"], varsFile: nil) }
        XCTAssertEqual(m, "--var pin: var 'pin' is of type int; the given value is not an int")
        XCTAssertFalse(m?.contains("hunter2") ?? true)
    }
}
