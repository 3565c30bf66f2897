import Foundation

/// Computes the values of a run's vars from defaults, `--vars-file` and `--var` (later wins).
public enum VarResolver {
    /// Merges defaults, `--vars-file` (a YAML mapping) and `--var NAME=VALUE` (strings, converted
    /// for `type: bool|int`). Unknown names, bad values and missing required vars throw
    /// `RunbookError.usage`. Declared vars without a value are null, so expressions can test them.
    public static func resolve(_ decls: [VarDecl], cli: [String], varsFile: URL?) throws -> [String: Value] {
        var values: [String: Value] = [:]
        var given: Set<String> = []
        for d in decls { values[d.name] = d.defaultValue ?? .null }
        func decl(_ name: String, _ source: String) throws -> VarDecl {
            guard let d = decls.first(where: { $0.name == name }) else {
                let names = decls.map(\.name).joined(separator: ", ")
                throw RunbookError.usage("\(source): unknown var '\(name)'\(Suggestion.hint(for: name, in: decls.map(\.name))); "
                    + "this runbook declares: \(names.isEmpty ? "none" : names)")
            }
            return d
        }
        if let varsFile {
            let display = varsFile.relativePath
            guard let text = try? String(contentsOf: varsFile, encoding: .utf8) else {
                throw RunbookError.usage("--vars-file \(display) cannot be read")
            }
            let docs: [YAMLNode]
            do { docs = try YAMLParser.parse(text, file: display) } catch let error as RunbookError {
                throw RunbookError.usage("--vars-file \(display): \(error.localizedDescription)")
            }
            let root = docs.first ?? .mapping([], Mark(line: 1, column: 1))
            switch root {
            case .mapping(let pairs, _):
                for (keyNode, valueNode) in pairs {
                    let name = YAMLNode.keyString(keyNode)
                    let where_ = "\(display):\(keyNode.mark.line):\(keyNode.mark.column)"
                    let d = try decl(name, where_)
                    values[name] = try convert(valueNode.toValue(), for: d, source: where_)
                    given.insert(name)
                }
            case .scalar where root.toValue() == .null:
                break
            default:
                throw RunbookError.usage("--vars-file \(display) must be a YAML mapping of var names to values")
            }
        }
        for item in cli {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw RunbookError.usage("--var \(item): expected NAME=VALUE")
            }
            let name = String(item[..<eq])
            let d = try decl(name, "--var \(name)")
            values[name] = try convert(.string(String(item[item.index(after: eq)...])), for: d, source: "--var \(name)")
            given.insert(name)
        }
        for d in decls where d.required && !given.contains(d.name) {
            throw RunbookError.usage("missing required var '\(d.name)': pass --var \(d.name)=VALUE or set it in --vars-file")
        }
        return values
    }

    /// Converts a value to the var's type; strings from the command line are parsed.
    static func convert(_ value: Value, for d: VarDecl, source: String) throws -> Value {
        func bad() -> RunbookError {
            let shown = d.secret ? "the given value" : "'\(value.interpolated)'"
            return .usage("\(source): var '\(d.name)' is of type \(d.kind.rawValue); \(shown) is not \(d.kind == .int ? "an int" : "a \(d.kind.rawValue)")")
        }
        switch (d.kind, value) {
        case (_, .null): return .null
        case (.string, .string): return value
        case (.string, .array), (.string, .object): throw bad()
        case (.string, _): return .string(value.interpolated)
        case (.bool, .bool): return value
        case (.bool, .string(let s)):
            switch s.lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: throw bad()
            }
        case (.int, .int): return value
        case (.int, .string(let s)):
            if let i = Int(s.trimmingCharacters(in: .whitespaces)) { return .int(i) }
            throw bad()
        default: throw bad()
        }
    }
}
