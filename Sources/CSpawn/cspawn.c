#define _GNU_SOURCE
#include "cspawn.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* `from` as descriptor `to`, without close-on-exec (dup2 onto itself would keep the flag). */
static int move_fd(int from, int to) {
    if (from == to) return fcntl(to, F_SETFD, 0);
    return dup2(from, to) < 0 ? -1 : 0;
}

/* Closes every descriptor >= `low` except `keep`. */
static void close_from(int low, int keep) {
#ifdef SYS_close_range
    if (keep > low && syscall(SYS_close_range, (unsigned)low, (unsigned)(keep - 1), 0) == 0
        && syscall(SYS_close_range, (unsigned)(keep + 1), ~0U, 0) == 0) return;
    if (keep <= low && syscall(SYS_close_range, (unsigned)(keep + 1 > low ? keep + 1 : low), ~0U, 0) == 0) return;
#endif
    struct rlimit rl;
    long max = (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) ? (long)rl.rlim_cur : 65536;
    if (max > 65536) max = 65536;
    for (long fd = low; fd < max; fd++) if (fd != keep) close((int)fd);
}

/* The program itself (the guardian's child): default signals, its descriptors, its directory. */
static void program(const char *path, char *const argv[], char *const envp[], const char *cwd, int in, int out, int err,
                    pid_t guardian, int report) {
#ifdef __linux__
    /* The guardian only dies by SIGKILL (sent to the whole group anyway) or after this child ended. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != guardian) _exit(127);
#else
    (void)guardian;
#endif
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        sigaction(s, &dfl, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (move_fd(in, 0) < 0 || move_fd(out, 1) < 0 || move_fd(err, 2) < 0) goto fail;
    /* Nothing else of runbook's leaks into the program: descriptors without close-on-exec (a
       parent's pipe that waits for EOF, say) would keep them open as long as it and its children run. */
    close_from(3, report);
    if (cwd && chdir(cwd) != 0) goto fail;
    execve(path, argv, envp);
fail:;
    int e = errno;
    ssize_t ignored = write(report, &e, sizeof e);
    (void)ignored;
    _exit(127);
}

/* The guardian's whole group dies with runbook: its leader got GUARD_SIGNAL from the kernel. */
static void guardian_parent_died(int signo) {
    (void)signo;
    kill(0, SIGKILL);
}

/* The process runbook forked: the leader of a new process group, and a guardian. It forks the
   program into its group and waits for it, then ends the same way (exit code or signal). When
   runbook dies, even by SIGKILL, the kernel signals the guardian (PR_SET_PDEATHSIG), which kills
   the whole group: the program and everything it started that stayed in the group (a pipeline's
   commands, a background job) — PR_SET_PDEATHSIG alone would reach the program only.
   Between fork and execve only async-signal-safe calls: the parent has other threads. */
#define GUARD_SIGNAL SIGUSR2
static void guardian(const char *path, char *const argv[], char *const envp[], const char *cwd, int in, int out, int err,
                     int death_signal, pid_t parent, int report) {
    /* Signals for the group (runbook's SIGTERM to cancel, a terminal's SIGINT) are the program's. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP || s == SIGCHLD || s == GUARD_SIGNAL) continue;
        sigaction(s, &sa, NULL);
    }
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    sa.sa_handler = guardian_parent_died;
    sigaction(GUARD_SIGNAL, &sa, NULL);
    setpgid(0, 0);
#ifdef __linux__
    if (death_signal > 0) {
        prctl(PR_SET_PDEATHSIG, GUARD_SIGNAL);
        /* The parent may have died before prctl: then nobody would ever signal us. */
        if (getppid() != parent) _exit(127);
    }
#else
    (void)death_signal;
    (void)parent;
#endif
    pid_t self = getpid();
    pid_t p = fork();
    if (p < 0) {
        int e = errno;
        ssize_t ignored = write(report, &e, sizeof e);
        (void)ignored;
        _exit(127);
    }
    if (p == 0) program(path, argv, envp, cwd, in, out, err, self, report);
    /* The guardian holds no descriptor of runbook's: the report pipe closes once the program has
       started, and the program's output ends when the program's does. */
    close_from(0, -1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int status = 0;
    while (waitpid(p, &status, 0) < 0) {
        if (errno != EINTR) _exit(127);
    }
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    int signo = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
    sa.sa_handler = SIG_DFL;
    sigaction(signo, &sa, NULL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, signo);
    sigprocmask(SIG_UNBLOCK, &only, NULL);
    kill(self, signo);
    _exit(128 + signo);
}

int runbook_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd, int stdin_fd, int stdout_fd,
                  int stderr_fd, int death_signal, pid_t *pid) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return errno;
    pid_t parent = getpid();
    /* No signal handler of runbook's may run in the new process before it set its own. */
    sigset_t all, was;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &was);
    pid_t p = fork();
    if (p == 0) guardian(path, argv, envp, cwd, stdin_fd, stdout_fd, stderr_fd, death_signal, parent, report[1]);
    int forked = errno;
    pthread_sigmask(SIG_SETMASK, &was, NULL);
    if (p < 0) {
        close(report[0]);
        close(report[1]);
        return forked;
    }
    close(report[1]);
    /* Also set the group from here: whichever of parent and child runs first, kill(-p) works at once. */
    setpgid(p, p);
    int e = 0;
    ssize_t n;
    do { n = read(report[0], &e, sizeof e); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof e && e != 0) {
        while (waitpid(p, NULL, 0) < 0 && errno == EINTR) {}
        return e;
    }
    *pid = p;
    return 0;
}

int runbook_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

static volatile sig_atomic_t stop_fd = -1;

static void stop_handler(int signo) {
    int saved = errno;
    unsigned char b = (unsigned char)signo;
    if (stop_fd >= 0) {
        ssize_t ignored = write(stop_fd, &b, 1);
        (void)ignored;
    }
    errno = saved;
}

int runbook_catch_stop_signals(int fd) {
    stop_fd = fd;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = stop_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0) return errno;
    if (sigaction(SIGTERM, &sa, NULL) != 0) return errno;
    return 0;
}

#if defined(__GLIBC__)
#include <malloc.h>
int runbook_limit_malloc_arenas(int n) { return mallopt(M_ARENA_MAX, n); }
int runbook_release_free_memory(void) { return malloc_trim(0); }
#else
int runbook_limit_malloc_arenas(int n) { (void)n; return 0; }
int runbook_release_free_memory(void) { return 0; }
#endif
