import Foundation

extension ErrorReport {
    /// The error as one JSON object for `--output json` (besides the text on stderr):
    /// `{"event":"error","code":N,"message":…,"problems":[{file,line,column,message}]}`, masked.
    public static func json(for error: any Error, masker: Masker) -> Value {
        json(code: exitCode(for: error), message: message(for: error), diagnostics: diagnostics(of: error), masker: masker)
    }

    /// An error object for failures found outside the engine (argument parsing).
    public static func json(code: Int32, message: String, diagnostics: [Diagnostic] = [], masker: Masker) -> Value {
        let problems: [Value] = diagnostics.map {
            ["file": .string($0.file), "line": .int($0.mark.line), "column": .int($0.mark.column),
             "message": .string(masker.mask($0.message))]
        }
        return ["event": "error", "code": .int(Int(code)), "message": .string(masker.mask(message)), "problems": .array(problems)]
    }

    static func diagnostics(of error: any Error) -> [Diagnostic] {
        if case RunbookError.invalid(let diagnostics) = error { return diagnostics }
        return []
    }

    static func message(for error: any Error) -> String {
        if case RunbookError.invalid(let d) = error { return "\(d.count) problem\(d.count == 1 ? "" : "s") found; nothing was run" }
        return (error as? LocalizedError)?.errorDescription ?? String(describing: error)
    }
}
