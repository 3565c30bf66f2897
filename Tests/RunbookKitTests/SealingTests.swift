import Foundation
import TestSupport
import XCTest
@testable import RunbookKit

/// The sealed-secrets wire format: what kubeseal makes and the controller opens.
final class SealingTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/sealing")
    static func pem(_ name: String) throws -> String { try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8) }

    func testLengthPrefixIsTheRSACiphertextLengthBigEndian() throws {
        let key = try SealingKey(pem: Self.pem("test-cert.pem"))
        XCTAssertEqual(key.modulusBytes, 512)
        let value = Array("observer-sandbox-pw".utf8)
        let sealed = try HybridSealer.seal(value, label: Array("observer-prod/observer-secrets".utf8), key: key)
        XCTAssertEqual(sealed[0], 0x02)
        XCTAssertEqual(sealed[1], 0x00)
        // length prefix + RSA part + AES-GCM ciphertext (same length as the value) + 16-byte tag
        XCTAssertEqual(sealed.count, 2 + 512 + value.count + 16)
    }

    func testEachScopeUsesItsOwnLabel() throws {
        let key = try SealingKey(pem: Self.pem("test-cert.pem"))
        let priv = try Self.pem("test-key.pem")
        XCTAssertEqual(SealingScope.strict.label(namespace: "ns", name: "s"), Array("ns/s".utf8))
        XCTAssertEqual(SealingScope.namespaceWide.label(namespace: "ns", name: "s"), Array("ns".utf8))
        XCTAssertEqual(SealingScope.clusterWide.label(namespace: "ns", name: "s"), [])
        let labels = SealingScope.allCases.map { $0.label(namespace: "ns", name: "s") }
        for (i, label) in labels.enumerated() {
            let sealed = try HybridSealer.seal(Array("v4lue".utf8), label: label, key: key)
            for (j, other) in labels.enumerated() {
                let opened = SealedSecretOpener.open(sealed, privateKeyPEM: priv, label: other)
                if i == j { XCTAssertEqual(opened, Array("v4lue".utf8)) } else { XCTAssertNil(opened, "label \(j) opened scope \(i)") }
            }
        }
        // Another name in the same namespace: strict refuses it.
        let strict = try HybridSealer.seal(Array("v4lue".utf8), label: labels[0], key: key)
        XCTAssertNil(SealedSecretOpener.open(strict, privateKeyPEM: priv, label: Array("ns/other".utf8)))
    }

    func testEverySealUsesAFreshSessionKeyAndEmptyValuesWork() throws {
        let key = try SealingKey(pem: Self.pem("test-cert.pem"))
        let a = try HybridSealer.seal(Array("same".utf8), label: [], key: key)
        let b = try HybridSealer.seal(Array("same".utf8), label: [], key: key)
        XCTAssertNotEqual(a, b)
        let empty = try HybridSealer.seal([], label: [], key: key)
        XCTAssertEqual(empty.count, 2 + 512 + 16)
        XCTAssertEqual(SealedSecretOpener.open(empty, privateKeyPEM: try Self.pem("test-key.pem"), label: []), [])
    }

    func testManifestHasTemplateEncryptedDataAndScopeAnnotations() throws {
        let key = try SealingKey(pem: Self.pem("test-cert.pem"))
        let priv = try Self.pem("test-key.pem")
        for scope in SealingScope.allCases {
            let m = SealedSecretManifest(namespace: "observer-prod", name: "observer-secrets", scope: scope,
                                         labels: ["app": "observer"])
            let obj = try m.seal([("B", Array("bee-value".utf8)), ("A", Array("a-value".utf8))], with: key)
            XCTAssertEqual(obj["apiVersion"], "bitnami.com/v1alpha1")
            XCTAssertEqual(obj["kind"], "SealedSecret")
            XCTAssertEqual(obj.lookup("metadata.name"), "observer-secrets")
            XCTAssertEqual(obj.lookup("spec.template.metadata.namespace"), "observer-prod")
            XCTAssertEqual(obj.lookup("spec.template.metadata.labels.app"), "observer")
            XCTAssertEqual(obj.lookup("spec.template.type"), "Opaque")
            XCTAssertEqual(obj.lookup("spec.encryptedData")?.objectValue?.keys, ["A", "B"])
            let annotation = scope.annotation
            XCTAssertEqual(obj.lookup("metadata.annotations")?.objectValue?.keys ?? [], annotation.map { [$0] } ?? [])
            if let annotation {
                XCTAssertEqual(obj["metadata"]?["annotations"]?[annotation], "true")
                XCTAssertEqual(obj["spec"]?["template"]?["metadata"]?["annotations"]?[annotation], "true")
            }
            let b64 = try XCTUnwrap(obj.lookup("spec.encryptedData.B")?.stringValue)
            let sealed = try XCTUnwrap(Data(base64Encoded: b64))
            XCTAssertEqual(SealedSecretOpener.open(Array(sealed), privateKeyPEM: priv,
                                                   label: scope.label(namespace: "observer-prod", name: "observer-secrets")),
                           Array("bee-value".utf8))
        }
    }

    func testManifestDropsLastAppliedAndAdoptionAnnotations() throws {
        let key = try SealingKey(pem: Self.pem("test-cert.pem"))
        let m = SealedSecretManifest(namespace: "n", name: "s", scope: .strict,
                                     annotations: ["kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{}}", "team": "obs",
                                                   "sealedsecrets.bitnami.com/managed": "true"])
        let obj = try m.seal([("A", Array("a-value".utf8))], with: key)
        XCTAssertEqual(obj.lookup("spec.template.metadata.annotations"), ["team": "obs"])
    }

    /// An independent implementation (Python `cryptography`, as the sandbox controller uses)
    /// opens what HybridSealer sealed.
    func testPythonCryptographyOpensIt() throws {
        let key = try SealingKey(pem: Self.pem("test-cert.pem"))
        let sealed = try HybridSealer.seal(Array("kis-app-secret-0042".utf8), label: Array("observer-prod".utf8), key: key)
        let script = """
        import base64, sys
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        key = serialization.load_pem_private_key(open(sys.argv[1], 'rb').read(), None)
        data = base64.b64decode(sys.stdin.read())
        n = int.from_bytes(data[:2], 'big')
        sk = key.decrypt(data[2:2 + n], padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=b'observer-prod'))
        sys.stdout.write(AESGCM(sk).decrypt(bytes(12), data[2 + n:], None).decode())
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, Self.dir.appendingPathComponent("test-key.pem").path]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        input.fileHandleForWriting.write(Data(Data(sealed).base64EncodedString().utf8))
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "kis-app-secret-0042")
    }

    func testRefusesExpiredNonRSAAndUnreadableCertificates() throws {
        XCTAssertThrowsError(try SealingKey(pem: Self.pem("expired-cert.pem"))) { e in
            XCTAssertEqual(e as? SealingError, .expired(notAfter: "January 2, 2020"))
            XCTAssertEqual((e as? LocalizedError)?.errorDescription,
                           "failed to encrypt using an expired certificate on January 2, 2020; fetch the controller's current certificate")
        }
        XCTAssertThrowsError(try SealingKey(pem: Self.pem("ec-cert.pem"))) { XCTAssertEqual($0 as? SealingError, .notRSA) }
        XCTAssertThrowsError(try SealingKey(pem: "not a certificate")) {
            XCTAssertEqual($0 as? SealingError, .unreadableCertificate("no PEM block found"))
        }
        XCTAssertThrowsError(try SealingKey(pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")) {
            guard case .unreadableCertificate(let why)? = $0 as? SealingError else { return XCTFail("\($0)") }
            XCTAssertFalse(why.isEmpty)
        }
    }
}
