import Foundation

/// Finds runbook files and loads them into validated `Runbook` values.
public enum RunbookLoader {
    /// `<runbook>` as SPEC §1: a path (anything with a `/` or a `.yaml`/`.yml` ending, or an
    /// existing file), or a name looked up as `./runbooks/<name>.yaml`, then `<dir>/<name>.yaml`
    /// for each directory of `RUNBOOK_PATH` (colon-separated). `.yml` is accepted beside `.yaml`.
    public static func resolve(_ reference: String, cwd: URL, environment: [String: String]) throws -> URL {
        let fm = FileManager.default
        let cwd = URL(fileURLWithPath: cwd.path, isDirectory: true)
        let looksLikePath = reference.contains("/") || reference.hasSuffix(".yaml") || reference.hasSuffix(".yml")
        let asPath = reference.hasPrefix("/") ? URL(fileURLWithPath: reference) : URL(fileURLWithPath: reference, relativeTo: cwd)
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: asPath.path, isDirectory: &isDir) {
            if !isDir.boolValue { return asPath }
            if looksLikePath {
                throw RunbookError.usage("\(reference) is a directory; give a runbook file in it (e.g. \(reference.hasSuffix("/") ? reference : reference + "/")NAME.yaml) or a runbook name")
            }
        }
        if looksLikePath { throw RunbookError.notFound("runbook file \(reference) does not exist") }
        let dirs = searchDirectories(cwd: cwd, environment: environment)
        for dir in dirs {
            for ext in ["yaml", "yml"] {
                let candidate = dir.appendingPathComponent("\(reference).\(ext)")
                if fm.fileExists(atPath: candidate.path) { return candidate }
            }
        }
        let searched = dirs.map { $0.relativePath }.joined(separator: ", ")
        let known = discover(cwd: cwd, environment: environment).map(\.name)
        throw RunbookError.notFound("no runbook named '\(reference)' in \(searched)\(Suggestion.hint(for: reference, in: known)) "
            + "(see `runbook list`; set RUNBOOK_PATH to add directories)")
    }

    /// Reads, parses and validates a runbook. Throws `RunbookError.invalid` with every diagnostic
    /// of the file (YAML syntax errors stop at the first, as libyaml does), or `.notFound`.
    public static func load(_ file: URL) throws -> Runbook {
        try load(file, validator: RunbookValidator())
    }

    /// `load` with a chosen validator (e.g. one that knows a given set of actions).
    public static func load(_ file: URL, validator: RunbookValidator) throws -> Runbook {
        let display = file.relativePath
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw RunbookError.notFound("cannot read runbook \(display): \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RunbookError.invalid([Diagnostic(file: display, mark: Mark(line: 1, column: 1), message: "the file is not UTF-8 text")])
        }
        let documents = try YAMLParser.parse(text, file: display)
        return try validator.validate(documents, file: file, displayPath: display, sha256: SHA256.hex(data))
    }

    /// For `runbook list`: every `*.yaml`/`*.yml` in `./runbooks`, then in each `RUNBOOK_PATH`
    /// directory, sorted by name within a directory. A name found twice is listed once (the first,
    /// which is also what `resolve` picks). Files that do not parse are listed without description.
    public static func discover(cwd: URL, environment: [String: String]) -> [(name: String, description: String?, file: URL)] {
        let fm = FileManager.default
        var seen: Set<String> = []
        var result: [(name: String, description: String?, file: URL)] = []
        for dir in searchDirectories(cwd: cwd, environment: environment) {
            guard let entries = try? fm.contentsOfDirectory(atPath: dir.path) else { continue }
            for entry in entries.sorted() where entry.hasSuffix(".yaml") || entry.hasSuffix(".yml") {
                let file = dir.appendingPathComponent(entry)
                let name = file.deletingPathExtension().lastPathComponent
                guard seen.insert(name).inserted else { continue }
                var description: String?
                if let text = try? String(contentsOf: file, encoding: .utf8),
                   let doc = try? YAMLParser.parse(text, file: file.path).first
                {
                    description = doc["metadata"]?["description"]?.scalarText
                }
                result.append((name: name, description: description, file: file))
            }
        }
        return result
    }

    static func searchDirectories(cwd: URL, environment: [String: String]) -> [URL] {
        let cwd = URL(fileURLWithPath: cwd.path, isDirectory: true)
        var dirs = [URL(fileURLWithPath: "runbooks", relativeTo: cwd)]
        for part in (environment["RUNBOOK_PATH"] ?? "").split(separator: ":") where !part.isEmpty {
            let p = String(part)
            dirs.append(p.hasPrefix("/") ? URL(fileURLWithPath: p) : URL(fileURLWithPath: p, relativeTo: cwd))
        }
        return dirs
    }
}
