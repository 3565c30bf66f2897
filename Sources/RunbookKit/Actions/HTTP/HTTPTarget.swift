import Foundation

/// Where `http.request` sends: a `url`, or a Service reached through the API server's service
/// proxy (`/api/v1/namespaces/NS/services/NAME:PORT/proxy/PATH`) with the run's cluster
/// credentials and connection.
enum HTTPTarget: Sendable {
    case url(String)
    case service(namespace: String, name: String, port: String, path: String)

    init(_ context: ActionContext) throws {
        let id = context.stepID
        let url = try context.optionalString("url")
        let service = context.with["service"].flatMap { $0.isNull ? nil : $0 }
        switch (url, service) {
        case (let u?, nil):
            guard u.hasPrefix("http://") || u.hasPrefix("https://") else {
                throw ActionError.invalidInput("\(id): url must start with http:// or https://, not \(u)")
            }
            if context.with["path"] != nil { throw ActionError.invalidInput("\(id): path goes with service, not url (put it in the url)") }
            self = .url(u)
        case (nil, let s?):
            guard s.objectValue != nil, let name = s["name"]?.interpolated, !name.isEmpty else {
                throw ActionError.invalidInput("\(id): service must be a mapping with name, namespace and port")
            }
            let ns = s["namespace"]?.interpolated ?? ""
            let port = s["port"]?.interpolated ?? ""
            var path = try context.optionalString("path") ?? "/"
            if !path.hasPrefix("/") { path = "/" + path }
            self = .service(namespace: ns, name: name, port: port, path: path)
        default:
            throw ActionError.invalidInput("\(id): http.request needs exactly one of url or service")
        }
    }

    /// For messages: the URL without credentials, or `service NS/NAME:PORT PATH`.
    var label: String {
        switch self {
        case .url(let u): return HTTPClient.redact(u)
        case .service(let ns, let name, let port, let path):
            return "service \(ns.isEmpty ? "" : "\(ns)/")\(name)\(port.isEmpty ? "" : ":\(port)") \(path)"
        }
    }

    /// The API server path of the service proxy.
    func proxyPath(defaultNamespace: String) -> String? {
        guard case .service(let ns, let name, let port, let path) = self else { return nil }
        let namespace = ns.isEmpty ? defaultNamespace : ns
        let target = port.isEmpty ? name : "\(name):\(port)"
        return "/api/v1/namespaces/\(namespace.urlPathEscaped)/services/\(target.urlPathEscaped)/proxy\(path)"
    }
}
