"""The seccomp profiles: their shape, what they answer to single syscalls, and that ordinary
contestant programs (tests/runtimes/) still run under them.

The single-syscall tests fork, install one profile's filter in the child and make one raw
syscall there, so they need no root and show exactly which errno the filter returns.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import subprocess
from pathlib import Path

import pyseccomp as seccomp
import pytest
from gradestack_grading import sandbox, seccomp_policy
from gradestack_grading.judge import RUN_ENV, Judge
from gradestack_grading.languages import get_languages
from gradestack_protocol import load_problem

from .conftest import PROBLEMS, language_of

RUNTIME_PROGRAMS = Path(__file__).resolve().parent / "runtimes"
PROFILES = tuple(seccomp_policy.PROFILES)
APLUSB = PROBLEMS / "aplusb"

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

# x86_64 numbers (arch/x86/entry/syscalls/syscall_64.tbl); glibc 2.36 lacks most wrappers.
NR = {
    "clone": 56,
    "prctl": 157,
    "modify_ldt": 154,
    "io_setup": 206,
    "openat": 257,
    "shmget": 29,
    "semget": 64,
    "msgget": 68,
    "mq_open": 240,
    "clone3": 435,
    "openat2": 437,
    "fchmodat2": 452,
    "listmount": 458,
    "setxattrat": 463,
    "removexattrat": 466,
    "open_tree_attr": 467,
    "getpid": 39,
}
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS = 1, 4, 22, 38
PR_SET_MM, PR_SET_PTRACER, PR_SET_CHILD_SUBREAPER = 35, 0x59616D61, 36
SECCOMP_MODE_FILTER = 2
IPC_PRIVATE, IPC_CREAT = 0, 0o1000
CLONE_FS, CLONE_NEWUSER = 0x200, 0x10000000


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def install_in_this_process(bpf: bytes) -> None:
    """What the supervisor does before exec, in a forked test child: no_new_privs, then the filter."""
    buffer = ctypes.create_string_buffer(bpf, len(bpf))
    prog = _SockFprog(len(bpf) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    for call, args in (
        ("prctl(PR_SET_NO_NEW_PRIVS)", (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)),
        ("prctl(PR_SET_SECCOMP)", (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0)),
    ):
        if _libc.prctl(*(ctypes.c_ulong(a) for a in args)) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"{call}: {os.strerror(err)}")


def errno_under(profile: str, number: int, *args: int | bytes) -> int:
    """Make one raw syscall in a forked child under ``profile``'s filter: 0 if it succeeded, else errno."""
    run_phase = profile != "compile"
    runtime = profile if profile in seccomp_policy.RUNTIMES else None
    flt = seccomp_policy.compiled(run_phase, runtime)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        code = 255
        try:
            os.close(read_end)
            install_in_this_process(flt.bpf)
            argv = [ctypes.c_char_p(a) if isinstance(a, bytes) else ctypes.c_long(a) for a in args]
            result = _libc.syscall(ctypes.c_long(number), *argv)
            os.write(write_end, str(0 if result >= 0 else ctypes.get_errno()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read()
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, f"child died: status {status}"
    return int(answer)


# --- shape -----------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_profile_is_default_deny_and_small(profile: str) -> None:
    flt = seccomp_policy.build(profile)
    assert flt.get_attr(seccomp.Attr.ACT_DEFAULT) == seccomp.ERRNO(errno.EPERM)
    assert flt.get_attr(seccomp.Attr.CTL_OPTIMIZE) == seccomp_policy.OPTIMIZE_BINARY_TREE
    run_phase = profile != "compile"
    bpf = seccomp_policy.compiled(run_phase, profile if profile in seccomp_policy.RUNTIMES else None).bpf
    assert 0 < len(bpf) <= seccomp_policy.MAX_BPF_BYTES
    assert not seccomp_policy.NEVER_ALLOWED.intersection(seccomp_policy.PROFILES[profile])


def test_run_profiles_allow_no_file_changes_and_every_language_has_one() -> None:
    changes = {"unlink", "unlinkat", "chmod", "fchmod", "fchmodat", "ftruncate", "umask", "vfork"}
    for runtime in seccomp_policy.RUNTIMES:
        assert not changes.intersection(seccomp_policy.PROFILES[runtime]), runtime
    assert {lang.runtime for lang in get_languages().values()} == set(seccomp_policy.RUNTIMES)
    with pytest.raises(ValueError, match="unknown seccomp runtime"):
        seccomp_policy.profile_for(True, "java")


def test_a_profile_that_allows_ipc_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(seccomp_policy.PROFILES, "native", (*seccomp_policy.PROFILES["native"], "shmget"))
    with pytest.raises(ValueError, match="shmget"):
        seccomp_policy.build("native")


# --- what the filters answer ------------------------------------------------------------------

# Arguments an unfiltered kernel would reject or find harmless (EINVAL, ENOENT, a lookup
# without IPC_CREAT...): a broken filter must fail these tests, not change the machine.
MISSING = b"/nonexistent-gradestack"
DENIED_EVERYWHERE = {
    "future syscall 470": (470,),
    "future syscall 511": (511,),
    "fchmodat2": (NR["fchmodat2"], -100, MISSING, 0o700, 0),
    "setxattrat": (NR["setxattrat"], -100, MISSING, 0, b"user.x", 0, 0),
    "removexattrat": (NR["removexattrat"], -100, MISSING, 0, b"user.x"),
    "open_tree_attr": (NR["open_tree_attr"], -100, MISSING, 0, 0, 0),
    "listmount": (NR["listmount"], 0, 0, 0, 0),
    "modify_ldt": (NR["modify_ldt"], 0, 0, 0),
    "io_setup": (NR["io_setup"], 0, 0),
    "shmget": (NR["shmget"], IPC_PRIVATE, 0, IPC_CREAT | 0o600),
    "msgget": (NR["msgget"], 0x67726164, 0),
    "semget": (NR["semget"], IPC_PRIVATE, -1, IPC_CREAT | 0o600),
    "mq_open": (NR["mq_open"], b"gradestack-test", 0, 0, 0),
    "clone with CLONE_NEWUSER": (NR["clone"], CLONE_NEWUSER | CLONE_FS, 0, 0, 0, 0),
    "PR_SET_PDEATHSIG 0": (NR["prctl"], PR_SET_PDEATHSIG, 0),
    "PR_SET_DUMPABLE": (NR["prctl"], PR_SET_DUMPABLE, 1),
    "PR_SET_SECCOMP": (NR["prctl"], PR_SET_SECCOMP, 0),
    "PR_SET_NO_NEW_PRIVS": (NR["prctl"], PR_SET_NO_NEW_PRIVS, 1),
    "PR_SET_MM": (NR["prctl"], PR_SET_MM, 0),
    "PR_SET_PTRACER": (NR["prctl"], PR_SET_PTRACER, 0),
    "PR_SET_CHILD_SUBREAPER": (NR["prctl"], PR_SET_CHILD_SUBREAPER, 1),
}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("call", DENIED_EVERYWHERE, ids=str)
def test_denied_in_every_profile_with_eperm(profile: str, call: str) -> None:
    assert errno_under(profile, *DENIED_EVERYWHERE[call]) == errno.EPERM


@pytest.mark.parametrize("profile", PROFILES)
def test_glibc_fallbacks_get_enosys_and_allowed_calls_work(profile: str) -> None:
    assert errno_under(profile, NR["clone3"], 0, 0) == errno.ENOSYS
    assert errno_under(profile, NR["openat2"], -100, b".", 0, 0) == errno.ENOSYS
    assert errno_under(profile, NR["getpid"]) == 0
    assert errno_under(profile, NR["prctl"], 15, b"renamed") == 0  # PR_SET_NAME


@pytest.mark.parametrize("profile", PROFILES)
def test_open_for_writing_only_while_compiling(profile: str, tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_bytes(b"")
    path = str(target).encode()
    expected = 0 if profile == "compile" else errno.EPERM
    for flags in (os.O_WRONLY, os.O_RDWR, os.O_RDONLY | os.O_TRUNC, os.O_RDONLY | os.O_APPEND):
        assert errno_under(profile, NR["openat"], -100, path, flags | os.O_CLOEXEC) == expected, flags
    assert errno_under(profile, NR["openat"], -100, path, os.O_RDONLY | os.O_CLOEXEC) == 0


# --- ordinary programs under the real sandbox ----------------------------------------------------

PROGRAMS = sorted(
    p for p in RUNTIME_PROGRAMS.iterdir() if p.suffix in (".c", ".cpp", ".py") and "threads" not in p.name
)


@pytest.mark.slow
@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_ordinary_programs_are_accepted(judge: Judge, program: Path) -> None:
    report = judge.judge(load_problem(APLUSB), language_of(program), program.read_text())
    assert report.verdict == "AC", report.to_json()


@pytest.mark.slow
def test_threads_run_under_the_native_profile(slot: sandbox.Slot) -> None:
    """std::thread and std::async work under the filter when the process limit allows threads.

    (The judge's run phase sets RLIMIT_NPROC to 1, which refuses a second thread on its own.)
    """
    directory = sandbox.readable_dir("seccomp-tests")
    program = directory / f"threads-{os.getpid()}"
    source = RUNTIME_PROGRAMS / "cpp_threads.cpp"
    compiler = shutil.which("g++") or "g++"
    subprocess.run([compiler, "-std=c++17", "-O2", "-pthread", "-o", str(program), str(source)], check=True)
    try:
        limits = sandbox.Limits(
            cpu_ms=2000, wall_ms=5000, address_space_bytes=1 << 30, stack_bytes=64 << 20, output_bytes=4096, nproc=16
        )
        result = sandbox.run(
            [str(program)],
            slot=slot,
            cwd=directory,
            limits=limits,
            env=RUN_ENV,
            run_phase=True,
            runtime="native",
            stdin_path=APLUSB / "tests" / "01.in",
        )
    finally:
        program.unlink()
    assert result.ok, (result.exit_code, result.signal_name, result.stderr)
    assert result.stdout == (APLUSB / "tests" / "01.out").read_bytes()
