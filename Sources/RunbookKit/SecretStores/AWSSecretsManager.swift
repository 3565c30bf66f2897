import Foundation

/// AWS Secrets Manager: values as `SecretString`; plain reads return the version labelled
/// `AWSCURRENT` (each put moves it, and AWSPREVIOUS, to the new version).
public struct AWSSecretsManager: SecretStore {
    let api: AWSJSONClient
    let region: String

    public func label(_ name: String) -> String { "Secrets Manager secret \(name) (\(region))" }

    public func current(_ name: String) async throws -> SecretCurrent {
        do {
            return .present(try await get(name, version: nil))
        } catch let e as AWSJSONClient.ServiceError where e.type == "ResourceNotFoundException" {
            // Also the answer for a secret without an AWSCURRENT version: tell the two apart.
            guard let stages = try await versionStages(name) else { return .absent }
            return .unreadable(latest: stages.first { $0.value.contains("AWSCURRENT") }?.key)
        } catch let e as AWSJSONClient.ServiceError {
            throw api.unexpected(e, label(name))
        }
    }

    public func read(_ name: String, version: String?) async throws -> SecretVersion {
        do {
            return try await get(name, version: version)
        } catch let e as AWSJSONClient.ServiceError {
            throw api.unexpected(e, version.map { "version \($0) of \(label(name))" } ?? label(name))
        }
    }

    private func get(_ name: String, version: String?) async throws -> SecretVersion {
        var body: Value = ["SecretId": .string(name)]
        // Plain reads name AWSCURRENT explicitly: that is what AWS does without a stage, and moto
        // (the sandbox) otherwise keeps returning the newest version after a label move.
        if let version { body["VersionId"] = .string(version) } else { body["VersionStage"] = "AWSCURRENT" }
        let answer = try await api.call("GetSecretValue", body)
        guard let id = answer["VersionId"]?.stringValue else {
            throw SecretStoreError.badResponse(store: api.transport.store, reason: "GetSecretValue without VersionId")
        }
        guard let value = answer["SecretString"]?.stringValue else {
            throw SecretStoreError.rejected(store: api.transport.store, status: 200,
                                            reason: "\(label(name)) holds SecretBinary, not a SecretString")
        }
        return SecretVersion(version: id, value: value)
    }

    /// VersionId → staging labels, or nil when the secret does not exist.
    func versionStages(_ name: String) async throws -> [String: [String]]? {
        do {
            let answer = try await api.call("DescribeSecret", ["SecretId": .string(name)])
            var out: [String: [String]] = [:]
            for m in answer["VersionIdsToStages"]?.objectValue ?? Object() {
                out[m.key] = m.value.arrayValue?.compactMap(\.stringValue) ?? []
            }
            return out
        } catch let e as AWSJSONClient.ServiceError where e.type == "ResourceNotFoundException" {
            return nil
        } catch let e as AWSJSONClient.ServiceError {
            throw api.unexpected(e, label(name))
        }
    }

    public func create(_ name: String, value: String, requestToken: String) async throws -> String {
        do {
            let answer = try await api.call("CreateSecret", [
                "Name": .string(name), "SecretString": .string(value), "ClientRequestToken": .string(requestToken),
            ])
            return try versionID(answer, "CreateSecret")
        } catch let e as AWSJSONClient.ServiceError where e.type == "ResourceExistsException" {
            // A create whose answer was lost, retried: the secret holding this value is ours.
            if case .present(let v) = try await current(name), v.value == value { return v.version }
            return try await addVersion(name, value: value, requestToken: requestToken)
        } catch let e as AWSJSONClient.ServiceError {
            throw api.unexpected(e, label(name))
        }
    }

    /// `requestToken` is the idempotency token: a resumed step sends the same one, so Secrets
    /// Manager does not make a second version.
    public func addVersion(_ name: String, value: String, requestToken: String) async throws -> String {
        do {
            // The request token makes a replay idempotent on AWS; a store that does not honour it
            // is checked too: the value already current means the lost attempt got through.
            let sent = try await api.callWrite("PutSecretValue", [
                "SecretId": .string(name), "SecretString": .string(value), "ClientRequestToken": .string(requestToken),
            ]) {
                if case .present(let v) = try await self.current(name), v.value == value { return true }
                return false
            }
            guard let answer = sent else {
                guard case .present(let v) = try await current(name) else {
                    throw SecretStoreError.badResponse(store: api.transport.store, reason: "the value put into \(label(name)) is gone")
                }
                return v.version
            }
            return try versionID(answer, "PutSecretValue")
        } catch let e as AWSJSONClient.ServiceError {
            throw api.unexpected(e, label(name))
        }
    }

    private func versionID(_ answer: Value, _ op: String) throws -> String {
        guard let id = answer["VersionId"]?.stringValue else {
            throw SecretStoreError.badResponse(store: api.transport.store, reason: "\(op) without VersionId")
        }
        return id
    }

    public func delete(_ name: String) async throws {
        do {
            _ = try await api.call("DeleteSecret", ["SecretId": .string(name), "ForceDeleteWithoutRecovery": true])
        } catch let e as AWSJSONClient.ServiceError where e.type == "ResourceNotFoundException" {
            return
        } catch let e as AWSJSONClient.ServiceError {
            throw api.unexpected(e, label(name))
        }
    }

    /// Puts the prior value (read back from its version) again as the new AWSCURRENT version.
    /// Moving the AWSCURRENT label back would be the AWS-native undo, but readers that ask
    /// without a stage on moto (the sandbox, and ESO there) keep seeing the newest version after
    /// a label move; a new version reads the same everywhere. The token makes a repeated
    /// rollback reuse the same version.
    public func restore(_ name: String, previous: String, added: String?) async throws {
        let prior = try await read(name, version: previous)
        if case .present(let now) = try await current(name), now.value == prior.value { return }
        let token = RequestToken.make(runID: "restore", stepID: added ?? previous, name: name, value: prior.value)
        _ = try await addVersion(name, value: prior.value, requestToken: token)
    }

    /// No prior AWSCURRENT: take the label off the added version so plain reads fail as before.
    public func retire(_ name: String, version: String) async throws {
        guard let stages = try await versionStages(name), stages[version]?.contains("AWSCURRENT") == true else { return }
        do {
            _ = try await api.call("UpdateSecretVersionStage", [
                "SecretId": .string(name), "VersionStage": "AWSCURRENT", "RemoveFromVersionId": .string(version),
            ])
        } catch let e as AWSJSONClient.ServiceError {
            throw api.unexpected(e, label(name))
        }
    }
}
