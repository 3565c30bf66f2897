import Foundation

/// Parsed templates by their text. Parsing is pure (the same text always gives the same parts),
/// and a `foreach` body evaluates the same scalars of the runbook for every item — a thousand
/// items parsed each template a thousand times. Bounded: when full it starts over, so texts that
/// are not the runbook's (few) cannot make it grow without end. Failed parses are not kept.
final class ExpressionTemplateCache: @unchecked Sendable {
    static let shared = ExpressionTemplateCache()
    /// Scalars with expressions in one runbook are far fewer.
    static let capacity = 4096

    private let lock = NSLock()
    private var parts: [String: [ExpressionParser.Part]] = [:]

    /// How many texts are kept.
    var count: Int { lock.withLock { parts.count } }

    /// The parts of `text` (`ExpressionParser.parseTemplate`), parsed once.
    func parts(of text: String) throws -> [ExpressionParser.Part] {
        if let known = lock.withLock({ parts[text] }) { return known }
        let parsed = try ExpressionParser.parseTemplate(text)
        lock.withLock {
            if parts.count >= ExpressionTemplateCache.capacity { parts.removeAll(keepingCapacity: true) }
            parts[text] = parsed
        }
        return parsed
    }
}
