import Foundation

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
    var urlPathEscaped: String { percentEscaped(String.pathAllowed, also: "-._~:@") }

    var urlQueryEscaped: String { percentEscaped(String.queryAllowed, also: "-._~") }

    private static let pathAllowed = CharacterSet.alphanumerics.union(.init(charactersIn: "-._~:@"))
    private static let queryAllowed = CharacterSet.alphanumerics.union(.init(charactersIn: "-._~"))

    /// Every request escapes a name or two: one that needs no escape (ASCII letters, digits and
    /// `also`) comes back as it is without asking Foundation.
    private func percentEscaped(_ allowed: CharacterSet, also: StaticString) -> String {
        let extra = UnsafeBufferPointer(start: also.utf8Start, count: also.utf8CodeUnitCount)
        let plain = utf8.allSatisfy { b in
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || extra.contains(b)
        }
        return plain ? self : addingPercentEncoding(withAllowedCharacters: allowed) ?? self
    }
}
