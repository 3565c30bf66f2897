/// A parsed YAML node that remembers where it came from and the order of mapping keys.
public indirect enum YAMLNode: Sendable, Equatable {
    /// `plain` is true for unquoted scalars (only those resolve to null/bool/int/float).
    case scalar(String, plain: Bool, tag: String?, Mark)
    case sequence([YAMLNode], Mark)
    case mapping([(key: YAMLNode, value: YAMLNode)], Mark)

    public var mark: Mark {
        switch self {
        case .scalar(_, _, _, let m), .sequence(_, let m), .mapping(_, let m): return m
        }
    }

    public static func == (a: YAMLNode, b: YAMLNode) -> Bool {
        switch (a, b) {
        case let (.scalar(x, px, tx, mx), .scalar(y, py, ty, my)): return x == y && px == py && tx == ty && mx == my
        case let (.sequence(x, mx), .sequence(y, my)): return x == y && mx == my
        case let (.mapping(x, mx), .mapping(y, my)):
            return mx == my && x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// The value of `key` in a mapping node.
    public subscript(key: String) -> YAMLNode? {
        guard case .mapping(let pairs, _) = self else { return nil }
        return pairs.first { if case .scalar(key, _, _, _) = $0.key { return true } else { return false } }?.value
    }

    /// The scalar's text, when this is a scalar.
    public var scalarText: String? { if case .scalar(let s, _, _, _) = self { return s } else { return nil } }
}
