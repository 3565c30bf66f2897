import Foundation
@testable import RunbookKit
import XCTest

/// HTTPClient against a local HTTPS server that demands a client certificate.
final class HTTPClientTests: XCTestCase {
    nonisolated(unsafe) static var dir: URL!
    nonisolated(unsafe) static var server: Process!
    nonisolated(unsafe) static var stdin: Pipe!
    nonisolated(unsafe) static var port = 0

    static var repo: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    override class func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("httptest-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let mk = Process()
        mk.executableURL = repo.appendingPathComponent("fixtures/http/make_certs.sh")
        mk.arguments = [dir.path]
        try! mk.run()
        mk.waitUntilExit()
        server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = [repo.appendingPathComponent("fixtures/http/echo_server.py").path, dir.path]
        let out = Pipe()
        stdin = Pipe()
        server.standardOutput = out
        server.standardInput = stdin
        try! server.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) { line.append(out.fileHandleForReading.availableData) }
        port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))!
    }

    override class func tearDown() {
        try? stdin.fileHandleForWriting.close()
        server.waitUntilExit()
        try? FileManager.default.removeItem(at: dir)
    }

    func file(_ name: String) -> Data { try! Data(contentsOf: Self.dir.appendingPathComponent(name)) }
    var url: String { "https://127.0.0.1:\(Self.port)" }
    func mtls(ca: String = "ca.crt") -> TLSConfig {
        TLSConfig(caPEM: file(ca), clientCertPEM: file("client.crt"), clientKeyPEM: file("client.key"))
    }

    func testClientCertificateBodyHeadersAndConnectionReuse() throws {
        let client = HTTPClient(tls: mtls())
        let r1 = try client.send(HTTPRequest(method: "PATCH", url: url + "/x?y=1", headers: [("Content-Type", "application/merge-patch+json")],
                                             body: Data(#"{"a":1}"#.utf8)))
        XCTAssertEqual(r1.status, 200)
        XCTAssertEqual(r1.headers["x-multi"], "a, b")
        let v1 = try Value.parseJSON(r1.body)
        XCTAssertEqual(v1["method"], "PATCH")
        XCTAssertEqual(v1["path"], "/x?y=1")
        XCTAssertEqual(v1["body"], #"{"a":1}"#)
        XCTAssertEqual(v1["client"], "test-client")
        XCTAssertEqual(v1["headers"]?["content-type"], "application/merge-patch+json")
        let r2 = try client.send(HTTPRequest(method: "DELETE", url: url + "/z"))
        let v2 = try Value.parseJSON(r2.body)
        XCTAssertEqual(v2["method"], "DELETE")
        // Same client port: the connection was kept alive and reused.
        XCTAssertEqual(v1["port"], v2["port"])
    }

    func testWrongCAFailsAndIsNotTransient() {
        let client = HTTPClient(tls: mtls(ca: "other-ca.crt"))
        XCTAssertThrowsError(try client.send(HTTPRequest(url: url + "/"))) { e in
            guard case HTTPError.transport(_, let message, let transient) = e else { return XCTFail("\(e)") }
            XCTAssertFalse(transient)
            XCTAssertTrue(message.contains("certificate"), message)
        }
    }

    func testInsecureSkipVerifyAcceptsUnknownCA() throws {
        var tls = mtls(ca: "other-ca.crt")
        tls.insecureSkipVerify = true
        XCTAssertEqual(try HTTPClient(tls: tls).send(HTTPRequest(url: url + "/")).status, 200)
    }

    func testRetriesServiceUnavailable() async throws {
        let client = HTTPClient(tls: mtls())
        let r = try await client.send(HTTPRequest(url: url + "/flaky/2"), retry: RetryBackoff(attempts: 4, initial: 0.01))
        XCTAssertEqual(r.status, 200)
        let r2 = try await client.send(HTTPRequest(url: url + "/flaky/5"), retry: RetryBackoff(attempts: 2, initial: 0.01))
        XCTAssertEqual(r2.status, 503, "exhausted retries return the last response")
    }

    func testRefusedConnectionIsTransient() {
        let client = HTTPClient()
        XCTAssertThrowsError(try client.send(HTTPRequest(url: "http://127.0.0.1:1/"))) { e in
            XCTAssertTrue((e as? HTTPError)?.isTransient == true, "\(e)")
        }
    }

    func testRetryDelayIsBoundedAndHonoursRetryAfter() {
        let b = RetryBackoff(attempts: 10, initial: 0.5, maximum: 4)
        for n in 1...10 { XCTAssertLessThanOrEqual(b.delay(retry: n, retryAfter: nil), 4) }
        XCTAssertGreaterThanOrEqual(b.delay(retry: 3, retryAfter: nil), 1)
        XCTAssertEqual(b.delay(retry: 1, retryAfter: 2), 2)
        XCTAssertEqual(b.delay(retry: 1, retryAfter: 100), 4)
        XCTAssertEqual(HTTPResponse(status: 429, headers: ["retry-after": "3"]).retryAfter, 3)
    }
}
