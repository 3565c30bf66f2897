import Foundation

/// `assert`: fails the step unless `that` is truthy or the two values of `equals` are equal.
public struct AssertAction: ReadAction {
    public static let spec = ActionSpec(name: "assert", required: [], optional: ["that", "equals", "message"],
                                        mutating: false, dryRun: .execute)

    public init() {}

    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        let hasThat = with["that"] != nil, equals = with["equals"]
        if hasThat == (equals != nil) {
            diagnostics.append(Diagnostic(file: file, mark: with.mark, message: "assert: give exactly one of `that` or `equals`"))
        }
        if let equals, case .sequence(let items, let mark) = equals, items.count != 2 {
            diagnostics.append(Diagnostic(file: file, mark: mark, message: "assert: equals takes exactly two values, [a, b]"))
        } else if let equals, case .mapping(_, let mark) = equals {
            diagnostics.append(Diagnostic(file: file, mark: mark, message: "assert: equals takes a list of two values, [a, b]"))
        }
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let message = try context.optionalString("message")
        if let that = context.with["that"] {
            guard that.isTruthy else {
                throw ActionError.failed("assertion failed: \(message ?? "`that` is not true") (got \(Self.show(that)))")
            }
            return ActionResult(summary: message.map { "holds: \($0)" } ?? "holds")
        }
        guard let pair = context.with["equals"]?.arrayValue, pair.count == 2 else {
            throw ActionError.invalidInput("\(context.stepID): assert needs `that` or `equals: [a, b]`")
        }
        guard Self.equal(pair[0], pair[1]) else {
            throw ActionError.failed("assertion failed: \(message ?? "values differ"): expected \(Self.show(pair[1])), got \(Self.show(pair[0]))")
        }
        return ActionResult(summary: message.map { "holds: \($0)" } ?? "equal")
    }

    /// Equal values, or scalars that read the same (`1` and `"1"`).
    static func equal(_ a: Value, _ b: Value) -> Bool {
        if a == b { return true }
        if let x = a.doubleValue, let y = b.doubleValue { return x == y }
        switch (a, b) {
        case (.array, _), (.object, _), (_, .array), (_, .object): return false
        default: return a.interpolated == b.interpolated
        }
    }

    static func show(_ v: Value) -> String { v.jsonString() }
}
