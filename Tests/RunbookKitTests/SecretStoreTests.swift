import Foundation
import XCTest
@testable import RunbookKit

final class SecretStoreTests: XCTestCase {
    func testGCPSecretIDRule() {
        XCTAssertNil(SecretName.problem("seedtest-database-url", provider: .gcp))
        XCTAssertNil(SecretName.problem("A_b-9", provider: .gcp))
        XCTAssertNotNil(SecretName.problem("seedtest/database-url", provider: .gcp))
        XCTAssertNotNil(SecretName.problem("has.dot", provider: .gcp))
        XCTAssertNotNil(SecretName.problem("", provider: .gcp))
        XCTAssertNil(SecretName.problem(String(repeating: "a", count: 255), provider: .gcp))
        XCTAssertNotNil(SecretName.problem(String(repeating: "a", count: 256), provider: .gcp))
    }

    func testSSMNameRules() {
        XCTAssertNil(SecretName.problem("/ecoeco/prod/openai-api-key", provider: .awsSSM))
        XCTAssertNil(SecretName.problem("plain.name_1", provider: .awsSSM))
        XCTAssertNotNil(SecretName.problem("ecoeco/prod/key", provider: .awsSSM))  // hierarchy without leading /
        XCTAssertNotNil(SecretName.problem("/has space", provider: .awsSSM))
        XCTAssertNotNil(SecretName.problem("/aws/reserved", provider: .awsSSM))
        XCTAssertNotNil(SecretName.problem("SSMthing", provider: .awsSSM))
        XCTAssertNotNil(SecretName.problem("/a//b", provider: .awsSSM))
        let deep = "/" + (1...16).map { "l\($0)" }.joined(separator: "/")
        XCTAssertNotNil(SecretName.problem(deep, provider: .awsSSM))
    }

    func testSecretsManagerNameRules() {
        XCTAssertNil(SecretName.problem("ecoeco/prod/chat-api", provider: .awsSecretsManager))
        XCTAssertNil(SecretName.problem("a+b=c.d@e-f_g", provider: .awsSecretsManager))
        XCTAssertNotNil(SecretName.problem("no spaces", provider: .awsSecretsManager))
        XCTAssertNotNil(SecretName.problem("ü", provider: .awsSecretsManager))
    }

