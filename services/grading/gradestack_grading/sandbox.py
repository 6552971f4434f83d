"""Run one untrusted command under limits, as an unprivileged slot uid.

The mechanics live in a tiny static C supervisor (native/sandbox_exec.c, see its
header for why it is not a Python fork); this module builds it, starts it with a
clean environment and the right file descriptors, enforces the output caps while
reading and the wall-clock limit (in the supervisor, and again here on the
supervisor itself), and turns its report into a ``RunResult``.

What every run gets (see SECURITY.md for the threat model):

- a fresh process group and session, killed as a whole on any limit;
- the slot's uid/gid (no supplementary groups), no_new_privs, a parent-death signal;
- rlimits: CPU, AS, STACK, FSIZE, NPROC, NOFILE, CORE=0, MEMLOCK=0, MSGQUEUE=0;
- a seccomp filter (seccomp_policy) for its phase;
- only the environment we pass (never the worker's: no AWS_*, no ECS metadata URIs);
- only fds 0, 1, 2: stdin from a file or /dev/null, stdout/stderr to capped pipes.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import os
import select
import signal
import stat
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gradestack_grading import seccomp_policy
from gradestack_grading.slots import Slot, acquire_slot  # noqa: F401  (moved; judge, workspace and callers use sandbox.Slot)

READ_CHUNK = 64 * 1024
REPORT_FD = 3  # where the supervisor writes its one-line report
SUPERVISOR_GRACE_S = 10.0


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the program in it): an internal error, never a verdict."""


class SandboxHostError(SandboxError):
    """The host ran short of a kernel resource, or could not start the supervisor at all.

    Never the submission's doing (every slot uid is ours alone and emptied after each run),
    so the worker judges again or hands the job back instead of giving a verdict.
    """


# Errors of the kernel or of this container's limits (processes, descriptors, memory):
# another try, later or on another worker, can succeed.
HOST_ERRNOS = frozenset({errno.EAGAIN, errno.ENFILE, errno.EMFILE, errno.ENOMEM})


def is_host_errno(number: int | None) -> bool:
    return number in HOST_ERRNOS


@dataclass(frozen=True)
class Limits:
    cpu_ms: int
    wall_ms: int
    address_space_bytes: int
    stack_bytes: int
    output_bytes: int  # stdout cap; reading stops and the group is killed beyond it
    stderr_bytes: int = 64 * 1024
    file_size_bytes: int = 0
    nproc: int = 1
    nofile: int = 64


@dataclass(frozen=True)
class RunResult:
    exit_code: int | None  # None when killed by a signal
    signal: int | None
    cpu_ms: int
    wall_ms: int
    memory_kb: int
    stdout: bytes
    stderr: bytes
    output_exceeded: bool
    wall_exceeded: bool

    @property
    def signal_name(self) -> str:
        if self.signal is None:
            return ""
        try:
            return signal.Signals(self.signal).name
        except ValueError:
            return f"signal {self.signal}"

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.output_exceeded and not self.wall_exceeded


