/// Where objects of one apiVersion/kind live on the API server.
public struct KubeResource: Sendable, Hashable {
    public var group: String
    public var version: String
    public var kind: String
    /// The plural resource name in URLs (`deployments`).
    public var name: String
    public var namespaced: Bool

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    /// `/api/v1` or `/apis/GROUP/VERSION`.
    public var basePath: String { group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)" }

    /// The URL path of one object (or the collection when `name` is nil).
    public func path(namespace: String?, name objectName: String? = nil, subresource: String? = nil) -> String {
        var p = basePath
        if namespaced, let ns = namespace { p += "/namespaces/\(ns.urlPathEscaped)" }
        p += "/\(name)"
        if let n = objectName { p += "/\(n.urlPathEscaped)" }
        if let s = subresource { p += "/\(s)" }
        return p
    }
}

extension String {
    var urlPathEscaped: String {
        addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~:@"))) ?? self
    }

    var urlQueryEscaped: String {
        addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~"))) ?? self
    }
}
