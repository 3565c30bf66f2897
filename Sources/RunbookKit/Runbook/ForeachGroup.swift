import Foundation

/// A `foreach` group (a step of the runbook whose body runs once per item of a list).
///
/// Each item's steps are checkpointed and rolled back like steps; `concurrency` items are in
/// flight at once, the first `canary` items run alone first, and up to `maxFailures` items may
/// fail (each rolled back alone) before the whole run rolls back.
public struct ForeachGroup: Sendable {
    /// The `foreach:` value: an expression (or literal list) giving the items.
    public let items: YAMLNode
    /// The item's name inside the body (`as:`, default `item`).
    public let name: String
    public let concurrency: Int
    public let canary: Int
    public let maxFailures: Int
    /// The body: ordinary steps, run in order for each item.
    public let steps: [Step]
    /// `concurrency`, `canary` or `max_failures` given as an expression (`${{ vars.concurrency }}`),
    /// evaluated when the group starts; the numbers above are then only defaults.
    public let settings: [String: YAMLNode]

    public init(items: YAMLNode, name: String, concurrency: Int, canary: Int, maxFailures: Int, steps: [Step],
                settings: [String: YAMLNode] = [:])
    {
        self.items = items
        self.settings = settings
        self.name = name
        self.concurrency = concurrency
        self.canary = canary
        self.maxFailures = maxFailures
        self.steps = steps
    }

    /// The pseudo action name a group's record carries in `state.json`.
    public static let actionName = "foreach"
}
