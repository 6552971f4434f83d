"""Output checkers: exact, token (the default), float, and the result of a custom checker.

- ``exact``: byte for byte, except that trailing newlines at the very end do not
  matter (editors and ``print`` disagree about the last one).
- ``token``: the sequences of whitespace-separated tokens must be equal.
- ``float``: token by token; where the expected token is a number, the output token
  must be a finite number within ``abs_tol`` OR within ``rel_tol`` relative to the
  expected value; other tokens must match exactly.
- ``custom``: a program from the problem directory, run in the sandbox like a
  submission, as ``checker INPUT ANSWER OUTPUT`` (testlib's order). Exit 0 = AC,
  1 or 2 = WA (testlib's WA and presentation error), anything else = the checker
  failed = IE. Its first line of output becomes the detail.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from gradestack_protocol import Checker

_NUMBER = re.compile(rb"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_SHOW = 32


@dataclass(frozen=True)
class CheckResult:
    verdict: str  # AC or WA (IE comes from a failing custom checker)
    detail: str = ""


def _show(token: bytes) -> str:
    text = token[:_SHOW].decode("utf-8", "replace")
    return text + ("..." if len(token) > _SHOW else "")


def check_exact(expected: bytes, output: bytes) -> CheckResult:
    want, got = expected.rstrip(b"\n"), output.rstrip(b"\n")
    if want == got:
        return CheckResult("AC")
    want_lines, got_lines = want.split(b"\n"), got.split(b"\n")
    for number, (a, b) in enumerate(zip(want_lines, got_lines, strict=False), start=1):
        if a != b:
            return CheckResult("WA", f"line {number} differs: expected {_show(a)!r}, got {_show(b)!r}")
    return CheckResult("WA", f"expected {len(want_lines)} lines, got {len(got_lines)}")


def _compare_tokens(expected: bytes, output: bytes, same) -> CheckResult:
    want, got = expected.split(), output.split()
    for index, (a, b) in enumerate(zip(want, got, strict=False), start=1):
        if not same(a, b):
            return CheckResult("WA", f"token {index} differs: expected {_show(a)!r}, got {_show(b)!r}")
    if len(want) != len(got):
        return CheckResult("WA", f"expected {len(want)} tokens, got {len(got)}")
    return CheckResult("AC")


def check_token(expected: bytes, output: bytes) -> CheckResult:
    return _compare_tokens(expected, output, lambda a, b: a == b)


def floats_close(expected: float, got: float, abs_tol: float, rel_tol: float) -> bool:
    if not math.isfinite(got):
        return False
    diff = abs(expected - got)
    return diff <= abs_tol or diff <= rel_tol * abs(expected)


def check_float(expected: bytes, output: bytes, abs_tol: float, rel_tol: float) -> CheckResult:
    def same(a: bytes, b: bytes) -> bool:
        if _NUMBER.match(a):
            return bool(_NUMBER.match(b)) and floats_close(float(a), float(b), abs_tol, rel_tol)
        return a == b

    return _compare_tokens(expected, output, same)


def check(checker: Checker, expected: bytes, output: bytes) -> CheckResult:
    """Built-in checkers; ``custom`` is run by the judge (it needs the sandbox)."""
    if checker.type == "exact":
        return check_exact(expected, output)
    if checker.type == "token":
        return check_token(expected, output)
    if checker.type == "float":
        return check_float(expected, output, checker.abs_tol, checker.rel_tol)
    raise ValueError(f"checker type {checker.type!r} is not built in")


def custom_verdict(exit_code: int | None, message: bytes) -> tuple[str, str]:
    """Map a custom checker's exit status to (verdict, detail)."""
    first_line = message.decode("utf-8", "replace").strip().split("\n", 1)[0][:200]
    if exit_code == 0:
        return "AC", first_line
    if exit_code in (1, 2):
        return "WA", first_line
    return "IE", f"checker failed (exit {exit_code}): {first_line}"
