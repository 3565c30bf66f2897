import Foundation

/// `secret.generate`: a random value (`length` characters of the `base64`, `hex` or `alnum`
/// alphabet, from the system's cryptographic generator) as the secret output `value`. It is
/// masked everywhere and never checkpointed; a resumed run generates a fresh one, so a value
/// that must survive is stored with `secret.put` (`if_absent: true`) and read back (see
/// docs/RUNBOOKS.md, "One token across resumes and repeats").
public struct SecretGenerateAction: Action {
    public static let spec = ActionSpec(name: "secret.generate", required: [], optional: ["length", "alphabet"],
                                        secretOutputs: ["value"], mutating: false, dryRun: .preview)

    public init() {}

    /// The characters of each alphabet; every character is drawn uniformly.
    static let alphabets: [String: [Character]] = [
        "base64": Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
        "hex": Array("0123456789abcdef"),
        "alnum": Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
    ]
    static let defaultLength = 32
    static let lengths = 8...4096

    public static func validate(_ with: YAMLNode, file: String, into diagnostics: inout [Diagnostic]) {
        if let a = with["alphabet"], let s = a.scalarText, !s.contains("${{"), alphabets[s] == nil {
            diagnostics.append(Diagnostic(file: file, mark: a.mark, message: "secret.generate: alphabet must be base64, hex or alnum, not \(s)"))
        }
        if let l = with["length"], let s = l.scalarText, !s.contains("${{"), Int(s).map({ !lengths.contains($0) }) ?? true {
            diagnostics.append(Diagnostic(file: file, mark: l.mark,
                                          message: "secret.generate: length must be a whole number from \(lengths.lowerBound) to \(lengths.upperBound), not \(s)"))
        }
    }

    func parameters(_ context: ActionContext) throws -> (Int, String) {
        let length = try context.int("length") ?? SecretGenerateAction.defaultLength
        guard SecretGenerateAction.lengths.contains(length) else {
            throw ActionError.invalidInput("\(context.stepID): length must be from \(SecretGenerateAction.lengths.lowerBound) to \(SecretGenerateAction.lengths.upperBound), not \(length)")
        }
        let alphabet = try context.optionalString("alphabet") ?? "base64"
        guard SecretGenerateAction.alphabets[alphabet] != nil else {
            throw ActionError.invalidInput("\(context.stepID): alphabet must be base64, hex or alnum, not \(alphabet)")
        }
        return (length, alphabet)
    }

    /// `length` characters drawn uniformly from `alphabet` with the system's CSPRNG.
    static func generate(length: Int, alphabet: String) -> String {
        let chars = alphabets[alphabet] ?? alphabets["base64"]!
        var rng = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in chars[Int.random(in: 0..<chars.count, using: &rng)] })
    }

    public func preview(_ context: ActionContext) async throws -> Preview {
        let (length, alphabet) = try parameters(context)
        return Preview(summary: "generate a random \(length)-character \(alphabet) value (known only at run time, never shown)")
    }

    public func execute(_ context: ActionContext) async throws -> ActionResult {
        let (length, alphabet) = try parameters(context)
        let value = SecretGenerateAction.generate(length: length, alphabet: alphabet)
        context.masker.add(value)
        return ActionResult(outputs: ["value": .string(value)], summary: "generated a \(length)-character \(alphabet) value")
    }
}
