import Foundation

/// AWS Systems Manager Parameter Store: values as `SecureString` parameters, one version per
/// `PutParameter` with `Overwrite`. Versions are numbers; `name:N` selects one.
public struct AWSParameterStore: SecretStore {
    let api: AWSJSONClient
    let region: String

    public func label(_ name: String) -> String { "SSM parameter \(name) (\(region))" }

    public func current(_ name: String) async throws -> SecretCurrent {
        do {
            return .present(try await get(name))
        } catch let e as AWSJSONClient.ServiceError where e.type == "ParameterNotFound" {
            return .absent
        } catch let e as AWSJSONClient.ServiceError {
            throw api.unexpected(e, label(name))
        }
    }

    public func read(_ name: String, version: String?) async throws -> SecretVersion {
        do {
            return try await get(version.map { "\(name):\($0)" } ?? name)
        } catch let e as AWSJSONClient.ServiceError {
            throw api.unexpected(e, version.map { "version \($0) of \(label(name))" } ?? label(name))
        }
    }

    private func get(_ selector: String) async throws -> SecretVersion {
        let answer = try await api.call("GetParameter", ["Name": .string(selector), "WithDecryption": true])
        guard let p = answer["Parameter"], let value = p["Value"]?.stringValue, let version = p["Version"]?.intValue else {
            throw SecretStoreError.badResponse(store: api.transport.store, reason: "GetParameter without Parameter.Value/Version")
        }
        return SecretVersion(version: String(version), value: value)
    }

    public func create(_ name: String, value: String, requestToken: String) async throws -> String {
        do {
            return try await put(name, value, overwrite: false)
        } catch let e as AWSJSONClient.ServiceError where e.type == "ParameterAlreadyExists" {
            // A create whose answer was lost, retried: the parameter holding this value is ours.
            if case .present(let v) = try await current(name), v.value == value { return v.version }
            return try await addVersion(name, value: value, requestToken: requestToken)
        } catch let e as AWSJSONClient.ServiceError {
            throw api.unexpected(e, label(name))
        }
    }

    public func addVersion(_ name: String, value: String, requestToken: String) async throws -> String {
        do {
            return try await put(name, value, overwrite: true)
        } catch let e as AWSJSONClient.ServiceError {
            throw api.unexpected(e, label(name))
        }
    }

    private func put(_ name: String, _ value: String, overwrite: Bool) async throws -> String {
        // Not idempotent (each put is a new version): before a retry, the value already there
        // means the lost attempt got through.
        let sent = try await api.callWrite("PutParameter", [
            "Name": .string(name), "Value": .string(value), "Type": "SecureString", "Overwrite": .bool(overwrite),
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
        guard let version = answer["Version"]?.intValue else {
            throw SecretStoreError.badResponse(store: api.transport.store, reason: "PutParameter without Version")
        }
        return String(version)
    }

    public func delete(_ name: String) async throws {
        do {
            _ = try await api.call("DeleteParameter", ["Name": .string(name)])
        } catch let e as AWSJSONClient.ServiceError where e.type == "ParameterNotFound" {
            return
        } catch let e as AWSJSONClient.ServiceError {
            throw api.unexpected(e, label(name))
        }
    }

    /// SSM cannot remove one version, so the prior value (read back from its version) is put
    /// again as a new version; reads of the name then return it as before.
    public func restore(_ name: String, previous: String, added: String?) async throws {
        let prior = try await read(name, version: previous)
        if case .present(let now) = try await current(name), now.value == prior.value { return }
        _ = try await addVersion(name, value: prior.value, requestToken: "")
    }

    /// Without a readable prior version the parameter itself was new or empty: nothing to return to.
    public func retire(_ name: String, version: String) async throws {}
}
