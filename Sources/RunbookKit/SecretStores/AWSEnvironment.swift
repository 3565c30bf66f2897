import Foundation

/// AWS credentials, region and endpoints, found the way the AWS CLI and SDKs find them:
/// environment first, then the shared credentials and config files of `AWS_PROFILE`.
public struct AWSEnvironment: Sendable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    public var region: String

    /// Resolves credentials and the region (`explicitRegion` from the runbook wins).
    public static func resolve(explicitRegion: String?, environment env: [String: String]) throws -> AWSEnvironment {
        let profile = nonEmpty(env["AWS_PROFILE"]) ?? nonEmpty(env["AWS_DEFAULT_PROFILE"]) ?? "default"
        let home = nonEmpty(env["HOME"]) ?? NSHomeDirectory()
        let credentialsPath = nonEmpty(env["AWS_SHARED_CREDENTIALS_FILE"]) ?? "\(home)/.aws/credentials"
        let configPath = nonEmpty(env["AWS_CONFIG_FILE"]) ?? "\(home)/.aws/config"

        guard let region = explicitRegion ?? defaultRegion(environment: env) else {
            throw SecretStoreError.invalidInput(
                "no AWS region: set store.region in the runbook, or AWS_REGION, or region in \(configPath) for profile \(profile)")
        }
        if let key = nonEmpty(env["AWS_ACCESS_KEY_ID"]), let secret = nonEmpty(env["AWS_SECRET_ACCESS_KEY"]) {
            return AWSEnvironment(accessKeyID: key, secretAccessKey: secret,
                                  sessionToken: nonEmpty(env["AWS_SESSION_TOKEN"]), region: region)
        }
        let files = [(credentialsPath, profile), (configPath, profile == "default" ? "default" : "profile \(profile)")]
        for (path, section) in files {
            guard let ini = INIFile(path: path), let values = ini.sections[section] else { continue }
            if let key = nonEmpty(values["aws_access_key_id"]), let secret = nonEmpty(values["aws_secret_access_key"]) {
                return AWSEnvironment(accessKeyID: key, secretAccessKey: secret,
                                      sessionToken: nonEmpty(values["aws_session_token"]), region: region)
            }
        }
        throw SecretStoreError.credentials(
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give profile '\(profile)' "
                + "aws_access_key_id and aws_secret_access_key in \(credentialsPath) (AWS_PROFILE picks the profile)")
    }

    /// The region when the runbook names none: AWS_REGION, AWS_DEFAULT_REGION, then the config file.
    public static func defaultRegion(environment env: [String: String]) -> String? {
        if let r = nonEmpty(env["AWS_REGION"]) ?? nonEmpty(env["AWS_DEFAULT_REGION"]) { return r }
        let profile = nonEmpty(env["AWS_PROFILE"]) ?? nonEmpty(env["AWS_DEFAULT_PROFILE"]) ?? "default"
        let home = nonEmpty(env["HOME"]) ?? NSHomeDirectory()
        let configPath = nonEmpty(env["AWS_CONFIG_FILE"]) ?? "\(home)/.aws/config"
        let section = profile == "default" ? "default" : "profile \(profile)"
        return INIFile(path: configPath)?.sections[section]?["region"].flatMap(nonEmpty)
    }

    /// The service endpoint: `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then AWS's.
    public static func endpoint(service: String, envSuffix: String, region: String, environment env: [String: String]) -> String {
        let url = nonEmpty(env["AWS_ENDPOINT_URL_\(envSuffix)"]) ?? nonEmpty(env["AWS_ENDPOINT_URL"])
            ?? "https://\(service).\(region).amazonaws.com"
        return url.hasSuffix("/") ? url : url + "/"
    }

    func signer(service: String) -> AWSSigV4 {
        AWSSigV4(region: region, service: service, accessKeyID: accessKeyID, secretAccessKey: secretAccessKey,
                 sessionToken: sessionToken)
    }

    private static func nonEmpty(_ s: String?) -> String? {
        guard let s = s?.trimmingCharacters(in: .whitespaces), !s.isEmpty else { return nil }
        return s
    }
}
