/// The naming rules of each provider, checked before anything is contacted.
public enum SecretName {
    /// Why `name` would be rejected by `provider`, or nil when it is acceptable.
    public static func problem(_ name: String, provider: SecretStoreRef.Provider) -> String? {
        switch provider {
        case .gcp: return gcpProblem(name)
        case .awsSSM: return ssmProblem(name)
        case .awsSecretsManager: return secretsManagerProblem(name)
        }
    }

    /// GCP secret ids: 1–255 of `[A-Za-z0-9_-]`.
    static func gcpProblem(_ name: String) -> String? {
        if name.isEmpty || name.count > 255 || !name.unicodeScalars.allSatisfy({ isAlnum($0) || $0 == "-" || $0 == "_" }) {
            return "'\(name)' is not a valid GCP secret id: use 1 to 255 letters, digits, '-' and '_' (no '/' or '.')"
        }
        return nil
    }

    /// SSM parameter names: `[a-zA-Z0-9_.-/]`, a hierarchy starts with '/', at most 15 levels,
    /// no "aws"/"ssm" prefix, at most 1011 characters.
    static func ssmProblem(_ name: String) -> String? {
        let prefix = "'\(name)' is not a valid SSM parameter name:"
        if name.isEmpty || name.count > 1011 { return "\(prefix) use 1 to 1011 characters" }
        if !name.unicodeScalars.allSatisfy({ isAlnum($0) || "_.-/".unicodeScalars.contains($0) }) {
            return "\(prefix) only letters, digits, '_', '.', '-' and '/' are allowed"
        }
        if name.contains("/") && !name.hasPrefix("/") {
            return "\(prefix) a name with a hierarchy must be fully qualified, starting with '/'"
        }
        let parts = name.split(separator: "/", omittingEmptySubsequences: false).dropFirst(name.hasPrefix("/") ? 1 : 0)
        if parts.contains(where: \.isEmpty) { return "\(prefix) empty hierarchy level ('//' or a trailing '/')" }
        if parts.count > 15 { return "\(prefix) at most 15 hierarchy levels" }
        let first = (parts.first.map(String.init) ?? name).lowercased()
        if first.hasPrefix("aws") || first.hasPrefix("ssm") { return "\(prefix) names may not begin with 'aws' or 'ssm'" }
        return nil
    }

    /// Secrets Manager names: 1–512 of ASCII letters, digits and `/_+=.@-`.
    static func secretsManagerProblem(_ name: String) -> String? {
        if name.isEmpty || name.count > 512
            || !name.unicodeScalars.allSatisfy({ isAlnum($0) || "/_+=.@-".unicodeScalars.contains($0) })
        {
            return "'\(name)' is not a valid Secrets Manager name: use 1 to 512 ASCII letters, digits and /_+=.@-"
        }
        return nil
    }

    private static func isAlnum(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
    }
}
