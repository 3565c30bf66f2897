import Foundation

/// `exec`: runs a program from an argument list (no shell). Rollback runs `undo` when given.
public struct ExecAction: Action {
    public static let spec = ActionSpec(name: "exec", required: ["command"], optional: ["env", "cwd", "timeout", "undo"],
                                        mutating: true, dryRun: .preview)

    public init() {}

    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        for key in ["command", "undo"] {
            guard let node = with[key] else { continue }
            switch node {
            case .sequence(let items, let mark):
                if items.isEmpty { diagnostics.append(Diagnostic(file: file, mark: mark, message: "exec: \(key) must not be empty")) }
            case .scalar(let text, _, _, let mark) where !text.contains("${{"):
                diagnostics.append(Diagnostic(file: file, mark: mark,
                                              message: "exec: \(key) must be a list of arguments (no shell), e.g. [\"kubectl\", \"get\", \"pods\"]"))
            case .mapping(_, let mark):
                diagnostics.append(Diagnostic(file: file, mark: mark, message: "exec: \(key) must be a list of arguments"))
            default: break
            }
        }
        if let env = with["env"], case .sequence(_, let mark) = env {
            diagnostics.append(Diagnostic(file: file, mark: mark, message: "exec: env must be a mapping of NAME: value"))
        }
    }

    public func preview(_ context: ActionContext) async throws -> Preview {
        let argv = try Self.arguments(context, "command")
        var summary = "run \(Self.display(argv))"
        if let undo = try Self.optionalArguments(context, "undo") { summary += " (undo: \(Self.display(undo)))" }
        return Preview(summary: summary)
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let argv = try Self.arguments(context, "command")
        let result = try await run(argv, context)
        let stdout = context.masker.mask(String(decoding: result.stdout, as: UTF8.self))
        for line in stdout.split(separator: "\n").suffix(20) { context.log(String(line)) }
        guard result.status == 0 else {
            throw ActionError.failed("\(Self.display(argv)) exited with status \(result.status)\(Self.tail(result.stderr, masker: context.masker))")
        }
        let undo = try Self.optionalArguments(context, "undo")
        let trimmed = stdout.hasSuffix("\n") ? String(stdout.dropLast()) : stdout
        return ActionResult(outputs: ["stdout": .string(trimmed), "exit_code": .int(Int(result.status))],
                            // The record is for the audit trail: rollback evaluates `with.undo` again
                            // (secret vars included), so the stored copy is masked.
                            rollback: undo.map { ["undo": .array($0.map { .string(context.masker.mask($0)) })] },
                            summary: "exit 0")
    }

    public func rollback(_ context: ActionContext, record: Value) async throws {
        let undo: [String]
        if let fromWith = try Self.optionalArguments(context, "undo") {
            undo = fromWith
        } else if let stored = record["undo"]?.arrayValue?.compactMap(\.stringValue), !stored.isEmpty,
                  !stored.contains(where: { $0.contains(Masker.placeholder) })
        {
            undo = stored
        } else {
            return
        }
        let result = try await run(undo, context)
        guard result.status == 0 else {
            throw ActionError.failed("undo \(Self.display(undo)) exited with status \(result.status)\(Self.tail(result.stderr, masker: context.masker))")
        }
    }

    func run(_ argv: [String], _ context: ActionContext) async throws -> Subprocess.Result {
        var env = ProcessInfo.processInfo.environment
        for m in context.with["env"]?.objectValue ?? Object() { env[m.key] = m.value.interpolated }
        let environment = env
        let cwd = try context.optionalString("cwd") == nil ? context.runbookDirectory : try context.path("cwd")
        let timeout = try context.duration("timeout")
        do {
            return try await Timeout.run(timeout) { try await Subprocess.run(argv, environment: environment, cwd: cwd) }
        } catch is Timeout.Expired {
            throw ActionError.failed("\(Self.display(argv)) did not finish within \(Int(timeout ?? 0))s and was stopped")
        } catch let e as Subprocess.Failure {
            throw ActionError.failed(e.errorDescription ?? "\(e)")
        }
    }

    static func arguments(_ context: ActionContext, _ key: String) throws -> [String] {
        guard let argv = try optionalArguments(context, key) else {
            throw ActionError.invalidInput("\(context.stepID): with.\(key) is required")
        }
        return argv
    }

    static func optionalArguments(_ context: ActionContext, _ key: String) throws -> [String]? {
        guard let v = context.with[key], !v.isNull else { return nil }
        guard let items = v.arrayValue, !items.isEmpty else {
            throw ActionError.invalidInput("\(context.stepID): with.\(key) must be a non-empty list of arguments")
        }
        return items.map(\.interpolated)
    }

    static func display(_ argv: [String]) -> String {
        argv.map { a in
            a.isEmpty || a.contains(where: { " \t\n'\"$`\\|&;<>()*?".contains($0) })
                ? "'" + a.replacingOccurrences(of: "'", with: "'\\''") + "'" : a
        }.joined(separator: " ")
    }

    /// The last lines of stderr, for the failure reason.
    static func tail(_ data: Data, masker: Masker) -> String {
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").suffix(10)
        return lines.isEmpty ? "" : ": " + masker.mask(lines.joined(separator: "\n"))
    }
}
