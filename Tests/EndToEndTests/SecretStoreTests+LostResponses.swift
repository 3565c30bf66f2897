import Foundation
import RunbookKit
import TestSupport
import XCTest

/// A write whose answer is lost after the store committed it is retried without writing twice.
extension SecretStoreTests {
    func testAGCPAddVersionWhoseAnswerIsLostAddsNoSecondVersion() throws {
        // Over a secret that existed: the lost answer (503 after the commit) must not add a duplicate,
        // or the rollback (which disables only the version it knows) would leave the new value enabled.
        let name = uniqueName(.gcp)
        try directCreate(.gcp, name, "orig-value-1")
        try sb.fault(target: "gcp", method: "POST", path: ":addVersion$", count: 1, action: "503", after: true)
        let rb = putRunbook("lost-add", .gcp, name)
        var r = try cli(["run", rb, "--yes", "--var", "value=new-value-2"])
        XCTAssertEqual(r.exitCode, 0, r.output)
        XCTAssertEqual(try versionCount(.gcp, name), 2, "a retried addVersion added a duplicate version: \(r.output)")
        let id = try XCTUnwrap(r.output.range(of: #"lost-add-\d{8}T\d{6}-[0-9a-f]{4}"#, options: .regularExpression)
            .map { String(r.output[$0]) })
        r = try cli(["rollback", id, "--yes", "--var", "value=new-value-2"])
        XCTAssertEqual(r.exitCode, 0, r.output)
        XCTAssertEqual(try directRead(.gcp, name), "orig-value-1")

        // A secret the step creates, with the connection reset after the commit.
        let created = uniqueName(.gcp)
        try sb.fault(target: "gcp", method: "POST", path: ":addVersion$", count: 1, action: "reset", after: true)
        r = try cli(["run", putRunbook("lost-create", .gcp, created), "--yes", "--var", "value=created-value-3"])
        XCTAssertEqual(r.exitCode, 0, r.output)
        XCTAssertEqual(try versionCount(.gcp, created), 1, r.output)
        XCTAssertEqual(try directRead(.gcp, created), "created-value-3")
    }
}

extension SecretStoreTests {
    /// Starts `Tests/Sandbox/lossy-proxy` in front of moto; it loses the answer of the first
    /// `count` requests containing `drop` after moto acted. Stopped by closing its stdin.
    func lossyAWSProxy(drop: String, count: Int = 1) throws -> (endpoint: String, stop: () -> Void) {
        let p = Process()
        p.executableURL = Sandbox.repoRoot.appendingPathComponent("Tests/Sandbox/lossy-proxy")
        p.arguments = ["--target", sb.env["AWS_ENDPOINT_URL"]!, "--drop", drop, "--count", String(count)]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let port = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return ("http://127.0.0.1:\(port)", { try? input.fileHandleForWriting.close(); p.waitUntilExit() })
    }

    func testAWSWritesWhoseAnswerIsLostAreNotRepeated() throws {
        for (provider, drop) in [(Provider.ssm, "AmazonSSM.PutParameter"), (.sm, "secretsmanager.PutSecretValue"),
                                 (.sm, "secretsmanager.CreateSecret")] {
            let name = uniqueName(provider)
            let existed = drop.hasSuffix("PutParameter") || drop.hasSuffix("PutSecretValue")
            if existed { try directCreate(provider, name, "orig-value-1") }
            let proxy = try lossyAWSProxy(drop: drop)
            defer { proxy.stop() }
            let rb = putRunbook("lost-aws", provider, name)
            let r = try cli(["run", rb, "--yes", "--var", "value=new-value-2"],
                            env: ["AWS_ENDPOINT_URL": proxy.endpoint, "AWS_ENDPOINT_URL_SSM": proxy.endpoint,
                                  "AWS_ENDPOINT_URL_SECRETS_MANAGER": proxy.endpoint])
            XCTAssertEqual(r.exitCode, 0, "\(drop): \(r.output)")
            XCTAssertEqual(try directRead(provider, name), "new-value-2", drop)
            XCTAssertEqual(try versionCount(provider, name), existed ? 2 : 1, "\(drop) was repeated: \(r.output)")
        }
    }
}
