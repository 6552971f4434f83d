"""The pipeline benchmark's pure helpers: percentiles and the per-stage breakdown."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "pipeline_bench.py"
_spec = importlib.util.spec_from_file_location("pipeline_bench", BENCH)
assert _spec is not None and _spec.loader is not None
pipeline_bench = importlib.util.module_from_spec(_spec)
sys.modules["pipeline_bench"] = pipeline_bench  # dataclasses look their module up there
_spec.loader.exec_module(pipeline_bench)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 50, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),  # between the two middle values
        ([4.0, 1.0, 3.0, 2.0], 50, 2.5),  # order does not matter
        ([float(v) for v in range(1, 21)], 95, 19.05),
        ([10.0, 20.0], 0, 10.0),
        ([10.0, 20.0], 100, 20.0),
    ],
)
def test_percentile(values, q, expected):
    assert pipeline_bench.percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_nan():
    assert math.isnan(pipeline_bench.percentile([], 50))


def test_breakdown_per_stage_in_the_trace_order_over_the_submissions_that_have_it():
    timings = [
        {"total": 300.0, "compile": 100.0, "intake": 4.0},
        {"total": 500.0, "compile": 140.0, "intake": 6.0},
        {"total": 400.0, "intake": 5.0},  # a compile error's trace can lack stages: not counted as 0
    ]
    result = pipeline_bench.breakdown(timings)
    assert list(result) == ["intake", "compile", "total"]
    assert result == {"intake": 5.0, "compile": 120.0, "total": 400.0}
    assert pipeline_bench.breakdown(timings, 100)["total"] == 500.0
    assert pipeline_bench.breakdown([]) == {}


def test_every_source_of_a_run_is_distinct():
    assert pipeline_bench.distinct_source("a") != pipeline_bench.distinct_source("b")
    assert pipeline_bench.distinct_source("a").startswith(pipeline_bench.SOURCE)


def test_the_moment_a_verdict_was_written_comes_from_the_trace_not_the_polling():
    outcome = pipeline_bench.Outcome(
        "s", "AC", seconds=1.0, started_at=100.0, finished_at=101.0, timing={"total": 250.0}
    )
    assert outcome.written_at == pytest.approx(100.25)
    # Without a trace (a release before it), what the client saw.
    assert pipeline_bench.Outcome("s", "AC", 1.0, 100.0, 101.0).written_at == pytest.approx(101.0)
