"""Pinned compile and run commands for each supported language.

The flags are part of the judge's contract with contestants (they are shown in
the README): changing them changes verdicts, so they change only on purpose.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    name: str
    source_name: str  # file name the source is written to
    # argv for the compile step (run in the build directory), or None for interpreted
    # languages; those get ``check`` instead: a syntax check that yields CE.
    compile: tuple[str, ...] | None
    run: tuple[str, ...]  # argv of the run step; "{program}" is the built program or source file
    check: tuple[str, ...] | None = None
    # Extra address space for the runtime itself (the interpreter maps its libraries),
    # added to the problem's memory limit so the limit applies to the submission's data.
    runtime_overhead_mb: int = 0
    # Processes/threads a correct submission may need (the compiler driver forks cc1, as, ld).
    compile_nproc: int = 16
    # The run-phase seccomp allow list (seccomp_policy.RUNTIMES): what the program is made of.
    runtime: str = "native"


def _python3() -> str:
    # The submissions' interpreter is the system one, never the worker's virtualenv.
    configured = os.environ.get("GRADING_PYTHON3")
    if configured:
        return configured
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(candidate):
            return candidate
    return shutil.which("python3") or "python3"


def _tool(name: str) -> str:
    return shutil.which(name, path="/usr/local/bin:/usr/bin:/bin") or name


_PY_SYNTAX_CHECK = "import sys; compile(open(sys.argv[1], 'rb').read(), sys.argv[1], 'exec')"


def get_languages() -> dict[str, Language]:
    python3 = _python3()
    return {
        "c": Language(
            name="c",
            source_name="main.c",
            compile=(_tool("gcc"), "-std=c11", "-O2", "-pipe", "-DONLINE_JUDGE", "-o", "prog", "main.c", "-lm"),
            run=("{program}",),
        ),
        "cpp": Language(
            name="cpp",
            source_name="main.cpp",
            compile=(_tool("g++"), "-std=c++17", "-O2", "-pipe", "-DONLINE_JUDGE", "-o", "prog", "main.cpp"),
            run=("{program}",),
        ),
        "python3": Language(
            name="python3",
            source_name="main.py",
            compile=None,
            # -I: ignore PYTHON* variables and the user site; -S: no site-packages; -B: no .pyc writes.
            check=(python3, "-I", "-S", "-B", "-c", _PY_SYNTAX_CHECK, "main.py"),
            run=(python3, "-I", "-S", "-B", "{program}"),
            runtime_overhead_mb=64,
            runtime="python3",
        ),
    }


# Compile flags as documented in README.md (kept in one place so the docs test can check them).
COMPILE_FLAGS = {
    "c": "gcc -std=c11 -O2 -pipe -DONLINE_JUDGE -o prog main.c -lm",
    "cpp": "g++ -std=c++17 -O2 -pipe -DONLINE_JUDGE -o prog main.cpp",
    "python3": "python3 -I -S -B main.py (syntax-checked first)",
}
