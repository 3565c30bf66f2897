/// Small helpers for the static `validate` of the secret-store and SQL actions.
enum StaticCheck {
    /// The scalar's text when it holds no `${{ … }}` expression (only those can be checked early).
    static func literal(_ node: YAMLNode?) -> String? {
        guard let node, case .scalar(let text, _, _, _) = node, !text.contains("${{") else { return nil }
        return text
    }

    static func containsExpression(_ node: YAMLNode) -> Bool {
        switch node {
        case .scalar(let s, _, _, _): return s.contains("${{")
        case .sequence(let items, _): return items.contains(where: containsExpression)
        case .mapping(let pairs, _): return pairs.contains { containsExpression($0.key) || containsExpression($0.value) }
        }
    }

    /// Keys of a mapping node, with their nodes.
    static func pairs(_ node: YAMLNode) -> [(key: String, keyNode: YAMLNode, value: YAMLNode)] {
        guard case .mapping(let pairs, _) = node else { return [] }
        return pairs.compactMap { p in p.key.scalarText.map { ($0, p.key, p.value) } }
    }
}
