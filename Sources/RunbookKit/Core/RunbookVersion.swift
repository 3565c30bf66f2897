/// The version `runbook --version` prints (bumped with each release).
public enum RunbookVersion {
    public static let current = "0.2.0"
}
