"""The trace's per-stage durations: a pure function of the stamps."""

from __future__ import annotations

import itertools

from gradestack_protocol.trace import INTERVALS, STAMPS, SUMS, stamp, timing


def test_every_interval_names_known_stamps_and_the_stages_form_a_chain():
    assert all(start in STAMPS and end in STAMPS for _, start, end in INTERVALS)
    assert len({name for name, _, _ in INTERVALS}) == len(INTERVALS)
    chain = [(start, end) for name, start, end in INTERVALS if name not in SUMS]
    assert chain[0][0] == "web.received" and chain[-1][1] == "db.write"
    assert all(previous[1] == following[0] for previous, following in itertools.pairwise(chain))


def test_timing_in_milliseconds_for_the_stamps_present():
    base = 1_700_000_000.0
    trace = {
        "web.received": base,
        "web.stored": base + 0.004,
        "outbox.publish": base + 0.0125,
        "judge.start": base + 0.100,
        "compile.end": base + 0.180,
        "judge.end": base + 0.200,
        "db.write": base + 0.250,
    }
    assert timing(trace) == {
        "intake": 4.0,
        "outbox": 8.5,
        "compile": 80.0,
        "tests": 20.0,
        "judge": 100.0,
        "total": 250.0,
    }


def test_timing_of_no_trace_is_empty_and_skew_shows_as_negative():
    assert timing(None) == {}
    assert timing({}) == {}
    # Two hosts whose clocks disagree: the duration is reported as measured, not hidden.
    assert timing({"result.publish": 10.0, "consumer.received": 9.999}) == {"broker_to_consumer": -1.0}


def test_stamp_returns_a_copy():
    trace = {"web.received": 1.0}
    stamped = stamp(trace, "web.stored", at=2.5)
    assert stamped == {"web.received": 1.0, "web.stored": 2.5}
    assert trace == {"web.received": 1.0}
    assert stamp({}, "web.received")["web.received"] > 1_700_000_000