def _private_dir(path: Path, mode: int = 0o700) -> Path:
    """A directory we own that nobody else can write; refuse one planted by someone else (e.g. in /tmp)."""
    path.mkdir(mode=mode, parents=True, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise SandboxError(f"{path} must be a directory owned by uid {os.geteuid()} and not group/world-writable")
    return path


def state_dir() -> Path:
    configured = os.environ.get("GRADING_STATE_DIR")
    base = Path(configured) if configured else Path(tempfile.gettempdir()) / f"gradestack-{os.geteuid()}"
    return _private_dir(base)


def readable_dir(name: str) -> Path:
    """A root-owned, world-readable (0755) directory for files sandboxed runs must execute."""
    configured = os.environ.get("GRADING_STATE_DIR")
    parent = Path(configured).parent if configured else Path(tempfile.gettempdir())
    return _private_dir(parent / f"gradestack-{os.geteuid()}-{name}", 0o755)


_build_lock = threading.Lock()


def supervisor_path() -> Path:
    """The compiled supervisor: GRADING_SANDBOX_EXEC (the image ships one), else built once here."""
    return _supervisor_path(os.environ.get("GRADING_SANDBOX_EXEC", ""), os.environ.get("GRADING_STATE_DIR", ""))


@functools.cache
def _supervisor_path(configured: str, _state: str) -> Path:
    if configured:
        return Path(configured)
    source = resources.files("gradestack_grading.native").joinpath("sandbox_exec.c").read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    target = state_dir() / f"sandbox-exec-{digest}"
    with _build_lock:
        if not target.exists():
            build_supervisor(source, target)
    return target


def build_supervisor(source: bytes, target: Path) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        src = Path(tmp) / "sandbox_exec.c"
        src.write_bytes(source)
        out = Path(tmp) / "sandbox-exec"
        command = ["gcc", "-O2", "-static", "-Wall", "-o", str(out), str(src)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise SandboxError(f"building the sandbox supervisor failed: {done.stderr[-2000:]}")
        out.chmod(0o755)
        out.rename(target)


_bpf_lock = threading.Lock()


def bpf_file(run_phase: bool, runtime: str | None = None) -> Path:
    """The exported seccomp program for a phase (and runtime), written once per process into the state dir."""
    return _bpf_file(run_phase, runtime, os.environ.get("GRADING_STATE_DIR", ""))


@functools.cache
def _bpf_file(run_phase: bool, runtime: str | None, _state: str) -> Path:
    flt = seccomp_policy.compiled(run_phase, runtime)
    digest = hashlib.sha256(flt.bpf).hexdigest()[:16]
    path = state_dir() / f"seccomp-{seccomp_policy.profile_for(run_phase, runtime)}-{digest}.bpf"
    with _bpf_lock:
        if not path.exists():
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(flt.bpf)
            tmp.chmod(0o644)
            tmp.rename(path)
    return path


def run(
    argv: list[str] | tuple[str, ...],
    *,
    slot: Slot,
    cwd: Path,
    limits: Limits,
    env: dict[str, str],
    run_phase: bool,
    stdin_path: Path | None = None,
    runtime: str | None = None,
) -> RunResult:
    """Run ``argv`` in the sandbox and wait for it and everything it started to be gone.

    ``runtime`` (run phase: "native" or "python3") picks the seccomp allow list; None
    allows what any of them needs.

    Never blocks without a deadline: the supervisor enforces the wall-clock limit itself,
    and this side enforces it again on the supervisor (SIGTERM, then SIGKILL after a
    grace), whatever the program does with its stdout and stderr.
    """
    # The rlimit is whole seconds and only a backstop (SIGXCPU): the verdict compares the
    # measured CPU time with the limit in ms, so give it a second of headroom.
    cpu_seconds = -(-limits.cpu_ms // 1000) + 1
    command = [
        str(supervisor_path()),
        "--uid", str(slot.uid),
        "--gid", str(slot.gid),
        "--cwd", str(cwd),
        "--bpf", str(bpf_file(run_phase, runtime)),
        "--wall-ms", str(limits.wall_ms),
        "--cpu-s", str(cpu_seconds),
        "--as-bytes", str(limits.address_space_bytes),
        "--stack-bytes", str(limits.stack_bytes),
        "--fsize-bytes", str(limits.file_size_bytes),
        "--nproc", str(limits.nproc),
        "--nofile", str(limits.nofile),
    ]  # fmt: skip
    command += ["--report-fd", str(REPORT_FD), "--", *argv]
    stdin_fd = (
        os.open(stdin_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        if stdin_path is not None
        else os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    )
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    started = time.monotonic()
    try:
        # posix_spawn (vfork-like, no Python in the child) is thread-safe and cheap. Every
        # descriptor of ours is close-on-exec; the child gets exactly 0, 1, 2 and the report
        # pipe, dup2'ed into place (dup2 clears close-on-exec on the copy only).
        pid = os.posix_spawn(
            command[0],
            command,
            env,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, stdin_fd, 0),
                (os.POSIX_SPAWN_DUP2, out_w, 1),
                (os.POSIX_SPAWN_DUP2, err_w, 2),
                (os.POSIX_SPAWN_DUP2, report_w, REPORT_FD),
            ],
        )
    except OSError as exc:
        for fd in (out_r, err_r, report_r):
            os.close(fd)
        raise SandboxHostError(f"cannot start the sandbox supervisor {command[0]}: {exc.strerror}") from exc
    finally:
        for fd in (stdin_fd, out_w, err_w, report_w):
            os.close(fd)
    proc = _Supervisor(pid)
    try:
        stdout, stderr, output_exceeded, wall_exceeded = _collect(proc, out_r, err_r, limits, started)
        wall_ms = int((time.monotonic() - started) * 1000)
        # The supervisor has exited, so the report is complete (nothing else holds that pipe).
        report = _drain(report_r, bytearray(), 4096, 4096)[0].decode("utf-8", "replace").strip()
    finally:
        for fd in (out_r, err_r, report_r):
            os.close(fd)
        proc.stop()  # only does something when we got here by an exception (e.g. SIGTERM to the CLI)
        proc.close()
    return _parse_report(
        report, stdout, stderr, output_exceeded=output_exceeded, wall_exceeded=wall_exceeded, wall_ms=wall_ms
    )


class _Supervisor:
    """The supervisor process, with a pidfd so its exit can be polled with the pipes (Linux >= 5.3)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.status: int | None = None
        self.pidfd = os.pidfd_open(pid)

    def poll(self) -> int | None:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.status = status
        return self.status

    def wait(self, timeout_s: float) -> int | None:
        """Reap it if it exits within ``timeout_s``; None if it is still running."""
        if self.status is None:
            select.select([self.pidfd], [], [], timeout_s)
        return self.poll()

    def send_signal(self, sig: int) -> None:
        if self.status is None:  # not reaped yet, so the pid cannot have been reused
            os.kill(self.pid, sig)

    def close(self) -> None:
        os.close(self.pidfd)

    def stop(self) -> None:
        """End it if still running (it kills the target's group and slot on SIGTERM), within bounds."""
        if self.poll() is not None:
            return
        self.send_signal(signal.SIGTERM)
        if self.wait(SUPERVISOR_GRACE_S) is None:
            # SIGKILL reaches the target too (its parent-death signal).
            self.send_signal(signal.SIGKILL)
            self.wait(SUPERVISOR_GRACE_S)


def _collect(
    proc: _Supervisor, out_fd: int, err_fd: int, limits: Limits, started: float
) -> tuple[bytes, bytes, bool, bool]:
    """Read stdout/stderr until the supervisor exits, within the caps and the wall-clock limit.

    The supervisor's exit (its pidfd), not EOF on the pipes, ends the loop: a program can
    close its stdout and stderr and live on. At the deadline the supervisor gets SIGTERM
    (it kills the target's group); if it is still there a grace later, SIGKILL; if even
    that does not end it, SandboxError. The supervisor times the wall clock itself too,
    so this is the backstop.
    """
    streams = {out_fd: bytearray(), err_fd: bytearray()}
    caps = {out_fd: limits.output_bytes, err_fd: limits.stderr_bytes}
    poller = select.poll()
    for fd in (out_fd, err_fd, proc.pidfd):
        poller.register(fd, select.POLLIN)
    next_step = started + limits.wall_ms / 1000  # when to escalate: SIGTERM, SIGKILL, give up
    escalation = [signal.SIGTERM, signal.SIGKILL]
    output_exceeded = wall_exceeded = exited = False

    def escalate() -> None:
        nonlocal next_step
        if not escalation:
            raise SandboxError(f"the sandbox supervisor (pid {proc.pid}) did not exit after SIGKILL")
        proc.send_signal(escalation.pop(0))
        next_step = time.monotonic() + SUPERVISOR_GRACE_S

    while not exited:
        if time.monotonic() >= next_step:
            wall_exceeded = wall_exceeded or len(escalation) == 2  # nothing sent yet: the wall-clock deadline
            escalate()
        timeout_ms = max(1, int((next_step - time.monotonic()) * 1000) + 1)
        for fd, _event in poller.poll(timeout_ms):
            if fd == proc.pidfd:
                exited = True
                continue
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                poller.unregister(fd)
            # stderr beyond its cap is dropped silently: it is diagnostics, not output.
            elif not _keep(streams[fd], chunk, caps[fd]) and fd == out_fd and not output_exceeded:
                output_exceeded = True
                if len(escalation) == 2:
                    escalate()  # SIGTERM now: the supervisor kills the target's whole group
    proc.poll()
    # Every writer is dead now (the supervisor killed and reaped them); take what is buffered.
    output_exceeded = _drain(out_fd, streams[out_fd], caps[out_fd], READ_CHUNK)[1] or output_exceeded
    _drain(err_fd, streams[err_fd], caps[err_fd], READ_CHUNK)
    return bytes(streams[out_fd]), bytes(streams[err_fd]), output_exceeded, wall_exceeded


def _keep(buffer: bytearray, chunk: bytes, cap: int) -> bool:
    """Append what fits under ``cap``; False when the chunk did not fit entirely."""
    room = cap - len(buffer)
    if room > 0:
        buffer += chunk[:room]
    return len(chunk) <= room


def _drain(fd: int, buffer: bytearray, cap: int, chunk_size: int) -> tuple[bytes, bool]:
    """Read what is buffered in ``fd`` without blocking, keeping ``cap`` bytes; (buffer, overflowed).

    Bounded even if some process still writes into the pipe: it stops one chunk past the cap.
    """
    os.set_blocking(fd, False)
    overflowed = False
    read = 0
    while read <= cap + chunk_size:
        try:
            chunk = os.read(fd, chunk_size)
        except BlockingIOError:
            break
        if not chunk:
            break
        read += len(chunk)
        overflowed = not _keep(buffer, chunk, cap) or overflowed
    return bytes(buffer), overflowed


def _setup_error(error: str) -> SandboxError:
    """The supervisor's `error [errno=N ]<what>: <strerror>` line as the right exception.

    The supervisor reports a failed system call with its errno (sandbox_exec.c, fail());
    the number, not the message text, says whether the host is to blame.
    """
    number = None
    if error.startswith("errno="):
        code, _, error = error.partition(" ")
        number = int(code[6:]) if code[6:].isdigit() else None
    message = f"sandbox setup failed: {error}"
    return SandboxHostError(message) if is_host_errno(number) else SandboxError(message)


def _parse_report(
    report: str, stdout: bytes, stderr: bytes, *, output_exceeded: bool, wall_exceeded: bool, wall_ms: int
) -> RunResult:
    lines = report.splitlines()
    errors = [line[6:] for line in lines if line.startswith("error ")]
    if errors:
        raise _setup_error(errors[0])
    final = next((line for line in reversed(lines) if line.startswith("ok ")), None)
    if final is None:
        raise SandboxError(f"sandbox supervisor gave no report (got {report[:200]!r})")
    fields = dict(item.split("=", 1) for item in final[3:].split())
    status = int(fields["status"])
    exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    cpu_ms = (int(fields["utime_us"]) + int(fields["stime_us"])) // 1000
    return RunResult(
        exit_code=exit_code,
        signal=sig,
        cpu_ms=cpu_ms,
        wall_ms=wall_ms,
        memory_kb=int(fields["maxrss_kb"]),
        stdout=stdout,
        stderr=stderr,
        output_exceeded=output_exceeded,
        wall_exceeded=wall_exceeded or fields.get("wall") == "1",  # the supervisor's own timer
    )
