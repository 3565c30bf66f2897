import CSpawn

/// Process-wide memory settings, made once at startup by the `runbook` command.
public enum ProcessMemory {
    /// Caps glibc's malloc arenas at `n` (see `RunbookCommand.main`); does nothing on other C libraries.
    public static func limitMallocArenas(_ n: Int) {
        _ = runbook_limit_malloc_arenas(Int32(n))
    }
}
