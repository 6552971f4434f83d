"""gradestack grading service: sandboxed judging of untrusted submissions.

Modules, one job each:

- ``languages``: pinned compile and run commands per language.
- ``seccomp_policy``: the syscall filters (compile phase, run phase).
- ``slots``: lease slot uids, unique per kernel (host-wide flock'ed lease files).
- ``sandbox``: run one command as an unprivileged slot uid under rlimits + seccomp.
- ``workspace``: per-job directories, created and destroyed safely.
- ``checkers``: exact / token / float / custom output checking.
- ``judge``: compile, run every test, check, decide the verdict.
- ``cli``: ``python -m gradestack_grading judge ...`` and ``python -m gradestack_grading worker``.
- ``problem_store``, ``worker``, ``watchdog``, ``health``, ``telemetry``: the queue worker.
"""

__version__ = "1.0.0"
