import CYAML
import Foundation

/// Parses YAML text into `YAMLNode` trees through libyaml's event API.
///
/// Every document of the stream is returned in order. Anchors and aliases are resolved (an alias
/// becomes a copy of the anchored node, with the anchor's marks). Syntax errors throw
/// `RunbookError.invalid` with libyaml's own problem and position.
public enum YAMLParser {
    public static func parse(_ text: String, file: String) throws -> [YAMLNode] {
        var bytes = Array(text.utf8)
        if bytes.isEmpty { bytes = [0x0A] }
        return try bytes.withUnsafeBufferPointer { buffer in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else {
                throw RunbookError.invalid([Diagnostic(file: file, mark: Mark(line: 1, column: 1), message: "could not start the YAML parser")])
            }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var builder = Builder(file: file)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    throw RunbookError.invalid([syntaxError(parser, file: file)])
                }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { break }
                try builder.handle(event)
            }
            return builder.documents
        }
    }

    private static func syntaxError(_ parser: yaml_parser_t, file: String) -> Diagnostic {
        let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        var message = "YAML syntax error: \(problem)"
        if let context = parser.context.map({ String(cString: $0) }) {
            message += " (\(context) at line \(parser.context_mark.line + 1), column \(parser.context_mark.column + 1))"
        }
        let mark = Mark(line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1)
        return Diagnostic(file: file, mark: mark, message: message)
    }
}

/// Assembles nodes from the event stream.
private struct Builder {
    enum Open {
        case sequence([YAMLNode], Mark, anchor: String?)
        case mapping([(key: YAMLNode, value: YAMLNode)], pendingKey: YAMLNode?, Mark, anchor: String?)
    }

    let file: String
    var documents: [YAMLNode] = []
    var stack: [Open] = []
    var anchors: [String: YAMLNode] = [:]
    var root: YAMLNode?
    /// Caps, as Kubernetes' own YAML decoding caps aliases: a runbook is input like any other,
    /// and a hostile one ("billion laughs", thousands of nested collections) must be refused with
    /// a position at once, in bounded memory, instead of stalling or overflowing the stack later.
    static let maxDepth = 128
    static let maxNodes = 250_000
    /// Node counts of the open collections, and of each anchor, counting what aliases expand to.
    var sizes: [Int] = []
    var anchorSizes: [String: Int] = [:]
    var documentNodes = 0

    init(file: String) { self.file = file }

    mutating func handle(_ event: yaml_event_t) throws {
        let mark = Mark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            root = nil
            anchors = [:]
            anchorSizes = [:]
            documentNodes = 0
        case YAML_DOCUMENT_END_EVENT:
            documents.append(root ?? .scalar("", plain: true, tag: nil, mark))
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let text = s.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: s.length), as: UTF8.self) } ?? ""
            let tag = s.tag.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            let node = YAMLNode.scalar(text, plain: s.style == YAML_PLAIN_SCALAR_STYLE, tag: tag, mark)
            if let a = Self.string(s.anchor) { anchors[a] = node; anchorSizes[a] = 1 }
            try count(1, at: mark)
            add(node)
        case YAML_ALIAS_EVENT:
            let name = Self.string(event.data.alias.anchor) ?? ""
            guard let node = anchors[name] else {
                throw RunbookError.invalid([Diagnostic(file: file, mark: mark, message: "YAML alias *\(name) refers to no anchor")])
            }
            try count(anchorSizes[name] ?? 1, at: mark, alias: name)
            add(node)
        case YAML_SEQUENCE_START_EVENT:
            try open(at: mark)
            stack.append(.sequence([], mark, anchor: Self.string(event.data.sequence_start.anchor)))
        case YAML_MAPPING_START_EVENT:
            try open(at: mark)
            stack.append(.mapping([], pendingKey: nil, mark, anchor: Self.string(event.data.mapping_start.anchor)))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let open = stack.popLast() else { return }
            let size = sizes.popLast() ?? 1
            if !sizes.isEmpty { sizes[sizes.count - 1] += size }
            let node: YAMLNode
            let anchor: String?
            switch open {
            case .sequence(let items, let m, let a): node = .sequence(items, m); anchor = a
            case .mapping(let pairs, _, let m, let a): node = .mapping(pairs, m); anchor = a
            }
            if let anchor { anchors[anchor] = node; anchorSizes[anchor] = size }
            add(node)
        default:
            break
        }
    }

    /// A collection starts: one node, one level deeper.
    private mutating func open(at mark: Mark) throws {
        guard stack.count < Self.maxDepth else {
            throw RunbookError.invalid([Diagnostic(file: file, mark: mark, message:
                "YAML nested deeper than \(Self.maxDepth) levels; a runbook never needs that")])
        }
        try count(1, at: mark, child: false)  // its own node: in its size, added to the parent at its end
        sizes.append(1)
    }

    /// Counts `n` nodes (a scalar, a collection, or what an alias expands to) into the document.
    private mutating func count(_ n: Int, at mark: Mark, alias: String? = nil, child: Bool = true) throws {
        documentNodes += n
        if child, !sizes.isEmpty { sizes[sizes.count - 1] += n }
        guard documentNodes <= Self.maxNodes else {
            let why = alias.map { " (the alias *\($0) expands to \(anchorSizes[$0] ?? 0) nodes)" } ?? ""
            throw RunbookError.invalid([Diagnostic(file: file, mark: mark, message:
                "YAML document expands to more than \(Self.maxNodes) nodes\(why); aliases of aliases multiply (\"billion laughs\")")])
        }
    }

    private mutating func add(_ node: YAMLNode) {
        guard let top = stack.popLast() else { root = node; return }
        switch top {
        case .sequence(var items, let m, let a):
            items.append(node)
            stack.append(.sequence(items, m, anchor: a))
        case .mapping(var pairs, let key, let m, let a):
            if let key {
                pairs.append((key: key, value: node))
                stack.append(.mapping(pairs, pendingKey: nil, m, anchor: a))
            } else {
                stack.append(.mapping(pairs, pendingKey: node, m, anchor: a))
            }
        }
    }

    private static func string(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        p.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
    }
}
