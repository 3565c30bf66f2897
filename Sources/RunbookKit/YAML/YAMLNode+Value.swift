import Foundation

extension YAMLNode {
    /// Converts to a `Value` with the YAML 1.2 core schema: plain scalars resolve to null, bool,
    /// int (decimal, `0x`, `0o`) or float (`.inf`, `.nan` too); quoted and block scalars are strings.
    /// Standard tags (`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`) override the resolution.
    /// Merge keys (`<<: *anchor`) are applied; keys already present win.
    public func toValue() -> Value {
        switch self {
        case .scalar(let text, let plain, let tag, _):
            return YAMLNode.resolveScalar(text, plain: plain, tag: tag)
        case .sequence(let items, _):
            return .array(items.map { $0.toValue() })
        case .mapping(let pairs, _):
            var object = Object()
            var merged: [Object] = []
            for pair in pairs {
                if case .scalar("<<", true, nil, _) = pair.key {
                    switch pair.value.toValue() {
                    case .object(let o): merged.append(o)
                    case .array(let list): merged.append(contentsOf: list.compactMap(\.objectValue))
                    default: break
                    }
                    continue
                }
                object[YAMLNode.keyString(pair.key)] = pair.value.toValue()
            }
            for source in merged {
                for member in source where object[member.key] == nil { object[member.key] = member.value }
            }
            return .object(object)
        }
    }

    /// A mapping key as a string: a scalar's text, anything else as JSON.
    static func keyString(_ key: YAMLNode) -> String {
        if case .scalar(let s, _, _, _) = key { return s }
        return key.toValue().jsonString()
    }

    static func resolveScalar(_ text: String, plain: Bool, tag: String?) -> Value {
        let shortTag = tag.map { $0.hasPrefix("tag:yaml.org,2002:") ? String($0.dropFirst(18)) : $0 }
        switch shortTag {
        case "str"?, "!"?: return .string(text)
        case "null"?: return .null
        case "bool"?: return coreBool(text).map(Value.bool) ?? .string(text)
        case "int"?: return coreInt(text).map(Value.int) ?? .string(text)
        case "float"?: return coreFloat(text).map(Value.double) ?? coreInt(text).map { .double(Double($0)) } ?? .string(text)
        default: break
        }
        guard plain else { return .string(text) }
        if ["", "~", "null", "Null", "NULL"].contains(text) { return .null }
        if let b = coreBool(text) { return .bool(b) }
        if let i = coreInt(text) { return .int(i) }
        if let d = coreFloat(text) { return .double(d) }
        return .string(text)
    }

    static func coreBool(_ s: String) -> Bool? {
        switch s {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }

    static func coreInt(_ s: String) -> Int? {
        if s.hasPrefix("0x"), s.count > 2 { return Int(s.dropFirst(2), radix: 16) }
        if s.hasPrefix("0o"), s.count > 2 { return Int(s.dropFirst(2), radix: 8) }
        var digits = Substring(s)
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(s.hasPrefix("+") ? String(s.dropFirst()) : s)
    }

    static func coreFloat(_ s: String) -> Double? {
        switch s {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default: break
        }
        // [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
        var chars = Array(s.unicodeScalars)
        if let f = chars.first, f == "-" || f == "+" { chars.removeFirst() }
        var i = 0
        func digits() -> Int {
            let start = i
            while i < chars.count, ("0"..."9").contains(chars[i]) { i += 1 }
            return i - start
        }
        let intDigits = digits()
        var fracDigits = 0
        if i < chars.count, chars[i] == "." { i += 1; fracDigits = digits() }
        guard intDigits > 0 || fracDigits > 0 else { return nil }
        if i < chars.count, chars[i] == "e" || chars[i] == "E" {
            i += 1
            if i < chars.count, chars[i] == "-" || chars[i] == "+" { i += 1 }
            guard digits() > 0 else { return nil }
        }
        guard i == chars.count else { return nil }
        var normalized = s
        if normalized.hasPrefix("+") { normalized.removeFirst() }
        if normalized.hasPrefix(".") { normalized = "0" + normalized }
        if normalized.hasPrefix("-.") { normalized = "-0" + normalized.dropFirst() }
        normalized = normalized.replacingOccurrences(of: ".e", with: ".0e").replacingOccurrences(of: ".E", with: ".0E")
        if normalized.hasSuffix(".") { normalized += "0" }
        return Double(normalized)
    }
}
