"""Slot uids: which unprivileged uid each concurrent job runs as, unique per kernel.

Uids are global to a kernel: two containers on one host that both run submissions as
uid 20000 share that uid's ``RLIMIT_NPROC`` count and can signal each other's processes
(rootful podman has no user namespace to separate them). So a slot uid is leased
host-wide, not per container:

- A lease is an ``flock`` on ``<lease dir>/<uid>.lock``. The lease directory
  (``SANDBOX_SLOT_LEASE_DIR``, default ``/run/gradestack/sandbox-slots``, root-owned
  0700) is the same host directory for every worker on the kernel: the grading role
  bind-mounts it into every local worker container at the same path, and the host's
  CLI uses the same default. On Fargate each task has its own kernel, so the task's
  own directory is enough there.
- A worker asks for ``WORKER_CONCURRENCY`` slots and takes the first free uids in
  ``[SANDBOX_UID_BASE, SANDBOX_UID_BASE + SANDBOX_UID_COUNT)``: workers with the same
  base get different uids without any per-container configuration.
- The lease is held for the holder's life (the descriptor stays open). A killed worker
  loses its locks with its descriptors, so a crashed container never leaks a slot.
- Before a leased uid is used, ``/proc`` is scanned: a live process of that uid in our
  PID namespace (a leftover, or a worker that does not use the lease directory) would
  share its ``RLIMIT_NPROC`` count and its ``kill(-1)``, so that uid is skipped.
"""

from __future__ import annotations

import fcntl
import logging
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("grading.slots")

DEFAULT_UID_BASE = 20000
DEFAULT_UID_COUNT = 1024
DEFAULT_LEASE_DIR = Path("/run/gradestack/sandbox-slots")
MIN_UID_BASE = 1000  # below: system accounts


class SlotError(RuntimeError):
    """No slot can be leased (the message names the uid range and why)."""


@dataclass(frozen=True)
class Slot:
    """One concurrent judging slot: its own uid/gid, so runs in different slots cannot touch each other."""

    index: int
    uid: int
    gid: int
    lock_fd: int = -1

    def release(self) -> None:
        if self.lock_fd >= 0:
            os.close(self.lock_fd)


def lease_dir_from_env() -> Path:
    configured = os.environ.get("SANDBOX_SLOT_LEASE_DIR", "").strip()
    return Path(configured) if configured else DEFAULT_LEASE_DIR


def _lease_dir(path: Path) -> Path:
    """Create the lease directory (root 0700) if missing; refuse one anybody else could plant locks in."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise SlotError(
            f"slot lease directory {path} must be a directory owned by uid {os.geteuid()} "
            "and not group/world-writable (expected mode 0700)"
        )
    return path


def live_uids(proc: Path = Path("/proc")) -> dict[int, str]:
    """Uids (real, effective, saved, fs) of the live processes we can see, each with one pid.

    Only our PID namespace: inside a container that is the container. That is why the
    lease directory, not this scan, is what separates containers; the scan catches
    processes that hold no lease (a leftover, a worker with another lease directory).
    """
    found: dict[int, str] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue  # exited while we looked
        state = uids = ""
        for line in status.splitlines():
            if line.startswith("State:"):
                state = line
            elif line.startswith("Uid:"):
                uids = line
        if not uids or "zombie" in state:
            continue  # a zombie holds no NPROC count worth skipping a uid for
        for uid in uids.split()[1:]:
            found.setdefault(int(uid), entry.name)
    return found


def acquire_slots(
    count: int,
    uid_base: int = DEFAULT_UID_BASE,
    uid_count: int = DEFAULT_UID_COUNT,
    lease_dir: Path | None = None,
    candidates: Iterable[int] | None = None,
) -> list[Slot]:
    """Lease ``count`` slot uids: the first free ones in ``[uid_base, uid_base + uid_count)``.

    ``candidates`` (offsets from ``uid_base``) narrows the search. Unprivileged callers
    get their own uid: there is nothing else they can switch to.
    """
    if os.geteuid() != 0:
        return [Slot(index=i, uid=os.getuid(), gid=os.getgid()) for i in range(count)]
    if uid_base < MIN_UID_BASE:
        raise SlotError(f"SANDBOX_UID_BASE={uid_base} would reuse a system account; use e.g. {DEFAULT_UID_BASE}")
    directory = _lease_dir(lease_dir or lease_dir_from_env())
    last = uid_base + uid_count - 1
    offsets = list(candidates) if candidates is not None else list(range(uid_count))
    busy = live_uids()
    slots: list[Slot] = []
    skipped_live = 0
    for offset in offsets:
        if len(slots) == count:
            break
        uid = uid_base + offset
        fd = os.open(directory / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)  # another worker or CLI on this kernel holds it
            continue
        if uid in busy:
            # Leased by nobody, yet in use: sharing it would share RLIMIT_NPROC and kill(-1).
            os.close(fd)
            skipped_live += 1
            log.warning(
                "slot uid skipped: a live process runs as it without a lease",
                extra={"fields": {"uid": uid, "pid": busy[uid], "lease_dir": str(directory)}},
            )
            continue
        slots.append(Slot(index=len(slots), uid=uid, gid=uid, lock_fd=fd))
    if len(slots) < count:
        for slot in slots:
            slot.release()
        raise SlotError(
            f"only {len(slots)} of {count} sandbox slot uids are free in {uid_base}..{last} "
            f"(lease directory {directory}; {skipped_live} skipped for live processes without a lease): "
            "raise SANDBOX_UID_COUNT, or stop what holds them"
        )
    return slots


def acquire_slot(
    uid_base: int = DEFAULT_UID_BASE,
    index: int | None = None,
    search: int = DEFAULT_UID_COUNT,
    lease_dir: Path | None = None,
) -> Slot:
    """Lease one slot uid: exactly ``uid_base + index`` if given, else the first free one."""
    candidates = [index] if index is not None else None
    return acquire_slots(1, uid_base, search, lease_dir, candidates)[0]
