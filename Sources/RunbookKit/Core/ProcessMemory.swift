import CSpawn

/// Process-wide memory settings, made once at startup by the `runbook` command.
public enum ProcessMemory {
    /// Caps glibc's malloc arenas at `n` (see `RunbookCommand.main`); does nothing on other C libraries.
    public static func limitMallocArenas(_ n: Int) {
        _ = runbook_limit_malloc_arenas(Int32(n))
    }

    /// Gives malloc's free pages back to the kernel (glibc's `malloc_trim`): after large
    /// short-lived buffers (a listed page of objects, a compaction), freed memory otherwise stays
    /// resident in the arenas. Takes a few milliseconds; does nothing on other C libraries.
    public static func releaseFreeMemory() {
        _ = runbook_release_free_memory()
    }
}
