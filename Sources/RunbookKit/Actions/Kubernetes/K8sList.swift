import Foundation

/// `k8s.list`: every object of a kind, in one namespace or (namespace omitted) in all of them,
/// filtered by `labelSelector` and `fieldSelector`. Reads page by page (`limit`, default 500,
/// and the server's `continue` token). Outputs `items` (each with its apiVersion and kind; a
/// Secret's data is registered with the masker) and `count`.
public struct K8sList: Action {
    public static let spec = ActionSpec(name: "k8s.list", required: ["apiVersion", "kind"],
                                        optional: ["namespace", "labelSelector", "fieldSelector", "limit"],
                                        mutating: false, dryRun: .execute)
    public init() {}

    public func preview(_ context: ActionContext) async throws -> Preview {
        let r = try await execute(context)
        return Preview(summary: r.summary ?? "listed", outputs: r.outputs)
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let client = try context.kubernetes.client()
        let apiVersion = try context.string("apiVersion")
        let kind = try context.string("kind")
        let namespace = try context.optionalString("namespace").flatMap { $0.isEmpty ? nil : $0 }
        let limit = try context.int("limit") ?? 500
        guard limit > 0 else { throw ActionError.invalidInput("\(context.stepID): limit must be a positive number") }
        let resource = try await client.resource(apiVersion: apiVersion, kind: kind)
        var query = ["limit=\(limit)"]
        if let s = try context.optionalString("labelSelector"), !s.isEmpty { query.append("labelSelector=\(s.urlQueryEscaped)") }
        if let s = try context.optionalString("fieldSelector"), !s.isEmpty { query.append("fieldSelector=\(s.urlQueryEscaped)") }
        let base = resource.path(namespace: resource.namespaced ? namespace : nil)
        var items: [Value] = []
        var token: String?
        var pages = 0
        repeat {
            let path = base + "?" + (query + (token.map { ["continue=\($0.urlQueryEscaped)"] } ?? [])).joined(separator: "&")
            let page = try await client.request("GET", path)
            for var item in page["items"]?.arrayValue ?? [] {
                if case .object(let o) = item, o["apiVersion"] == nil || o["kind"] == nil {
                    // A list's items lack both: one copy of the members, sized for them (kept for
                    // the run, a thousand listed objects must not keep room for more).
                    var members = [Object.Member]()
                    members.reserveCapacity(o.count + 2)
                    members += o.members
                    if o["apiVersion"] == nil { members.append(.init(key: "apiVersion", value: .string(apiVersion))) }
                    if o["kind"] == nil { members.append(.init(key: "kind", value: .string(kind))) }
                    item = .object(Object(members))
                }
                if kind == "Secret" { K8sGet.registerSecretData(item, masker: context.masker) }
                items.append(item)
            }
            token = page["metadata"]?["continue"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            pages += 1
        } while token != nil
        let scope = resource.namespaced ? (namespace.map { "in namespace \($0)" } ?? "in all namespaces") : "(cluster-wide)"
        return ActionResult(outputs: ["items": .array(items), "count": .int(items.count)],
                            summary: "\(items.count) \(kind)\(items.count == 1 ? "" : "s") \(scope)"
                                + (pages > 1 ? " in \(pages) pages" : ""))
    }
}
