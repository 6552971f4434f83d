"""The syscall filters applied to every sandboxed process: default deny, one allow list per profile.

A filter lists what the programs we run need, and everything else fails with
EPERM, so a syscall the kernel gains next year is refused until someone adds it
here on purpose. (The previous default-allow deny list let fchmodat2, setxattrat,
listmount, open_tree_attr, modify_ldt, AIO and System V IPC through: SysV shared
memory outlived the run and carried one submission's data to the next.)

Profiles (see ``PROFILES``), each the union of named groups below:

- ``compile``: the gcc/g++ driver, cc1/cc1plus, as, collect2/ld, the python3 syntax
  check and ``find -delete`` (workspace cleanup). File writes are allowed: the
  compiler writes its output in ``build/``, the only directory the slot may write.
- ``native``: a contestant's C/C++ binary (glibc, libstdc++, threads) and the custom
  checkers (compiled C++). No file creation or modification at all.
- ``python3``: CPython 3.11 run as ``python3 -I -S -B``; ``native`` plus directory
  listing and readlink for the import system.

The lists were derived with ``strace -f -c`` of every compile command and every
reference solution (problems/), the checker, and the programs in tests/runtimes/
(threads, <chrono>, fast iostream, large vectors, the common Python modules), plus
what glibc does on paths those runs do not take (abort, signals, restarted sleeps,
time calls without the vDSO). SECURITY.md (item 3) explains the choices.

Arguments are checked where a syscall is harmless only with some of them: clone
(no namespace flags; clone3 gets ENOSYS so glibc falls back to clone), open/openat
(read-only in the run phases; openat2 gets ENOSYS), personality (query only),
prctl (names and read-only queries; never PR_SET_PDEATHSIG, PR_SET_DUMPABLE,
PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS, PR_SET_MM...), prlimit64 (own process only),
ioctl (terminal queries and close-on-exec only). Syscalls of another ABI (i386 via
int 0x80, x32) kill the process: the filter only describes the native one.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterable
from functools import cache

import pyseccomp as seccomp

# --- syscall groups ------------------------------------------------------------------------

# The dynamic loader, libc start-up and exit of every glibc program.
STARTUP = (
    "execve",  # the supervisor installs the filter, then execs the target
    "arch_prctl",  # TLS (ARCH_SET_FS), CET status queries
    "set_tid_address",
    "set_robust_list",
    "rseq",
    "getrandom",  # malloc's and the stack protector's seeds, hash randomisation
    "exit",
    "exit_group",
)

# Reading and writing the descriptors a program has; opening is argument-checked below.
FILE_IO = (
    "read",
    "readv",
    "pread64",
    "write",
    "writev",
    "lseek",
    "close",
    "close_range",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "pipe",  # an anonymous channel inside the process (self-pipe tricks); nothing outlives it
    "pipe2",
    "poll",
    "ppoll",
    "select",
    "pselect6",
)

# Looking at files (never changing them).
FILE_METADATA = (
    "fstat",
    "stat",
    "lstat",
    "newfstatat",
    "statx",
    "access",
    "faccessat",
    "faccessat2",
    "getcwd",
)

MEMORY = ("brk", "mmap", "munmap", "mprotect", "mremap", "madvise")

SIGNALS = (
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigsuspend",
    "sigaltstack",
    "pause",
    "restart_syscall",  # the kernel resumes an interrupted sleep through it
    # abort() is tgkill on itself. Other processes are out of reach anyway: they run under
    # other uids (the slot's own processes are all this submission's).
    "kill",
    "tgkill",
    "tkill",
)

# Clocks and sleeps. The vDSO answers most clock reads, but not CPU-time clocks, and not
# at all when the clock source has no vDSO support (some VMs): then they are syscalls.
TIME = (
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "time",
    "nanosleep",
    "clock_nanosleep",
    "times",
    "getrusage",
    "getitimer",
    "setitimer",
    "alarm",
)

# Threads: clone itself is argument-checked below; RLIMIT_NPROC bounds how many.
THREADS = ("futex", "get_robust_list", "sched_yield", "sched_getaffinity", "gettid")

# Read-only facts about the process and the machine.
IDENTITY = (
    "getpid",
    "getppid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getgroups",
    "getpgrp",
    "getpgid",
    "getsid",
    "getrlimit",
    "uname",
    "sysinfo",
)

# CPython's import system lists directories and resolves its own executable.
PYTHON3 = ("getdents64", "readlink", "readlinkat")

# gcc's driver spawns cc1, as, collect2 and ld and waits for them; ld writes the program
# and makes it executable; the driver removes its temporary files.
GCC_TOOLCHAIN = (
    "vfork",
    "umask",
    "wait4",
    "waitid",
    "chmod",
    "fchmod",
    "fchmodat",
    "unlink",
    "unlinkat",
    "ftruncate",
    "getdents64",
    "readlink",
    "readlinkat",
)

# ``find . -mindepth 1 -delete`` as the slot uid (workspace cleanup).
FIND_CLEANUP = ("getdents64", "fchdir", "statfs", "fstatfs", "unlinkat")

NATIVE_GROUPS = (STARTUP, FILE_IO, FILE_METADATA, MEMORY, SIGNALS, TIME, THREADS, IDENTITY)


def _union(*groups: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({name for group in groups for name in group}))


# What each profile allows without looking at arguments (argument-checked calls come on top).
# "run-any" is for run-phase callers that do not say what they run (the benchmark, tools).
PROFILES: dict[str, tuple[str, ...]] = {
    "compile": _union(*NATIVE_GROUPS, PYTHON3, GCC_TOOLCHAIN, FIND_CLEANUP),
    "native": _union(*NATIVE_GROUPS),
    "python3": _union(*NATIVE_GROUPS, PYTHON3),
    "run-any": _union(*NATIVE_GROUPS, PYTHON3),
}
RUNTIMES = ("native", "python3")
RUN_PROFILES = frozenset({*RUNTIMES, "run-any"})

# Never allowed, in any profile, even if a group above grew to include one by mistake
# (checked in build()): System V IPC outlives the run and is shared by every process of
# the kernel; POSIX message queues likewise.
NEVER_ALLOWED = frozenset(
    {
        "shmget",
        "shmat",
        "shmctl",
        "shmdt",
        "semget",
        "semop",
        "semtimedop",
        "semctl",
        "msgget",
        "msgsnd",
        "msgrcv",
        "msgctl",
        "mq_open",
        "mq_unlink",
        "mq_timedsend",
        "mq_timedreceive",
        "mq_notify",
        "mq_getsetattr",
        "socket",
        "ptrace",
        "process_vm_readv",
        "process_vm_writev",
        "bpf",
        "perf_event_open",
        "userfaultfd",
        "io_uring_setup",
        "io_setup",
        "modify_ldt",
        "keyctl",
        "unshare",
        "setns",
        "mount",
        "setsid",
        "setpgid",
    }
)

# --- argument checks -----------------------------------------------------------------------

# Namespace flags of clone(2); threads, fork and vfork use none of them.
CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

# open/openat flags that create or modify a file (O_TMPFILE needs O_WRONLY or O_RDWR too).
WRITE_OPEN_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

# prctl options the runtimes use: thread names (glibc's pthread_setname_np, std::thread
# in some libstdc++ builds), anonymous mapping names (glibc >= 2.38 malloc), and queries.
PR_GET_PDEATHSIG = 2
PR_GET_DUMPABLE = 3
PR_SET_NAME = 15
PR_GET_NAME = 16
PR_GET_SECCOMP = 21
PR_GET_NO_NEW_PRIVS = 39
PR_SET_VMA = 0x53564D41
ALLOWED_PRCTL = (
    PR_GET_PDEATHSIG,
    PR_GET_DUMPABLE,
    PR_SET_NAME,
    PR_GET_NAME,
    PR_GET_SECCOMP,
    PR_GET_NO_NEW_PRIVS,
    PR_SET_VMA,
)

# ioctl requests: isatty() (TCGETS), terminal size, bytes available, close-on-exec.
TCGETS, TIOCGWINSZ, FIONREAD, FIONCLEX, FIOCLEX = 0x5401, 0x5413, 0x541B, 0x5450, 0x5451
ALLOWED_IOCTL = (TCGETS, TIOCGWINSZ, FIONREAD, FIONCLEX, FIOCLEX)

# libseccomp's filter attribute for the binary-tree layout (SCMP_FLTATR_CTL_OPTIMIZE = 2):
# a default-deny filter checks the syscall number against every allowed one, and a
# sorted tree makes that O(log n) instead of a linear scan on every syscall.
OPTIMIZE_BINARY_TREE = 2

# The supervisor refuses a larger program (native/sandbox_exec.c), and so does the kernel
# beyond 4096 instructions.
MAX_BPF_BYTES = 65536


def _allow_each(flt: seccomp.SyscallFilter, name: str, arg: int, values: Iterable[int]) -> None:
    for value in values:
        flt.add_rule(seccomp.ALLOW, name, seccomp.Arg(arg, seccomp.EQ, value))


def _add_argument_checks(flt: seccomp.SyscallFilter, profile: str) -> None:
    # clone3 passes its flags in memory seccomp cannot read. ENOSYS (not EPERM) makes
    # glibc fall back to clone(), whose flags we can check.
    flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    flt.add_rule(seccomp.ALLOW, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_NAMESPACE_FLAGS, 0))
    # personality(0) only: ADDR_NO_RANDOMIZE and friends weaken ASLR, READ_IMPLIES_EXEC W^X.
    flt.add_rule(seccomp.ALLOW, "personality", seccomp.Arg(0, seccomp.EQ, 0))
    _allow_each(flt, "prctl", 0, ALLOWED_PRCTL)
    _allow_each(flt, "ioctl", 1, ALLOWED_IOCTL)
    # pid 0 is the caller: glibc's getrlimit/setrlimit. cc1 raises its own soft stack limit.
    flt.add_rule(seccomp.ALLOW, "prlimit64", seccomp.Arg(0, seccomp.EQ, 0))
    # openat2 passes its flags in a struct seccomp cannot inspect: ENOSYS, glibc falls back.
    flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "openat2")
    if profile in RUN_PROFILES:
        flt.add_rule(seccomp.ALLOW, "open", seccomp.Arg(1, seccomp.MASKED_EQ, WRITE_OPEN_FLAGS, 0))
        flt.add_rule(seccomp.ALLOW, "openat", seccomp.Arg(2, seccomp.MASKED_EQ, WRITE_OPEN_FLAGS, 0))
    else:
        flt.add_rule(seccomp.ALLOW, "open")
        flt.add_rule(seccomp.ALLOW, "openat")


def build(profile: str) -> seccomp.SyscallFilter:
    """The libseccomp filter of one profile: everything not allowed here fails with EPERM."""
    allowed = PROFILES[profile]
    leaked = NEVER_ALLOWED.intersection(allowed)
    if leaked:
        raise ValueError(f"seccomp profile {profile!r} would allow {sorted(leaked)}")
    flt = seccomp.SyscallFilter(seccomp.ERRNO(errno.EPERM))
    flt.set_attr(seccomp.Attr.CTL_OPTIMIZE, OPTIMIZE_BINARY_TREE)
    for name in allowed:
        flt.add_rule(seccomp.ALLOW, name)
    _add_argument_checks(flt, profile)
    return flt


def profile_for(run_phase: bool, runtime: str | None = None) -> str:
    """The profile of a phase; in the run phase ``runtime`` (one of RUNTIMES) narrows it."""
    if not run_phase:
        return "compile"
    if runtime is None:
        return "run-any"
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown seccomp runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
    return runtime


class CompiledFilter:
    """A filter exported to raw BPF once; the supervisor (native/sandbox_exec.c) installs it."""

    def __init__(self, bpf: bytes) -> None:
        self.bpf = bpf


@cache
def compiled(run_phase: bool, runtime: str | None = None) -> CompiledFilter:
    flt = build(profile_for(run_phase, runtime))
    with tempfile.TemporaryFile() as handle:
        flt.export_bpf(handle)
        handle.seek(0)
        bpf = handle.read()
    if len(bpf) > MAX_BPF_BYTES:
        raise ValueError(f"seccomp program of {len(bpf)} bytes exceeds the supervisor's {MAX_BPF_BYTES}")
    return CompiledFilter(bpf)
