"""The syscall filters applied to every sandboxed process.

Default-allow with a deny list: the programs we run (gcc's driver, cc1, as, ld,
CPython, contestants' binaries) use a wide and toolchain-dependent set of
syscalls, so an allow list would break on the next glibc. What is denied is what
an attacker needs and a judged program never does:

- networking: ``socket`` for every address family. The task's IAM credentials are one
  HTTP request away (169.254.170.2), so no socket at all; ``socketpair`` (an anonymous
  pipe-like pair) stays allowed.
- kernel attack surface and other processes: ptrace, process_vm_*, bpf, perf_event_open,
  userfaultfd, io_uring (it performs I/O without going through this filter), keyctl,
  namespaces (unshare, setns, clone3 and clone with namespace flags), mount, chroot,
  module loading, kexec, reboot, clock setting, personality changes.
- leaving the process group (setsid, setpgid): the parent kills the whole group on a
  limit, so a process must not escape it.
- run phase only: creating or modifying files (open/openat for writing, creat, mkdir,
  link, symlink, rename, unlink, chmod, chown, truncate, mknod, xattrs): a judged
  program reads stdin and writes stdout, nothing else.

Denied calls fail with EPERM rather than killing the process, so a program that
probes (e.g. ``connect()``) gets an error it can report, and the verdict is
decided by what it does next. Syscalls of another ABI (i386 via int 0x80, x32)
kill the process: the filter only describes the native one.
"""

from __future__ import annotations

import ctypes
import errno
import os
import tempfile
from functools import cache

import pyseccomp as seccomp

# Namespace flags of clone(2); threads and fork use none of them.
_CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

ALWAYS_DENIED = (
    "socket",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "keyctl",
    "add_key",
    "request_key",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_by_handle_at",
    "name_to_handle_at",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "iopl",
    "ioperm",
    "syslog",
    "quotactl",
    "lookup_dcookie",
    "kcmp",
    "fanotify_init",
    "move_pages",
    "migrate_pages",
    "mbind",
    "set_mempolicy",
    "vhangup",
    "setsid",
    "setpgid",
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setgroups",
    "setfsuid",
    "setfsgid",
    "fsopen",
    "fsmount",
    "fsconfig",
    "fspick",
    "move_mount",
    "open_tree",
    "pidfd_getfd",
    "memfd_secret",
)

RUN_PHASE_DENIED = (
    "creat",
    "mkdir",
    "mkdirat",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "rmdir",
    "chmod",
    "fchmod",
    "fchmodat",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
    "truncate",
    "mknod",
    "mknodat",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    "utime",
    "utimes",
    "utimensat",
    "futimesat",
    "memfd_create",
)


def _build(run_phase: bool) -> seccomp.SyscallFilter:
    deny = seccomp.ERRNO(errno.EPERM)
    flt = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in ALWAYS_DENIED:
        flt.add_rule(deny, name)
    # clone3 passes its flags in memory seccomp cannot read. ENOSYS (not EPERM) makes
    # glibc fall back to clone(), whose flags we can check.
    flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    # clone with any namespace flag (fork/threads pass none).
    for bit in (1 << i for i in range(32) if _CLONE_NAMESPACE_FLAGS & (1 << i)):
        flt.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, bit, bit))
    # personality() other than querying/setting the default (ADDR_NO_RANDOMIZE etc. weaken ASLR).
    flt.add_rule(deny, "personality", seccomp.Arg(0, seccomp.NE, 0))
    if run_phase:
        for name in RUN_PHASE_DENIED:
            flt.add_rule(deny, name)
        for flag in (os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC, os.O_APPEND):
            flt.add_rule(deny, "open", seccomp.Arg(1, seccomp.MASKED_EQ, flag, flag))
            flt.add_rule(deny, "openat", seccomp.Arg(2, seccomp.MASKED_EQ, flag, flag))
        # openat2 passes its flags in a struct seccomp cannot inspect: refuse it, glibc falls back.
        flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "openat2")
    return flt


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


class CompiledFilter:
    """A filter exported to raw BPF once, so the forked child only makes one prctl() call."""

    def __init__(self, bpf: bytes) -> None:
        self.bpf = bpf
        self._buffer = ctypes.create_string_buffer(bpf, len(bpf))
        self.prog = _SockFprog(len(bpf) // 8, ctypes.cast(self._buffer, ctypes.c_void_p))


@cache
def compiled(run_phase: bool) -> CompiledFilter:
    flt = _build(run_phase)
    with tempfile.TemporaryFile() as handle:
        flt.export_bpf(handle)
        handle.seek(0)
        return CompiledFilter(handle.read())


PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)


def set_no_new_privs() -> None:
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(err)}")


def install(flt: CompiledFilter) -> None:
    """Install the filter in the calling (single-threaded, just forked) process."""
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(flt.prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_SECCOMP): {os.strerror(err)}")
