import Foundation

/// `approve`: a person must say yes. `--yes` answers; a TTY asks; otherwise the run pauses.
public struct ApproveAction: Action {
    public static let spec = ActionSpec(name: "approve", required: ["message"], mutating: false, dryRun: .preview)

    public init() {}

    public func preview(_ context: ActionContext) async throws -> Preview {
        Preview(summary: "would ask for approval: \(try context.string("message"))")
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let message = try context.string("message")
        let interaction = context.interaction
        if interaction.yes { return ActionResult(outputs: ["approved": true], summary: "approved by --yes") }
        guard interaction.tty else { throw ApprovalRequired(message: message) }
        // Ctrl-C while the question waits stops the run as for any step (paused; resume asks again).
        guard try await Terminal.askUntilCancelled(context.masker.mask("\(context.stepID): \(message)\nApprove?")) else {
            throw ActionError.failed("approval refused: \(message)")
        }
        return ActionResult(outputs: ["approved": true], summary: "approved by \(Identity.userAtHost)")
    }
}
