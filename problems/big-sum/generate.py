"""Regenerate this problem's tests (deterministic): python3 generate.py."""

import random
from pathlib import Path

HERE = Path(__file__).parent


def write(name: str, values: list[int]) -> None:
    (HERE / "tests" / f"{name}.in").write_text(f"{len(values)}\n{' '.join(map(str, values))}\n")
    (HERE / "tests" / f"{name}.out").write_text(f"{sum(values)}\n")


rng = random.Random(20261126)  # noqa: S311  (test data, not secrets)
write("01", [1, 2, 3])
write("02", [-(10**9)] * 5)
write("03", [rng.randint(-(10**9), 10**9) for _ in range(1000)])
write("04", [rng.randint(10**9 - 1000, 10**9) for _ in range(300_000)])
