import Foundation

/// One line of `events.jsonl`: who did what, when, with which result. Already masked.
public struct AuditEvent: Sendable, Equatable {
    public var time: Date
    public var user: String
    public var host: String
    /// `run.started`, `step.started`, `step.finished`, `rollback.started`, `rollback.step.finished`, `run.finished`…
    public var event: String
    public var step: String?
    public var status: String?
    public var message: String?

    public init(time: Date = Date(), user: String = Identity.user, host: String = Identity.host, event: String,
                step: String? = nil, status: String? = nil, message: String? = nil)
    {
        self.time = time
        self.user = user
        self.host = host
        self.event = event
        self.step = step
        self.status = status
        self.message = message
    }

    public func toValue() -> Value {
        var o: Object = ["time": .string(Timestamp.format(time)), "user": .string(user), "host": .string(host),
                         "event": .string(event)]
        if let step { o["step"] = .string(step) }
        if let status { o["status"] = .string(status) }
        if let message { o["message"] = .string(message) }
        return .object(o)
    }
}
