"""Built-in checkers and the custom checker's exit-code mapping."""

from __future__ import annotations

import pytest
from gradestack_grading import checkers
from gradestack_protocol import Checker


@pytest.mark.parametrize(
    ("expected", "output", "verdict"),
    [
        (b"3\n", b"3\n", "AC"),
        (b"3\n", b"3", "AC"),  # the final newline does not matter
        (b"3\n", b"3\n\n", "AC"),
        (b"1 2\n", b"1  2\n", "WA"),  # but spacing inside does
        (b"a\nb\n", b"a\nc\n", "WA"),
        (b"a\nb\n", b"a\n", "WA"),
        (b"x\n", b"x \n", "WA"),
    ],
)
def test_exact(expected: bytes, output: bytes, verdict: str) -> None:
    assert checkers.check(Checker(type="exact"), expected, output).verdict == verdict


@pytest.mark.parametrize(
    ("expected", "output", "verdict"),
    [
        (b"1 2 3\n", b"1\n2\n3", "AC"),
        (b"1 2 3\n", b"  1 2    3  \n\n", "AC"),
        (b"1 2 3\n", b"1 2", "WA"),
        (b"1 2\n", b"1 2 3", "WA"),
        (b"1 2\n", b"1 3", "WA"),
        (b"hello\n", b"Hello", "WA"),
        (b"", b"", "AC"),
        (b"0\n", b"", "WA"),
    ],
)
def test_token(expected: bytes, output: bytes, verdict: str) -> None:
    assert checkers.check(Checker(), expected, output).verdict == verdict


def test_token_detail_names_the_position() -> None:
    result = checkers.check(Checker(), b"1 2 3", b"1 5 3")
    assert result.detail == "token 2 differs: expected '2', got '5'"


def test_token_detail_truncates_huge_tokens() -> None:
    result = checkers.check(Checker(), b"1", b"9" * 10_000)
    assert len(result.detail) < 200


FLOAT = Checker(type="float", abs_tol=1e-6, rel_tol=1e-9)


@pytest.mark.parametrize(
    ("expected", "output", "verdict"),
    [
        (b"3.141592653589793", b"3.1415926", "AC"),  # within 1e-6 absolute
        (b"3.141592653589793", b"3.14159", "WA"),
        (b"314159265.358979", b"314159265.35", "AC"),  # within 1e-9 relative
        (b"314159265.358979", b"314159265.0", "WA"),
        (b"1e-3", b"0.001", "AC"),
        (b"2.5", b"2.5000000001", "AC"),
        (b"2.5", b"nan", "WA"),
        (b"2.5", b"inf", "WA"),
        (b"2.5", b"abc", "WA"),
        (b"YES 1.0", b"YES 1.0000001", "AC"),  # words compare exactly, numbers with tolerance
        (b"YES 1.0", b"NO 1.0", "WA"),
        (b"1.0 2.0", b"1.0", "WA"),
        (b"-0.0", b"0", "AC"),
    ],
)
def test_float(expected: bytes, output: bytes, verdict: str) -> None:
    assert checkers.check(FLOAT, expected, output).verdict == verdict


def test_float_rejects_underscored_numbers_python_would_accept() -> None:
    assert checkers.check(FLOAT, b"1000", b"1_000").verdict == "WA"


@pytest.mark.parametrize(
    ("code", "verdict"),
    [(0, "AC"), (1, "WA"), (2, "WA"), (3, "IE"), (None, "IE"), (7, "IE")],
)
def test_custom_checker_exit_codes(code: int | None, verdict: str) -> None:
    assert checkers.custom_verdict(code, b"message\nmore")[0] == verdict


def test_custom_checker_detail_is_its_first_line() -> None:
    assert checkers.custom_verdict(1, b"a[1] + a[2] = 4, not 0\nignored") == ("WA", "a[1] + a[2] = 4, not 0")


def test_custom_is_not_a_builtin() -> None:
    with pytest.raises(ValueError, match="not built in"):
        checkers.check(Checker(type="custom", program="checker.cpp"), b"", b"")
