import Foundation

/// The one place where errors become exit codes (SPEC §1) and text for people.
public enum ErrorReport {
    /// 2: usage, invalid runbook, bad references (nothing was contacted or changed);
    /// 4: the lock is held; 3: anything else stopped a command and needs a person.
    public static func exitCode(for error: any Error) -> Int32 {
        switch error {
        case is RunbookError: return 2
        case let e as StateError:
            switch e {
            case .locked, .unfinished: return 4
            case .runNotFound, .runNotFoundAnywhere, .noRuns: return 2
            case .io, .corrupt, .newerVersion: return 3
            }
        case let e as EngineError:
            switch e {
            case .notConfirmed, .timedOut, .needsYes: return 3
            default: return 2
            }
        case let e as TeamError: return e.exitCode
        default: return 3
        }
    }

    /// The lines to print on stderr, masked: every diagnostic of an invalid runbook.
    public static func lines(for error: any Error, masker: Masker) -> [String] {
        if case RunbookError.invalid(let diagnostics) = error {
            return diagnostics.map { masker.mask($0.description) }
                + ["error: \(diagnostics.count) problem\(diagnostics.count == 1 ? "" : "s") found; nothing was run"]
        }
        let text = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
        return ["error: " + masker.mask(text)]
    }
}
