import ArgumentParser
import Foundation
import RunbookKit

/// Glue between parsed arguments and RunbookKit: one top-level error → exit code mapping.
enum CLI {
    static var cwd: URL { URL(fileURLWithPath: FileManager.default.currentDirectoryPath) }
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// Runs `body`, prints any error (masked) and exits with the SPEC §1 code.
    /// With `--output json` the error is also one JSON object on stdout.
    static func perform(masker: Masker, output: OutputFormat = .text, _ body: () async throws -> Int32) async throws {
        let code: Int32
        do {
            code = try await body()
        } catch {
            // A flag value refused after parsing is still a usage error (exit 2), like a parse error.
            let error = (error as? ValidationError).map { RunbookError.usage($0.message) } ?? error
            report(error, masker: masker, output: output)
            code = ErrorReport.exitCode(for: error)
        }
        if code != 0 { throw ExitCode(code) }
    }

    /// Text on stderr; with `--output json` also `{"event":"error",…}` on stdout.
    static func report(_ error: any Error, masker: Masker, output: OutputFormat) {
        for line in ErrorReport.lines(for: error, masker: masker) { Console.err(line) }
        if output == .json { Console.out(ErrorReport.json(for: error, masker: masker).jsonString()) }
    }

    static func engineOptions(state: StateDirOption, cluster: ClusterOptions?, yes: Bool) throws -> EngineOptions {
        var clients = ClientOptions(kubeconfig: cluster?.kubeconfig, context: cluster?.context, environment: environment)
        clients.requests = try cluster?.requests.policy()
            ?? RequestPolicy.resolve(timeoutFlag: nil, retriesFlag: nil, environment: environment)
        var o = EngineOptions(store: state.store, stateDirHint: state.hint, environment: environment, clients: clients)
        o.yes = yes
        o.lockMode = cluster?.lock
        o.runsNamespace = try cluster?.runsNamespace() ?? LockMode.runsNamespace(flag: nil, environment: environment)
        return o
    }

    static func loadRunbook(_ reference: String) throws -> Runbook {
        try RunbookLoader.load(try RunbookLoader.resolve(reference, cwd: cwd, environment: environment))
    }

    static func run(_ o: RunOptions, dryRun: Bool) async throws {
        let masker = Masker()
        try await perform(masker: masker, output: o.output.output) {
            let runbook = try loadRunbook(o.runbook)
            var options = try engineOptions(state: o.state, cluster: o.cluster, yes: o.yes)
            options.dryRun = dryRun
            options.noRollback = o.noRollback
            let reporter = o.output.output.makeReporter(masker: masker)
            return try await Runner.run(runbook, cliVars: o.vars.vars, varsFile: o.vars.varsFileURL, options: options,
                                        masker: masker, reporter: reporter).exitCode
        }
    }
}
