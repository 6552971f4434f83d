"""Per-job directories: created by the worker before any untrusted code runs, private to
the job's slot, and thrown away on every exit path.

Layout (``base`` is shared by all jobs of this uid on the host; the job root has a
random 128-bit name)::

    base/                       0711 root:root   slots may pass through, never list it
      gradestack-job-<hex>/     0710 root:slot   only this slot may pass through it
        build/                  0700 slot:slot   the compiler's cwd and TMPDIR
        run/                    0750 root:slot   the program (copied out of build/), main.py
        check/                  0750 root:slot   input/answer/output files for a custom checker
        files we write          0640 root:slot   (the program 0750)

Why group ownership: what the submission must read or execute (run/, check/, the
source) cannot be owned by the slot uid, because an owner can chmod its files and
directories back open; and it cannot be world-readable, because concurrent slots are
other uids on the same host. So it is owned by root with the slot's own gid as group
(every slot has a distinct gid, the sandbox sets exactly that gid and no supplementary
groups) and no permission bits for others: another slot cannot even traverse the job
root, let alone list the base to learn its name. Only build/, where the compiler must
write, belongs to the slot uid.

The custom checker runs as the same slot and must read check/; the answer files there
are protected in time instead: they exist only while the (trusted) checker runs, after
the submission's run ended and the supervisor killed every process of the slot uid,
and they are removed right after (judge.py ``_custom_check``).

Rules that keep the worker's own file handling safe (the Judge0 CVEs were about
breaking them):

- Everything the worker writes is created with O_CREAT|O_EXCL|O_NOFOLLOW inside a
  directory it just created itself, through a directory fd: no path the submission
  could have influenced is ever followed.
- The worker never chowns, chmods or follows anything inside build/ after the slot
  uid has run there. The one file it takes out (the compiled program) is opened with
  O_NOFOLLOW|O_NONBLOCK and must be a regular file owned by the slot uid.
- Cleanup: build/ is emptied by the slot uid itself (``find -delete`` in the sandbox),
  then the whole job directory is removed with ``shutil.rmtree``, which works on
  directory fds and never follows symlinks; by then no process of the slot uid is alive.
- Every exit path removes the job: the context manager (normal end, exceptions,
  SystemExit raised by the CLI's SIGTERM/SIGINT handler) and, for jobs still running
  when the interpreter exits (a worker stopping after its grace period), an atexit hook.
  Only a SIGKILL can leave one behind, and it stays private to its slot.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import stat
import tempfile
import threading
from pathlib import Path

from gradestack_grading import sandbox

MAX_PROGRAM_BYTES = 64 * 1024 * 1024
JOB_PREFIX = "gradestack-job-"


class WorkspaceError(RuntimeError):
    pass


def jobs_base(parent: Path | None = None) -> Path:
    """The root-owned 0711 directory job roots are created in (``parent`` defaults to the temp dir).

    Refuses a directory someone else made (e.g. planted in /tmp by an earlier compile step).
    """
    path = (parent or Path(tempfile.gettempdir())) / f"gradestack-jobs-{os.geteuid()}"
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if info.st_uid != os.geteuid():
            raise WorkspaceError(f"{path} is owned by uid {info.st_uid}, not by us: refusing to use it")
        if stat.S_IMODE(info.st_mode) != 0o711:
            os.fchmod(fd, 0o711)  # traverse-only: others can reach no name they cannot guess
    finally:
        os.close(fd)
    return path


_live: set[JobDir] = set()
_live_lock = threading.Lock()


class JobDir:
    def __init__(self, slot: sandbox.Slot, base: Path | None = None) -> None:
        self.slot = slot
        self.root = jobs_base(base) / f"{JOB_PREFIX}{secrets.token_hex(16)}"
        os.mkdir(self.root, 0o700)
        with _live_lock:
            _live.add(self)  # from here on, even a constructor interrupted by a signal is cleaned up at exit
        try:
            self._own(self.root, 0o710)
            self.build = self._mkdir("build", 0o700, slot_owned=True)
            self.run = self._mkdir("run", 0o750)
            self.check = self._mkdir("check", 0o750)
        except BaseException:
            self.destroy(empty_build_as_slot=False)
            raise

    def _own(self, path: Path, mode: int, slot_owned: bool = False) -> None:
        """Give a directory we created this instant (still empty) its owner, the slot's group and ``mode``."""
        if os.geteuid() == 0:
            os.chown(path, self.slot.uid if slot_owned else 0, self.slot.gid)
        else:
            mode &= 0o700  # no uid isolation to rely on: keep it to ourselves
        os.chmod(path, mode)

    def _mkdir(self, name: str, mode: int, slot_owned: bool = False) -> Path:
        path = self.root / name
        os.mkdir(path, 0o700)
        self._own(path, mode, slot_owned)
        return path

    def write(self, directory: Path, name: str, data: bytes, mode: int = 0o640) -> Path:
        """Create ``directory/name`` exclusively (never through a symlink), root:slot group, and fill it."""
        if "/" in name or name in ("", ".", ".."):
            raise WorkspaceError(f"bad file name {name!r}")
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(name, flags, 0o600, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
        try:
            if os.geteuid() == 0:
                os.fchown(fd, 0, self.slot.gid)
            else:
                mode &= 0o700
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        return directory / name

    def take_program(self, name: str = "prog") -> Path:
        """Copy the compiled program out of build/ (slot-controlled) into run/ (ours)."""
        dir_fd = os.open(self.build, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
        except OSError as exc:
            raise WorkspaceError(f"the compiler produced no program ({exc.strerror})") from exc
        finally:
            os.close(dir_fd)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise WorkspaceError("the compiled program is not a regular file")
            if os.geteuid() == 0 and info.st_uid != self.slot.uid:
                raise WorkspaceError("the compiled program is not owned by the sandbox uid")
            if info.st_size > MAX_PROGRAM_BYTES:
                raise WorkspaceError(f"the compiled program is larger than {MAX_PROGRAM_BYTES} bytes")
            data = os.read(fd, info.st_size + 1)
            while len(data) < info.st_size and (chunk := os.read(fd, info.st_size - len(data) + 1)):
                data += chunk
        finally:
            os.close(fd)
        return self.write(self.run, name, data, 0o750)

    def destroy(self, empty_build_as_slot: bool = True) -> None:
        """Throw the whole job away. Safe to call twice."""
        with _live_lock:
            _live.discard(self)
        if not self.root.exists():
            return
        if empty_build_as_slot and os.geteuid() == 0:
            # If that fails, rmtree below still removes it without following links.
            with contextlib.suppress(sandbox.SandboxError):
                _empty_as_slot(self.build, self.slot)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> JobDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()


def _empty_as_slot(directory: Path, slot: sandbox.Slot) -> None:
    """Delete build/'s contents with the slot's own rights (it cannot remove build/ itself: root/ is ours)."""
    limits = sandbox.Limits(
        cpu_ms=5000, wall_ms=10_000, address_space_bytes=256 << 20, stack_bytes=8 << 20, output_bytes=4096, nproc=4
    )
    # find -delete never follows symlinks and handles any file name.
    sandbox.run(
        ["/usr/bin/find", ".", "-mindepth", "1", "-delete"],
        slot=slot,
        cwd=directory,
        limits=limits,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
        run_phase=False,
    )


@atexit.register
def _destroy_live_jobs() -> None:
    """Remove jobs still open when the interpreter exits (a worker stopping with a job still running).

    No sandbox step here: their runs may still be going on in daemon threads, and root's
    rmtree removes everything without following links anyway.
    """
    with _live_lock:
        jobs = list(_live)
    for job in jobs:
        job.destroy(empty_build_as_slot=False)
