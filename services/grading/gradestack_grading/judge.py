"""The judge core: compile a submission, run it on every test, check, decide the verdict.

The CLI (``python -m gradestack_grading judge``) and the worker both call ``Judge.judge``.

Verdicts per test, in the order they are decided:

- OLE  stdout exceeded the problem's output limit (the run is killed at the limit);
- TLE  CPU time above the limit, SIGXCPU, or the wall-clock limit (2 x TL + 1 s) hit;
- MLE  peak resident memory above the limit, or a failed run whose stderr shows an
       allocation failure (``std::bad_alloc``, ``MemoryError``): the address-space
       rlimit (2 x ML + runtime) turned the allocation into that error; or, without
       running, a compiled program whose static image (ELF PT_LOAD segments, e.g. a
       huge global array) alone exceeds the limit (the exec would die of SIGSEGV);
- RTE  killed by a signal (the detail names it, e.g. SIGSEGV);
- IR   exited with a non-zero code (the detail gives it);
- AC / WA from the checker; SC for tests skipped after a failure with short-circuit;
- IE   the judge itself failed (sandbox or checker trouble): never the contestant's fault.

The submission's verdict is the first non-AC test verdict in test order, CE when
compilation fails, AC when every test passes.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from gradestack_protocol import Problem
from gradestack_protocol.messages import MAX_COMPILE_OUTPUT_CHARS

from gradestack_grading import checkers, elf, sandbox
from gradestack_grading.languages import Language, get_languages
from gradestack_grading.workspace import JobDir, WorkspaceError

MB = 1024 * 1024
OUTPUT_EXCERPT_BYTES = 1024
RUNTIME_BASE_MB = 64  # shared libraries and the loader, for every language


@dataclass(frozen=True)
class JudgeConfig:
    compile_cpu_ms: int = 10_000
    compile_wall_ms: int = 20_000
    compile_memory_mb: int = 1024
    compile_output_bytes: int = 64 * 1024
    compile_file_size_mb: int = 64
    compile_nproc: int = 32
    checker_cpu_ms: int = 10_000
    wall_factor: float = 2.0
    wall_extra_ms: int = 1000
    work_dir: Path | None = None


@dataclass
class TestReport:
    __test__ = False  # not a pytest class

    name: str
    verdict: str
    time_ms: int = 0
    memory_kb: int = 0
    detail: str = ""
    output_excerpt: str = ""
    visible: bool = False  # the problem's feedback policy shows this test in full to contestants

    def for_contestant(self) -> TestReport:
        """This test as a contestant may see it: a hidden test keeps its verdict, time and memory only."""
        if self.visible:
            return replace(self)
        return TestReport(name=self.name, verdict=self.verdict, time_ms=self.time_ms, memory_kb=self.memory_kb)


@dataclass
class JudgeReport:
    problem: str
    language: str
    verdict: str
    compile_output: str = ""
    time_ms: int = 0
    memory_kb: int = 0
    tests: list[TestReport] = field(default_factory=list)
    detail: str = ""
    # IE because the host failed (sandbox.SandboxHostError), not the judge's logic: the
    # worker judges again or hands the job back. Internal, never serialised.
    host_failure: bool = False
    # Wall-clock stamps (judge.start, compile.end, judge.end) for the submission's trace
    # (gradestack_protocol.trace). Internal, never serialised into the report.
    stamps: dict[str, float] = field(default_factory=dict)

    def to_dict(self, with_outputs: bool = False) -> dict:
        body = asdict(self)
        body.pop("host_failure")
        body.pop("stamps")
        if not with_outputs:
            for test in body["tests"]:
                test.pop("output_excerpt", None)
        return body

    def to_json(self, with_outputs: bool = False) -> str:
        return json.dumps(self.to_dict(with_outputs), indent=2)

    def for_contestant(self) -> JudgeReport:
        """The report with every hidden test redacted (see ``TestReport.for_contestant``).

        The full report is for problem setters and staff: its hidden tests' details quote
        expected answers, exit codes and program output.
        """
        return replace(self, tests=[test.for_contestant() for test in self.tests])


def _compile_env(build: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": str(build),
        "TMPDIR": str(build),
    }


RUN_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": "/nonexistent"}


def _text(data: bytes, limit: int) -> str:
    text = data.decode("utf-8", "replace")
    if len(text) > limit:
        text = text[: limit - 20] + "\n... (truncated)"
    return text


class Judge:
    """Judges submissions in one sandbox slot (one at a time per Judge)."""

    def __init__(self, slot: sandbox.Slot, config: JudgeConfig | None = None) -> None:
        self.slot = slot
        self.config = config or JudgeConfig()
        self.languages = get_languages()

    # --- limits -------------------------------------------------------------------------

    def compile_limits(self) -> sandbox.Limits:
        c = self.config
        return sandbox.Limits(
            cpu_ms=c.compile_cpu_ms,
            wall_ms=c.compile_wall_ms,
            address_space_bytes=c.compile_memory_mb * MB,
            stack_bytes=64 * MB,
            output_bytes=c.compile_output_bytes,
            stderr_bytes=c.compile_output_bytes,
            file_size_bytes=c.compile_file_size_mb * MB,
            nproc=c.compile_nproc,
            nofile=256,
        )

    def run_limits(self, problem: Problem, language: Language) -> sandbox.Limits:
        memory = problem.memory_limit_mb * MB
        return sandbox.Limits(
            cpu_ms=problem.time_limit_ms,
            wall_ms=int(problem.time_limit_ms * self.config.wall_factor) + self.config.wall_extra_ms,
            address_space_bytes=2 * memory + (RUNTIME_BASE_MB + language.runtime_overhead_mb) * MB,
            stack_bytes=memory,
            output_bytes=problem.output_limit_kb * 1024,
            file_size_bytes=problem.output_limit_kb * 1024,
            nproc=1,
            nofile=64,
        )

    # --- the job ------------------------------------------------------------------------

    def judge(self, problem: Problem, language: str, source: str, short_circuit: bool = False) -> JudgeReport:
        report = JudgeReport(problem=problem.id, language=language, verdict="IE")
        report.stamps["judge.start"] = time.time()
        try:
            self._judge(report, problem, language, source, short_circuit)
        finally:
            report.stamps["judge.end"] = time.time()
        return report

    def _judge(self, report: JudgeReport, problem: Problem, language: str, source: str, short_circuit: bool) -> None:
        lang = self.languages.get(language)
        if lang is None:
            report.detail = f"unknown language {language!r}"
            return
        try:
            with JobDir(self.slot, self.config.work_dir) as job:
                program = self._build(job, lang, source.encode("utf-8"), report)
                report.stamps["compile.end"] = time.time()
                if program is None:
                    return
                checker_program = self._checker(problem) if problem.checker.type == "custom" else None
                self._run_tests(job, problem, lang, program, checker_program, short_circuit, report)
        except (sandbox.SandboxError, WorkspaceError, OSError) as exc:
            report.verdict = "IE"
            report.detail = f"internal error: {type(exc).__name__}: {exc}"[:1000]
            report.host_failure = isinstance(exc, sandbox.SandboxHostError) or (
                isinstance(exc, OSError) and sandbox.is_host_errno(exc.errno)
            )

    def _build(self, job: JobDir, lang: Language, source: bytes, report: JudgeReport) -> list[str] | None:
        """Compile (or syntax-check) the source; on failure fill ``report`` with CE and return None."""
        if lang.compile is not None:
            job.write(job.build, lang.source_name, source)
            argv, cwd = list(lang.compile), job.build
        else:
            job.write(job.run, lang.source_name, source)
            argv, cwd = list(lang.check or ()), job.run
        result = sandbox.run(
            argv,
            slot=self.slot,
            cwd=cwd,
            limits=self.compile_limits(),
            env=_compile_env(job.build),
            run_phase=False,
        )
        output = _text(result.stderr + result.stdout, MAX_COMPILE_OUTPUT_CHARS - 200)
        if not result.ok:
            reason = ""
            if result.wall_exceeded or result.signal in (signal.SIGXCPU, signal.SIGKILL):
                reason = "compilation exceeded its time limit"
            elif result.output_exceeded:
                reason = "compilation produced too much output"
            elif result.signal is not None:
                reason = f"the compiler was killed by {result.signal_name}"
            report.verdict = "CE"
            report.compile_output = (output + ("\n" + reason if reason else "")).strip()
            return None
        report.compile_output = output.strip()
        program = str(job.take_program()) if lang.compile is not None else str(job.run / lang.source_name)
        return [part.replace("{program}", program) for part in lang.run]

    def _run_tests(  # noqa: PLR0917  (private helper, called once)
        self,
        job: JobDir,
        problem: Problem,
        lang: Language,
        argv: list[str],
        checker_program: Path | None,
        short_circuit: bool,
        report: JudgeReport,
    ) -> None:
        limits = self.run_limits(problem, lang)
        image_bytes = elf.static_image_bytes(Path(argv[0])) if lang.compile is not None else None
        image_too_big = image_bytes is not None and image_bytes > problem.memory_limit_mb * MB
        failed = False
        for test in problem.tests:
            if failed and short_circuit:
                report.tests.append(TestReport(name=test.name, verdict="SC", visible=test.visible))
                continue
            if image_too_big:
                detail = f"static data {image_bytes // MB} MB exceeds the memory limit ({problem.memory_limit_mb} MB)"
                report.tests.append(TestReport(test.name, "MLE", memory_kb=image_bytes // 1024, detail=detail))
                failed = True
                continue
            result = sandbox.run(
                argv,
                slot=self.slot,
                cwd=job.run,
                limits=limits,
                env=RUN_ENV,
                run_phase=True,
                stdin_path=test.input_path,
                runtime=lang.runtime,
            )
            verdict, detail = classify(result, problem, limits.wall_ms)
            if verdict == "":
                expected = test.output_path.read_bytes()
                if checker_program is not None:
                    verdict, detail = self._custom_check(job, test, result.stdout, checker_program)
                else:
                    checked = checkers.check(problem.checker, expected, result.stdout)
                    verdict, detail = checked.verdict, checked.detail
            report.tests.append(
                TestReport(
                    name=test.name,
                    verdict=verdict,
                    time_ms=result.cpu_ms,
                    memory_kb=result.memory_kb,
                    detail=detail,
                    output_excerpt=_text(result.stdout[:OUTPUT_EXCERPT_BYTES], OUTPUT_EXCERPT_BYTES + 20),
                    visible=test.visible,
                )
            )
            failed = failed or verdict != "AC"
        ran = [t for t in report.tests if t.verdict != "SC"]
        report.time_ms = max((t.time_ms for t in ran), default=0)
        report.memory_kb = max((t.memory_kb for t in ran), default=0)
        report.verdict = next((t.verdict for t in ran if t.verdict != "AC"), "AC")

    # --- custom checker -------------------------------------------------------------------

    _checker_lock = threading.Lock()

    def _checker(self, problem: Problem) -> Path:
        """Compile the problem's checker once (in the sandbox) and cache it by content hash."""
        assert problem.checker.program is not None
        source = (problem.root / problem.checker.program).read_bytes()
        digest = hashlib.sha256(source).hexdigest()[:24]
        cache = sandbox.readable_dir("checkers")  # the slot uid must be able to execute cached checkers
        target = cache / f"checker-{digest}"
        with self._checker_lock:
            if target.exists():
                return target
            lang = self.languages["cpp"]
            with JobDir(self.slot, self.config.work_dir) as job:
                report = JudgeReport(problem=problem.id, language="cpp", verdict="")
                if self._build(job, lang, source, report) is None:
                    raise WorkspaceError(f"the checker of {problem.id} does not compile: {report.compile_output[:500]}")
                built = job.run / "prog"
                tmp = cache / f".checker-{digest}.{os.getpid()}.{threading.get_ident()}"
                tmp.write_bytes(built.read_bytes())
                tmp.chmod(0o755)
                tmp.rename(target)
        return target

    def _custom_check(self, job: JobDir, test, output: bytes, checker_program: Path) -> tuple[str, str]:
        prefix = f"{test.name}."
        input_path = job.write(job.check, prefix + "in", test.input_path.read_bytes())
        answer_path = job.write(job.check, prefix + "ans", test.output_path.read_bytes())
        output_path = job.write(job.check, prefix + "out", output)
        limits = sandbox.Limits(
            cpu_ms=self.config.checker_cpu_ms,
            wall_ms=self.config.checker_cpu_ms * 2,
            address_space_bytes=1024 * MB,
            stack_bytes=256 * MB,
            output_bytes=64 * 1024,
            nproc=1,
        )
        try:
            result = sandbox.run(
                [str(checker_program), str(input_path), str(answer_path), str(output_path)],
                slot=self.slot,
                cwd=job.check,
                limits=limits,
                env=RUN_ENV,
                run_phase=True,
                runtime="native",  # checkers are C++
            )
        finally:
            # The next test's run must not find this test's answer. These files are ours, in a
            # root-owned directory the slot cannot write, so removing them by name is safe.
            for path in (input_path, answer_path, output_path):
                path.unlink(missing_ok=True)
        if result.signal is not None or result.wall_exceeded or result.output_exceeded:
            return "IE", f"checker crashed or exceeded its limits ({result.signal_name or 'limit'})"
        return checkers.custom_verdict(result.exit_code, result.stdout + result.stderr)


