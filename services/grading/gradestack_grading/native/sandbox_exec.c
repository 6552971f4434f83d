/*
 * gradestack-sandbox-exec: run one untrusted command and report its resource usage.
 *
 * Started (as root, with a clean environment) by grading/sandbox.py. It stays
 * root and does only three things with its privileges: fork the target, wait for
 * it, and kill everything the target's slot uid left behind. The target child
 * drops to the slot uid/gid before exec, so nothing untrusted ever runs with
 * privileges, and the target cannot signal this supervisor.
 *
 * Why a separate small program and not fork() from Python: the kernel folds the
 * resident size of the pre-exec image into ru_maxrss, so a child forked from the
 * worker would report the worker's 60 MB as the submission's peak memory. This
 * supervisor is tiny and static, so wait4()'s ru_maxrss is the submission's own.
 * It is also a child subreaper, so orphans of a fork bomb are reaped here and do
 * not pile up as zombies under the worker (PID 1 in its container).
 *
 * Usage:
 *   gradestack-sandbox-exec --uid U --gid G --cwd DIR --bpf FILE --report-fd N
 *       [--wall-ms MS] [--cpu-s S] [--as-bytes B] [--stack-bytes B] [--fsize-bytes B]
 *       [--nproc N] [--nofile N] -- PROGRAM ARG...
 * stdin/stdout/stderr are inherited. The report (one line on --report-fd) is
 *   ok status=<wait status> utime_us=<n> stime_us=<n> maxrss_kb=<n> killed=<0|1> wall=<0|1>
 * or
 *   error <message>
 * SIGTERM to this process kills the target's whole process group (output limit, the
 * caller's own wall-clock backstop); the report then says killed=1.
 *
 * --wall-ms is enforced here, not only by the caller: the caller reads the target's
 * pipes, and a target that closes its stdout/stderr and sleeps gives the reader EOF and
 * nothing more to time. An ITIMER_REAL (SIGALRM) armed after the fork bounds the plain
 * blocking wait4: its handler, like the SIGTERM/SIGINT one, kills the target's group
 * itself (kill() is async-signal-safe), so there is no window between a flag check and
 * the wait in which a signal could be lost. Then everything of the slot uid is killed as
 * after any run, and the report says wall=1. No thread, no polling, one setitimer per
 * run; the wait stays a wait4, woken directly by the target's exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int report_fd = -1;
static volatile pid_t target_pid = 0; /* set with the limit signals blocked, right after fork */
static volatile sig_atomic_t killed = 0, wall_hit = 0;

/* SIGALRM (our wall clock), SIGTERM/SIGINT (the caller: output limit, its own backstop). */
static void on_limit(int sig) {
    if (sig == SIGALRM) wall_hit = 1;
    if (target_pid > 0 && !killed) {
        kill(-target_pid, SIGKILL);
        killed = 1;
    }
}

static void report(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
    ssize_t off = 0;
    while (off < n) {
        ssize_t w = write(report_fd, buf + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        off += w;
    }
}

static void fail(const char *what) {
    /* errno first, as a number: the worker decides from it whether the host is to blame. */
    report("error errno=%d %s: %s\n", errno, what, strerror(errno));
    _exit(127);
}

static long parse_long(const char *s, const char *name) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0) {
        report("error invalid value for %s: %s\n", name, s);
        _exit(127);
    }
    return v;
}

static void set_limit(int resource, long value, const char *name) {
    if (value < 0) return;
    struct rlimit rl = {(rlim_t)value, (rlim_t)value};
    if (resource == RLIMIT_CPU) rl.rlim_max = (rlim_t)value + 1; /* SIGXCPU first, SIGKILL a second later */
    if (setrlimit(resource, &rl) != 0) fail(name);
}

