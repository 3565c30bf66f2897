import Foundation
import XCTest

/// The layer rules of docs/DESIGN.md ("Layers"), checked on the source text: a folder of
/// `Sources/RunbookKit` may name only the types declared in itself and in the folders it may
/// depend on. Client folders (Kubernetes, SecretStores, SQL, HTTP…) thus never see `ActionError`,
/// `ActionContext` or the `Runner`; a new folder must be given a rule here and in DESIGN.
final class LayeringTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/RunbookKit")

    /// Folder → the folders it may use (besides itself). Keep in step with docs/DESIGN.md.
    static let rules: [String: Set<String>] = [
        "Core": [],
        "YAML": ["Core"],
        "HTTP": ["Core"],
        "Expressions": ["Core", "YAML"],
        "State": ["Core", "YAML"],
        "Kubernetes": ["Core", "YAML", "HTTP"],
        "SecretStores": ["Core", "YAML", "HTTP"],
        "SQL": ["Core", "YAML"],
        "Sealing": ["Core", "YAML", "HTTP"],
        "Runbook": ["Core", "YAML", "Expressions", "Actions"],
        "Output": ["Core", "YAML", "Expressions", "State", "Runbook"],
        "Actions": ["Core", "YAML", "HTTP", "Expressions", "State", "Kubernetes", "SecretStores", "SQL", "Sealing",
                    "Runbook", "Output"],
        // The top: the runner, and the team features around it (cluster lock, run records, rbac, job).
        "Engine": ["Core", "YAML", "HTTP", "Expressions", "State", "Kubernetes", "SecretStores", "SQL", "Sealing",
                   "Runbook", "Output", "Actions", "Team"],
        "Team": ["Core", "YAML", "HTTP", "Expressions", "State", "Kubernetes", "SecretStores", "SQL", "Sealing",
                 "Runbook", "Output", "Actions", "Engine"],
    ]

    func swiftFiles(in folder: URL) -> [URL] {
        let items = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?.allObjects as? [URL] ?? []
        return items.filter { $0.pathExtension == "swift" }
    }

    /// Source without comments and string literals (a word in a sentence is no dependency).
    func code(_ text: String) -> String {
        text.replacing(#/\/\*[\s\S]*?\*\//#, with: "")
            .replacing(#/\/\/[^\n]*/#, with: "")
            .replacing(#/"(?:\\.|[^"\\\n])*"/#, with: "\"\"")
    }

    /// Capitalised identifiers (whole ones: `ActionError.failed` gives `ActionError`).
    func typeNames(in code: String) -> Set<String> {
        Set(code.matches(of: #/[A-Za-z_][A-Za-z0-9_]*/#).map { String($0.output) }.filter { $0.first?.isUppercase == true })
    }

    func testEachFolderUsesOnlyTheLayersBelowIt() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.root.path)
            .filter { (try? Self.root.appendingPathComponent($0).resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true }
            .sorted()
        XCTAssertTrue(folders.contains("Kubernetes") && folders.contains("Engine"), "\(Self.root.path): \(folders)")
        // Top-level declarations only (a nested `Key` or `Kind` is not a layer's name).
        let declaration = #/(?m)^(?:public |internal |fileprivate |private |final |indirect )*(?:struct|enum|class|protocol|actor|typealias)\s+([A-Z]\w*)/#
        var owner: [String: String] = [:]
        var sources: [String: [(URL, String)]] = [:]
        for folder in folders {
            for file in swiftFiles(in: Self.root.appendingPathComponent(folder)) {
                let text = try String(contentsOf: file, encoding: .utf8)
                sources[folder, default: []].append((file, code(text)))
                for m in text.matches(of: declaration) { owner[String(m.output.1)] = owner[String(m.output.1)] ?? folder }
            }
        }
        for folder in folders {
            guard let allowed = Self.rules[folder] else {
                XCTFail("Sources/RunbookKit/\(folder) has no layer rule: add it to LayeringTests.rules and docs/DESIGN.md (Layers)")
                continue
            }
            for (file, text) in sources[folder] ?? [] {
                for name in typeNames(in: text).sorted() {
                    guard let home = owner[name], home != folder, !allowed.contains(home) else { continue }
                    XCTFail("\(folder)/\(file.lastPathComponent) uses \(name) from \(home)/, which \(folder)/ may not depend on")
                }
            }
        }
    }

    func testTheCheckSeesAClientFolderNamingAnEngineType() {
        // The scan must notice what it is there to forbid, and ignore comments and strings.
        let names = typeNames(in: code("let e = ActionError.failed(\"ActionContext\") /* Runner */ // RunClients\nlet c: KubeClient"))
        XCTAssertEqual(names, ["ActionError", "KubeClient"])
    }
}