_ALLOCATION_FAILURES = (b"std::bad_alloc", b"MemoryError", b"Cannot allocate memory", b"out of memory")


def classify(result: sandbox.RunResult, problem: Problem, wall_limit_ms: int) -> tuple[str, str]:  # noqa: PLR0911
    """The verdict a run earns before its output is checked; ("", "") means: go check the output."""
    limit_ms = problem.time_limit_ms
    if result.output_exceeded:
        return "OLE", f"output exceeded {problem.output_limit_kb} KB"
    if result.cpu_ms > limit_ms or result.signal == signal.SIGXCPU:
        return "TLE", f"CPU time {max(result.cpu_ms, limit_ms + 1)} ms, limit {limit_ms} ms"
    if result.wall_exceeded:
        return "TLE", f"wall-clock limit ({wall_limit_ms} ms) exceeded"
    failed = result.exit_code != 0
    if result.memory_kb > problem.memory_limit_mb * 1024:
        return "MLE", f"peak memory {result.memory_kb} KB, limit {problem.memory_limit_mb * 1024} KB"
    if failed and any(marker in result.stderr for marker in _ALLOCATION_FAILURES):
        return "MLE", "memory allocation failed at the memory limit"
    if result.signal is not None:
        if result.signal == signal.SIGKILL and result.cpu_ms >= limit_ms:
            return "TLE", f"CPU time {result.cpu_ms} ms, limit {limit_ms} ms"
        return "RTE", f"killed by {result.signal_name}"
    if result.exit_code != 0:
        return "IR", f"exit code {result.exit_code}"
    return "", ""
