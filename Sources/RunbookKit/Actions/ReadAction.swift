/// An action that only reads or checks (`mutating: false, dryRun: .execute`: `k8s.get`,
/// `secret.get`, `assert`…). A dry-run executes it for real, so it needs no preview of its own:
/// the default preview is its execute.
public protocol ReadAction: Action {}

extension ReadAction {
    public func preview(_ context: ActionContext) async throws -> Preview {
        let result = try await execute(context)
        return Preview(summary: result.summary ?? "read", outputs: result.outputs)
    }
}
