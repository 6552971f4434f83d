"""Problems from S3 (``problems/<id>/...``), cached on local disk and revalidated by ETag.

Each fetched version lives in its own directory, ``<cache>/<version>/<id>/``, where
``version`` hashes the objects' keys and ETags; switching to a new version is one
dictionary update, so a job already running keeps reading the files it started with.
The cache root is root-only (0700): submissions run as slot uids and must never read
expected outputs.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from gradestack_protocol import Problem, load_problem
from gradestack_protocol.messages import validate_problem_id

# Only these files are fetched; anything else under problems/<id>/ (solutions, generators) is ignored.
_WANTED = re.compile(r"^(problem\.json|statement\.md|checker\.(cpp|cc|c)|tests/[A-Za-z0-9_-]{1,64}\.(in|out))$")
MAX_OBJECT_BYTES = 256 * 1024 * 1024
KEEP_VERSIONS = 2


class ProblemNotFoundError(LookupError):
    """No such problem in the bucket: retrying will not help."""


@dataclass
class _Cached:
    version: str
    problem: Problem
    checked_at: float
    older: list[str]


class ProblemStore:
    def __init__(self, s3, bucket: str, cache_dir: Path, revalidate_s: float = 10.0) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.cache_dir = cache_dir
        self.revalidate_s = revalidate_s
        self._cached: dict[str, _Cached] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(cache_dir, 0o700)

    def _lock(self, problem_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(problem_id, threading.Lock())

    def get(self, problem_id: str) -> Problem:
        validate_problem_id(problem_id)
        with self._lock(problem_id):
            cached = self._cached.get(problem_id)
            if cached and time.monotonic() - cached.checked_at < self.revalidate_s:
                return cached.problem
            objects = self._list(problem_id)
            version = hashlib.sha256(
                "\n".join(f"{key}\0{etag}" for key, (etag, _size) in sorted(objects.items())).encode()
            ).hexdigest()[:20]
            if cached and cached.version == version:
                cached.checked_at = time.monotonic()
                return cached.problem
            problem = self._download(problem_id, version, objects)
            # Keep the previous version (a running job may still read it), drop anything older.
            previous = [cached.version, *cached.older] if cached else []
            for stale in previous[KEEP_VERSIONS - 1 :]:
                shutil.rmtree(self.cache_dir / stale, ignore_errors=True)
            self._cached[problem_id] = _Cached(version, problem, time.monotonic(), previous[: KEEP_VERSIONS - 1])
            return problem

    def _list(self, problem_id: str) -> dict[str, tuple[str, int]]:
        prefix = f"problems/{problem_id}/"
        objects: dict[str, tuple[str, int]] = {}
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                relative = item["Key"][len(prefix) :]
                if _WANTED.match(relative):
                    objects[relative] = (item["ETag"], item["Size"])
        if "problem.json" not in objects:
            raise ProblemNotFoundError(f"problem {problem_id!r} is not in s3://{self.bucket}/{prefix}")
        return objects

    def _download(self, problem_id: str, version: str, objects: dict[str, tuple[str, int]]) -> Problem:
        root = self.cache_dir / version / problem_id
        if (root / ".complete").exists():
            return load_problem(root)
        staging = self.cache_dir / f".{version}.{os.getpid()}.{threading.get_ident()}"
        shutil.rmtree(staging, ignore_errors=True)
        (staging / problem_id / "tests").mkdir(parents=True)
        prefix = f"problems/{problem_id}/"
        for relative, (_etag, size) in objects.items():
            if size > MAX_OBJECT_BYTES:
                raise ProblemNotFoundError(f"{prefix}{relative} is {size} bytes, more than {MAX_OBJECT_BYTES}")
            self.s3.download_file(self.bucket, prefix + relative, str(staging / problem_id / relative))
        (staging / problem_id / ".complete").touch()
        load_problem(staging / problem_id)  # validate before publishing the version
        try:
            staging.rename(self.cache_dir / version)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another worker process got there first
        return load_problem(root)


def upload_problem(s3, bucket: str, directory: Path) -> list[str]:
    """Upload one problem directory (validated first) to ``problems/<id>/``; returns the keys written."""
    problem = load_problem(directory)
    keys = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory).as_posix()
        if path.is_file() and _WANTED.match(relative):
            key = f"problems/{problem.id}/{relative}"
            s3.upload_file(str(path), bucket, key)
            keys.append(key)
    return keys
