/// What expressions can see: `vars.*`, `steps.ID.outputs.*`, `env.*`, `run.id`.
public struct Scope: Sendable {
    public var vars: [String: Value]
    public var outputs: [String: [String: Value]]
    public var env: [String: String]
    public var runID: String
    /// Names bound by enclosing `foreach` groups (`as: NAME`), read as `NAME.field[0]…`.
    public var locals: [String: Value] = [:]

    public init(vars: [String: Value] = [:], outputs: [String: [String: Value]] = [:], env: [String: String] = [:], runID: String = "") {
        self.vars = vars
        self.outputs = outputs
        self.env = env
        self.runID = runID
    }
}
