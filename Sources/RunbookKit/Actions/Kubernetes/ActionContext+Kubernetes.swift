import Foundation

extension ActionContext {
    /// `apiVersion`, `kind`, `namespace` (default: the context's), `name` from `with`.
    func objectRef(_ client: KubeClient, apiVersion: String? = nil, kind: String? = nil) throws -> ObjectRef {
        ObjectRef(apiVersion: try apiVersion ?? string("apiVersion"), kind: try kind ?? string("kind"),
                  namespace: try optionalString("namespace") ?? client.defaultNamespace, name: try string("name"))
    }

    /// A YAML or JSON file (relative to the runbook) as values, one per document, with
    /// expressions evaluated against `scope`.
    func documents(fromFile key: String) throws -> [Value] {
        let url = try path(key)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw ActionError.invalidInput("\(stepID): cannot read \(key) \(url.path)")
        }
        do {
            return try YAMLParser.parse(text, file: url.path).map { node in
                try Expressions.evaluate(node, scope: scope, file: url.path)
            }.filter { !$0.isNull }
        } catch let e as ActionError {
            throw e
        } catch {
            throw ActionError.invalidInput("\(url.path): \(error.localizedDescription)")
        }
    }
}

extension Value {
    var resourceVersion: String? { lookup("metadata.resourceVersion")?.stringValue }
}