/* Kill every process of the slot uid, from a short-lived child that has become that uid. */
static void kill_slot(uid_t uid, gid_t gid) {
    pid_t killer = fork();
    if (killer == 0) {
        if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) _exit(1);
        /* kill(-1) reaches every process this uid may signal in our PID namespace, except the caller. */
        kill(-1, SIGKILL);
        kill(-1, SIGKILL);
        _exit(0);
    }
    if (killer > 0) {
        while (waitpid(killer, NULL, 0) < 0 && errno == EINTR) {
        }
    }
}

/* Wait for the target, whatever it does with its descriptors: on_limit ends it. */
static int wait_target(pid_t child, struct rusage *ru) {
    int status = 0;
    for (;;) {
        pid_t r = wait4(child, &status, 0, ru);
        if (r == child) return status;
        if (r < 0 && errno != EINTR) fail("wait4");
    }
}

int main(int argc, char **argv) {
    long uid = -1, gid = -1, wall_ms = -1, cpu = -1, as = -1, stack = -1, fsize = -1, nproc = -1, nofile = -1;
    const char *cwd = NULL, *bpf_path = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc) break;
        const char *k = argv[i], *v = argv[++i];
        if (!strcmp(k, "--uid")) uid = parse_long(v, k);
        else if (!strcmp(k, "--gid")) gid = parse_long(v, k);
        else if (!strcmp(k, "--cwd")) cwd = v;
        else if (!strcmp(k, "--bpf")) bpf_path = v;
        else if (!strcmp(k, "--report-fd")) report_fd = (int)parse_long(v, k);
        else if (!strcmp(k, "--wall-ms")) wall_ms = parse_long(v, k);
        else if (!strcmp(k, "--cpu-s")) cpu = parse_long(v, k);
        else if (!strcmp(k, "--as-bytes")) as = parse_long(v, k);
        else if (!strcmp(k, "--stack-bytes")) stack = parse_long(v, k);
        else if (!strcmp(k, "--fsize-bytes")) fsize = parse_long(v, k);
        else if (!strcmp(k, "--nproc")) nproc = parse_long(v, k);
        else if (!strcmp(k, "--nofile")) nofile = parse_long(v, k);
        else {
            if (report_fd < 0) report_fd = 2;
            report("error unknown option %s\n", k);
            return 127;
        }
    }
    if (report_fd < 0) report_fd = 2;
    if (i >= argc || uid < 0 || gid < 0 || !cwd || !bpf_path) {
        report("error usage: --uid U --gid G --cwd DIR --bpf FILE --report-fd N [limits] -- PROGRAM ARG...\n");
        return 127;
    }
    if (uid == 0 || gid == 0) {
        report("error refusing to run a submission as root (uid/gid 0)\n");
        return 127;
    }
    fcntl(report_fd, F_SETFD, FD_CLOEXEC);

    /* The seccomp program, exported by the worker (root-owned file, read before any untrusted code runs). */
    int bfd = open(bpf_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (bfd < 0) fail("open bpf");
    struct stat st;
    if (fstat(bfd, &st) != 0 || st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) || st.st_size > 65536)
        fail("bpf size");
    struct sock_filter *filter = malloc((size_t)st.st_size);
    if (!filter) fail("malloc");
    ssize_t got = 0;
    while (got < st.st_size) {
        ssize_t r = read(bfd, (char *)filter + got, (size_t)(st.st_size - got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) fail("read bpf");
        got += r;
    }
    close(bfd);
    struct sock_fprog prog = {(unsigned short)(st.st_size / sizeof(struct sock_filter)), filter};

    /* If the worker dies, take the target down with us (SIGTERM path below). */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) fail("subreaper");
    /* Unprivileged mode (a problem setter running the CLI as themselves): no identity
     * change is possible, and kill(-1) would hit the user's own shell, so only the
     * target's process group is killed at the end. */
    int privileged = (getuid() == 0);
    if (!privileged && (uid != (long)getuid() || gid != (long)getgid())) {
        report("error not root: --uid/--gid must be the caller's own (%ld/%ld)\n", (long)getuid(), (long)getgid());
        return 127;
    }

    /* Blocked until target_pid is set, so a signal arriving before (even before the fork)
     * is delivered then, not lost and not sent to a pid of 0; the target resets them. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_limit;
    sigemptyset(&sa.sa_mask);
    sigset_t limitset;
    sigemptyset(&limitset);
    int limit_signals[] = {SIGTERM, SIGINT, SIGALRM};
    size_t n_limit_signals = sizeof limit_signals / sizeof *limit_signals;
    for (size_t k = 0; k < n_limit_signals; k++) sigaddset(&limitset, limit_signals[k]);
    sa.sa_mask = limitset; /* one handler at a time */
    for (size_t k = 0; k < n_limit_signals; k++) sigaction(limit_signals[k], &sa, NULL);
    sigprocmask(SIG_BLOCK, &limitset, NULL);

    pid_t child = fork();
    if (child < 0) fail("fork");
    if (child == 0) {
        /* Untrusted side. Order matters: group first (so it can be killed as a unit),
         * limits while still allowed to set them, then identity, then no_new_privs and
         * seccomp (which also forbids undoing any of this), then exec. */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (setsid() < 0) fail("setsid");
        if (chdir(cwd) != 0) fail("chdir");
        set_limit(RLIMIT_CORE, 0, "rlimit core");
        set_limit(RLIMIT_CPU, cpu, "rlimit cpu");
        set_limit(RLIMIT_AS, as, "rlimit as");
        set_limit(RLIMIT_STACK, stack, "rlimit stack");
        set_limit(RLIMIT_FSIZE, fsize, "rlimit fsize");
        set_limit(RLIMIT_NPROC, nproc, "rlimit nproc");
        set_limit(RLIMIT_NOFILE, nofile, "rlimit nofile");
        set_limit(RLIMIT_MEMLOCK, 0, "rlimit memlock");
        set_limit(RLIMIT_MSGQUEUE, 0, "rlimit msgqueue");
        if (privileged) {
            if (setgroups(0, NULL) != 0) fail("setgroups");
            if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0) fail("setresgid");
            if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0) fail("setresuid");
        }
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail("pdeathsig"); /* cleared by setresuid, so set it here */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("no_new_privs");
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) fail("seccomp");
        execv(argv[i], &argv[i]);
        fail("exec");
    }

    /* Our copies of the target's stdio go away, so the reader sees EOF when the target's
     * group is gone (the report travels on its own descriptor). */
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
    }

    target_pid = child;
    if (wall_ms >= 0) {
        /* Not inherited by the target: itimers do not survive fork. */
        struct itimerval wall = {{0, 0}, {wall_ms / 1000, (wall_ms % 1000) * 1000 + (wall_ms == 0)}};
        if (setitimer(ITIMER_REAL, &wall, NULL) != 0) fail("setitimer");
    }
    sigprocmask(SIG_UNBLOCK, &limitset, NULL);
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    int status = wait_target(child, &ru);
    sigprocmask(SIG_BLOCK, &limitset, NULL); /* the target is reaped: nothing more to kill by group */
    /* Whatever the target left behind (daemons, a fork bomb's tail) dies now; they are
     * all of the slot uid, and all reparented to us, so we can reap them. */
    /* As a subreaper, every live descendant of the target is (or has been reparented to)
     * our child. No child left means nothing survived, and the kill round can be skipped:
     * the common case, which keeps a run's overhead down to a couple of milliseconds. */
    pid_t leftover = waitpid(-1, NULL, WNOHANG);
    if (!(leftover < 0 && errno == ECHILD)) {
        if (privileged)
            kill_slot((uid_t)uid, (gid_t)gid);
        else
            kill(-child, SIGKILL);
        while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
        }
    }
    report("ok status=%d utime_us=%ld stime_us=%ld maxrss_kb=%ld killed=%d wall=%d\n", status,
           (long)ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec,
           (long)ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec, ru.ru_maxrss, (int)killed, (int)wall_hit);
    return 0;
}
