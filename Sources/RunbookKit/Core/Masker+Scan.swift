import Foundation

extension Masker {
    /// Characters that make up one word of an artifact together with letters and digits:
    /// `observer-prod`, `db_user`, `v1.2` are one word each.
    static let wordCharacters = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))

    /// Secrets of at least this many characters count wherever they appear, even inside a word.
    public static let embeddedSecretLength = 12

    /// True when `text` holds a registered secret (or a base64 form of one) as a word of its own,
    /// or a secret of `embeddedSecretLength` characters or more anywhere. A short secret that is an
    /// ordinary word inside a longer name (the user `observer` in the namespace `observer-prod`)
    /// does not count: it says nothing about the secret. Used to refuse writing secrets to disk.
    public func containsSecret(_ text: String) -> Bool {
        for needle in registered {
            var from = text.startIndex
            while let r = text.range(of: needle, range: from..<text.endIndex) {
                if needle.count >= Masker.embeddedSecretLength { return true }
                let before = r.lowerBound == text.startIndex ? nil : text[text.index(before: r.lowerBound)]
                let after = r.upperBound == text.endIndex ? nil : text[r.upperBound]
                if !Masker.isWordCharacter(before), !Masker.isWordCharacter(after) { return true }
                from = text.index(after: r.lowerBound)
            }
        }
        return false
    }

    private static func isWordCharacter(_ c: Character?) -> Bool {
        guard let c else { return false }
        return c.unicodeScalars.allSatisfy { wordCharacters.contains($0) }
    }
}