    func testCRC32C() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
    }

    func testRequestTokenIsStableAndDistinct() {
        let a = RequestToken.make(runID: "r1", stepID: "s", name: "n", value: "v")
        XCTAssertEqual(a, RequestToken.make(runID: "r1", stepID: "s", name: "n", value: "v"))
        XCTAssertNotEqual(a, RequestToken.make(runID: "r1", stepID: "s", name: "n", value: "w"))
        XCTAssertNotEqual(a, RequestToken.make(runID: "r2", stepID: "s", name: "n", value: "v"))
        XCTAssertEqual(a.count, 36)
    }

    func testGCPBaseURL() {
        XCTAssertEqual(GCPSecretManager.baseURL(nil), "https://secretmanager.googleapis.com/v1")
        XCTAssertEqual(GCPSecretManager.baseURL("http://127.0.0.1:9/"), "http://127.0.0.1:9/v1")
        XCTAssertEqual(GCPSecretManager.baseURL("http://127.0.0.1:9/v1/"), "http://127.0.0.1:9/v1")
        XCTAssertEqual(GCPSecretManager.versionID("projects/p/secrets/s/versions/12"), "12")
    }

    func testAWSErrorType() {
        let r = HTTPResponse(status: 400, body: Data(#"{"__type":"com.amazonaws.ssm#ParameterNotFound","message":"x"}"#.utf8))
        XCTAssertEqual(AWSJSONClient.errorType(r), "ParameterNotFound")
        let h = HTTPResponse(status: 400, headers: ["x-amzn-errortype": "ThrottlingException:http://internal"], body: Data())
        XCTAssertEqual(AWSJSONClient.errorType(h), "ThrottlingException")
    }

    func testAWSEnvironmentFromProfileFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aws-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
        [default]
        aws_access_key_id = DEFAULTKEY
        aws_secret_access_key = defaultsecret
        # comment
        [ops]
        aws_access_key_id=OPSKEY
        aws_secret_access_key=opssecret
        aws_session_token = opstoken
        """.write(to: dir.appendingPathComponent("credentials"), atomically: true, encoding: .utf8)
        try "[profile ops]\nregion = eu-west-3\n[default]\nregion=us-east-2\n"
            .write(to: dir.appendingPathComponent("config"), atomically: true, encoding: .utf8)
        let base = ["AWS_SHARED_CREDENTIALS_FILE": dir.appendingPathComponent("credentials").path,
                    "AWS_CONFIG_FILE": dir.appendingPathComponent("config").path, "HOME": dir.path]
        let def = try AWSEnvironment.resolve(explicitRegion: nil, environment: base)
        XCTAssertEqual([def.accessKeyID, def.region], ["DEFAULTKEY", "us-east-2"])
        var env = base
        env["AWS_PROFILE"] = "ops"
        let ops = try AWSEnvironment.resolve(explicitRegion: nil, environment: env)
        XCTAssertEqual([ops.accessKeyID, ops.secretAccessKey, ops.sessionToken, ops.region], ["OPSKEY", "opssecret", "opstoken", "eu-west-3"])
        env["AWS_ACCESS_KEY_ID"] = "ENVKEY"
        env["AWS_SECRET_ACCESS_KEY"] = "envsecret"
        env["AWS_REGION"] = "ap-south-1"
        let fromEnv = try AWSEnvironment.resolve(explicitRegion: "us-west-1", environment: env)
        XCTAssertEqual([fromEnv.accessKeyID, fromEnv.region], ["ENVKEY", "us-west-1"])
        env = base
        env["AWS_PROFILE"] = "missing"
        env["AWS_REGION"] = "us-east-1"
        XCTAssertThrowsError(try AWSEnvironment.resolve(explicitRegion: nil, environment: env)) { e in
            XCTAssertTrue((e as? SecretStoreError)?.errorDescription?.contains("no AWS credentials") == true)
        }
    }

    func testAWSEndpoints() {
        let env = ["AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:6000/"]
        XCTAssertEqual(AWSEnvironment.endpoint(service: "ssm", envSuffix: "SSM", region: "r", environment: env), "http://127.0.0.1:6000/")
        XCTAssertEqual(AWSEnvironment.endpoint(service: "secretsmanager", envSuffix: "SECRETS_MANAGER", region: "r", environment: env),
                       "http://127.0.0.1:5000/")
        XCTAssertEqual(AWSEnvironment.endpoint(service: "ssm", envSuffix: "SSM", region: "eu-west-1", environment: [:]),
                       "https://ssm.eu-west-1.amazonaws.com/")
    }

    func testStaticValidationReportsPositions() throws {
        let yaml = """
        store: {provider: gcp, project: univprepai}
        name: seedtest/database-url
        value: x
        ---
        store: {provider: vault}
        name: x
        ---
        store:
          provider: gcp
        name: ok
        ---
        store: {provider: aws-ssm, region: eu-west-1, zone: a}
        name: "${{ vars.name }}"
        """
        let docs = try YAMLParser.parse(yaml, file: "rb.yaml")
        var d: [Diagnostic] = []
        for doc in docs { SecretPutAction.validate(doc, file: "rb.yaml", into: &d) }
        let lines = d.map(\.description)
        XCTAssertEqual(d.count, 4, "\(lines)")
        XCTAssertTrue(lines[0].hasPrefix("rb.yaml:2:7: secret.put: 'seedtest/database-url' is not a valid GCP secret id"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("rb.yaml:5:19: secret.put: unknown secret store provider 'vault'"), lines[1])
        XCTAssertTrue(lines[2].contains("store.project is required"), lines[2])
        XCTAssertTrue(lines[3].hasPrefix("rb.yaml:12:47: secret.put: unknown store key 'zone'"), lines[3])
    }

    func testSQLStaticValidation() throws {
        let yaml = """
        dsn: "${{ steps.a.outputs.value }}"
        query: select 1
        readonly: maybe
        expect: {rows: -1, wrong: 2}
        """
        let doc = try XCTUnwrap(YAMLParser.parse(yaml, file: "q.yaml").first)
        var d: [Diagnostic] = []
        SQLQueryAction.validate(doc, file: "q.yaml", into: &d)
        XCTAssertEqual(d.map(\.description), [
            "q.yaml:3:11: sql.query: readonly must be true or false, not 'maybe'",
            "q.yaml:4:16: sql.query: expect.rows must be a whole number of rows, not '-1'",
            "q.yaml:4:20: sql.query: unknown expectation 'wrong' (use rows, min_rows, max_rows, equals)",
        ])
    }
}
