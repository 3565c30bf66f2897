#ifndef RUNBOOK_CSPAWN_H
#define RUNBOOK_CSPAWN_H

#include <sys/types.h>

/// Starts `path` with `argv`/`envp` (NULL-terminated) in `cwd` (NULL: inherited), with the given
/// descriptors as its stdin/stdout/stderr, in a process group of its own, with every signal at its
/// default and none blocked. `*pid` is the group's leader, a guardian that waits for the program
/// and ends as it ended (exit code, or the same signal). With `death_signal` > 0 — on Linux — the
/// guardian kills the whole group when the thread that started it dies (`PR_SET_PDEATHSIG`; call
/// it from a thread that lives as long as the process), even after `kill -9` of the caller.
/// Returns 0 and sets `*pid`, or an errno value (from fork, chdir or execve) when the program
/// could not be started.
int runbook_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
                  int stdin_fd, int stdout_fd, int stderr_fd, int death_signal, pid_t *pid);

/// Catches SIGINT and SIGTERM: the handler writes the signal number (one byte) to `fd` and
/// nothing else (async-signal-safe); a thread reading the other end decides what to do.
int runbook_catch_stop_signals(int fd);

/// glibc's `mallopt(M_ARENA_MAX, n)`: at most `n` malloc arenas for the whole process (Linux with
/// glibc; elsewhere nothing). Returns 1 when it was set.
int runbook_limit_malloc_arenas(int n);
/// glibc's `malloc_trim(0)`: gives the free pages of every arena back to the kernel (0 elsewhere).
int runbook_release_free_memory(void);

/// `pipe2(fds, O_CLOEXEC)` (Swift's Glibc module does not export pipe2).
int runbook_pipe_cloexec(int fds[2]);

#endif
