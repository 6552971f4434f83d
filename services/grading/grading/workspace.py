"""Per-job directories: created by the worker before any untrusted code runs, then thrown away.

Layout of one job (``root`` is ``mkdtemp``'d, mode 0711: the slot uid may pass
through it but not list or change it)::

    root/build/   0700, owned by the slot uid: the compiler's cwd and TMPDIR
    root/run/     0755, root-owned: the program (copied out of build/) or main.py
    root/check/   0755, root-owned: input/answer/output files for a custom checker

Rules that keep this safe (the Judge0 CVEs were about breaking them):

- Everything the worker writes is created with O_CREAT|O_EXCL|O_NOFOLLOW inside a
  directory it just created itself, through a directory fd: no path the submission
  could have influenced is ever followed.
- The worker never chowns, chmods or follows anything inside build/ after the slot
  uid has run there. The one file it takes out (the compiled program) is opened with
  O_NOFOLLOW|O_NONBLOCK and must be a regular file owned by the slot uid.
- Cleanup: build/ is emptied by the slot uid itself (``rm -rf`` in the sandbox), then
  the whole job directory is removed with ``shutil.rmtree``, which works on directory
  fds and never follows symlinks; by then no process of the slot uid is alive.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

from grading import sandbox

MAX_PROGRAM_BYTES = 64 * 1024 * 1024


class WorkspaceError(RuntimeError):
    pass


class JobDir:
    def __init__(self, slot: sandbox.Slot, base: Path | None = None) -> None:
        self.slot = slot
        parent = base or Path(tempfile.gettempdir())
        self.root = Path(tempfile.mkdtemp(prefix="gradestack-job-", dir=parent))
        # Traverse-only for the slot uid; mkdtemp created it a moment ago, nothing else touched it.
        os.chmod(self.root, 0o711)  # noqa: S103
        self.build = self._mkdir("build", 0o700, owner=slot)
        self.run = self._mkdir("run", 0o755)
        self.check = self._mkdir("check", 0o755)

    def _mkdir(self, name: str, mode: int, owner: sandbox.Slot | None = None) -> Path:
        path = self.root / name
        os.mkdir(path, mode)
        os.chmod(path, mode)  # mkdir's mode is filtered by the umask
        if owner is not None and os.geteuid() == 0:
            os.chown(path, owner.uid, owner.gid)  # a directory we created this instant, still empty
        return path

    @staticmethod
    def write(directory: Path, name: str, data: bytes, mode: int = 0o644) -> Path:
        """Create ``directory/name`` exclusively (never through a symlink) and fill it."""
        if "/" in name or name in ("", ".", ".."):
            raise WorkspaceError(f"bad file name {name!r}")
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(name, flags, mode, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
        try:
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
        return self.write(self.run, name, data, 0o755)

    def destroy(self, empty_build_as_slot: bool = True) -> None:
        """Throw the whole job away. Safe to call twice."""
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
