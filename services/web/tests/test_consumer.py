"""The results consumer: duplicate, late and out-of-order results leave the right final state."""

from __future__ import annotations

import itertools
import time

import pytest
from gradestack_protocol.broker import BrokerSettings
from gradestack_protocol.messages import RESULT_QUEUE, GradingRequest, GradingResult, MessageError, TestResult
from gradestack_protocol.trace import SUMS
from gradestack_web.config import DatabaseSettings
from gradestack_web.consumer import APPLIED, STALE, UNKNOWN, ResultsConsumer, apply_result
from gradestack_web.db import make_engine, make_sessionmaker
from gradestack_web.models import OutboxMessage, Submission
from gradestack_web.outbox import with_publish_stamp
from gradestack_web.submissions import rejudge
from sqlalchemy import event, select

from testsupport.activemq import start_activemq

from .brokerhelp import drain, publish, run_in_thread, wait_until, web_settings
from .webhelp import as_user

pytestmark = pytest.mark.usefixtures("clean_tables")

# handle_batch needs no broker: settings that are never connected to.
UNUSED_BROKER = {"MQ_ENDPOINTS": "stomp://127.0.0.1:1", "MQ_USERNAME": "unused", "MQ_PASSWORD": "unused"}
GOOD = {"problem_id": "aplusb", "language": "cpp", "source": "int main() { return 0; }\n"}


def processing(sid: str, worker: str = "w1") -> GradingResult:
    return GradingResult(submission_id=sid, problem_id="aplusb", state="processing", worker=worker)


def done(sid: str, verdict: str, worker: str = "w1", trace: dict[str, float] | None = None) -> GradingResult:
    tests = (TestResult(name="01", verdict="AC", time_ms=3), TestResult(name="02", verdict=verdict, time_ms=4))
    return GradingResult(
        trace=trace or {},
        submission_id=sid,
        problem_id="aplusb",
        state="done",
        verdict=verdict,
        time_ms=4,
        memory_kb=900,
        tests=tests,
        worker=worker,
        artifacts_prefix=f"results/{sid}/",
    )


def new_submissions(make_app, contestant, count: int) -> list[str]:
    client = as_user(make_app(RATE_LIMIT_ENABLED="false"), contestant)
    return [client.post("/api/submissions", json=GOOD).json["id"] for _ in range(count)]


def state_of(sessions, sid: str) -> tuple[str, str | None]:
    with sessions() as session:
        submission = session.get(Submission, sid)
        return submission.state, submission.verdict


ORDERINGS = list(itertools.permutations(["processing", "AC", "WA"]))


@pytest.mark.parametrize("order", ORDERINGS, ids=["-".join(o) for o in ORDERINGS])
def test_first_final_result_wins_in_any_order(make_app, contestant, sessions, order):
    (sid,) = new_submissions(make_app, contestant, 1)
    outcomes = []
    for step in [*order, *order]:  # every message twice: duplicates change nothing
        result = processing(sid) if step == "processing" else done(sid, step)
        with sessions() as session, session.begin():
            outcomes.append(apply_result(session, result))
    first_final = next(step for step in order if step != "processing")
    assert state_of(sessions, sid) == ("done", first_final)
    assert outcomes.count(APPLIED) == (2 if order[0] == "processing" else 1)
    assert outcomes.count(STALE) == len(outcomes) - outcomes.count(APPLIED)


def test_unknown_submission_is_reported_not_created(sessions):
    with sessions() as session, session.begin():
        assert apply_result(session, done("doesnotexist", "AC")) == UNKNOWN
    with sessions() as session:
        assert session.get(Submission, "doesnotexist") is None


def test_the_trace_is_stored_and_its_timing_shown_to_the_owner_and_staff_only(make_app, make_user, sessions):
    app = make_app(RATE_LIMIT_ENABLED="false")
    alice, bob, judge = make_user("alice"), make_user("bob"), make_user("judge", staff=True)
    sid = as_user(app, alice).post("/api/submissions", json=GOOD).json["id"]
    with sessions() as session:
        payload = session.scalars(select(OutboxMessage.payload).where(OutboxMessage.submission_id == sid)).one()
    request = GradingRequest.from_json(with_publish_stamp(payload, time.time()))
    # What a worker adds, at made-up but ordered moments after the publisher's stamp.
    start = request.trace["outbox.publish"]
    worker = ["worker.received", "worker.start", "judge.start", "compile.end", "judge.end"]
    worker += ["upload.start", "upload.end", "result.publish"]
    trace = {**request.trace, **{name: start + 0.01 * (i + 1) for i, name in enumerate(worker)}}
    with sessions() as session, session.begin():
        assert apply_result(session, done(sid, "AC", trace=trace), received_at=start + 0.1) == APPLIED

    timing = as_user(app, alice).get(f"/api/submissions/{sid}").json["timing"]
    assert set(timing) == {
        "intake", "outbox", "broker_to_worker", "worker_queue", "worker_setup", "compile", "tests", "upload",
        "result_publish", "broker_to_consumer", "database", "judge", "total",
    }  # fmt: skip
    assert timing["compile"] == 10.0 and timing["judge"] == 20.0 and timing["broker_to_consumer"] == 20.0
    # The stages follow each other: they add up to the total (up to the rounding of each).
    assert timing["total"] == pytest.approx(sum(v for k, v in timing.items() if k not in SUMS), abs=0.5)
    assert as_user(app, judge).get(f"/api/submissions/{sid}").json["timing"] == timing
    other = as_user(app, bob).get(f"/api/submissions/{sid}")
    assert other.status_code == 404 and "timing" not in other.json
    # Nobody's listing or creation answer carries it; a rejudge forgets the old trace.
    assert "timing" not in as_user(app, alice).post("/api/submissions", json=GOOD).json
    with sessions() as session, session.begin():
        rejudge(session, [session.get(Submission, sid)])
    assert as_user(app, alice).get(f"/api/submissions/{sid}").json["timing"] == {}


def test_results_that_arrive_together_share_one_transaction(make_app, contestant, engine, sessions):
    a, b, c = new_submissions(make_app, contestant, 3)
    counting = make_sessionmaker(engine)
    commits: list[int] = []
    event.listen(counting, "after_commit", lambda _session: commits.append(1))
    consumer = ResultsConsumer(counting, BrokerSettings.from_env(UNUSED_BROKER))
    batch = [
        done(c, "AC").to_json(),
        processing(a).to_json(),
        "not json at all",  # poison: reported for its own message, the others still apply
        done(a, "WA").to_json(),
        done(b, "AC").to_json(),
        done(a, "AC").to_json(),  # a later verdict of a: a's results keep their order, the first done wins
    ]
    outcomes = consumer.handle_batch([(body, time.time()) for body in batch])
    assert [o if isinstance(o, str) else type(o).__name__ for o in outcomes] == [
        APPLIED, APPLIED, "MessageError", APPLIED, APPLIED, STALE,
    ]  # fmt: skip
    assert len(commits) == 1
    assert [state_of(sessions, sid) for sid in (a, b, c)] == [("done", "WA"), ("done", "AC"), ("done", "AC")]
    assert consumer.counts == {"applied": 4, "stale": 1, "unknown": 0, "mismatch": 0, "rejected": 0}
    # One message alone takes the same path; a poison one raises, as before.
    with pytest.raises(MessageError):
        consumer.handle("not json at all")
    assert consumer.handle(done(a, "AC").to_json()) == STALE


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    server = start_activemq(tmp_path_factory.mktemp("web-results-amq"))
    yield server
    server.stop()


@pytest.mark.slow
def test_consumer_over_the_broker(make_app, contestant, sessions, broker):
    settings = BrokerSettings.from_env(broker.endpoints_env())
    a, b, c = new_submissions(make_app, contestant, 3)
    published_at = time.time()
    messages = [
        processing(a).to_json(),
        done(a, "AC", trace={"result.publish": published_at}).to_json(),
        done(a, "AC").to_json(),  # duplicate (a redelivery)
        processing(a, "w2").to_json(),  # late: a second worker picked up a redelivered request
        done(b, "WA").to_json(),  # out of order: done before processing
        processing(b).to_json(),
        done(b, "AC", "w2").to_json(),  # a conflicting later verdict never replaces the first
        '{"schema": "gradestack.grading.result", "version": 1, "submission_id": 5}',  # poison
        "not json at all",  # poison
        processing(c).to_json(),
        done("unknown-submission", "AC").to_json(),
    ]
    publish(settings, RESULT_QUEUE, messages)
    consumer = ResultsConsumer(sessions, web_settings(broker))
    thread = run_in_thread(consumer.run)
    try:
        wait_until(lambda: sum(consumer.counts.values()) == len(messages), 60, "every result to be handled")
    finally:
        consumer.stop()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert consumer.counts == {"applied": 4, "stale": 4, "unknown": 1, "mismatch": 0, "rejected": 2}
    assert state_of(sessions, a) == ("done", "AC")
    assert state_of(sessions, b) == ("done", "WA")
    assert state_of(sessions, c) == ("processing", None)
    with sessions() as session:
        final_b = session.get(Submission, b)
    assert [t["verdict"] for t in final_b.tests] == ["AC", "WA"]
    assert final_b.finished_at is not None
    # The stored trace: the worker's stamps and the consumer's, in the order they happened.
    with sessions() as session:
        trace = session.get(Submission, a).trace
    assert sorted(trace, key=trace.__getitem__) == ["result.publish", "consumer.received", "db.write"], trace
    assert trace["result.publish"] == published_at

    # Everything valid was acknowledged; the two poison messages were moved to the dead-letter queue.
    assert drain(settings, RESULT_QUEUE) == []
    dead = drain(settings, f"ActiveMQ.DLQ.{RESULT_QUEUE}", expect=messages[7:9])
    assert sorted(f.body for f in dead) == sorted(messages[7:9])


@pytest.mark.slow
def test_consumer_reconnects_after_broker_restart(make_app, contestant, sessions, broker):
    settings = BrokerSettings.from_env(broker.endpoints_env())
    (sid,) = new_submissions(make_app, contestant, 1)
    consumer = ResultsConsumer(sessions, web_settings(broker))
    thread = run_in_thread(consumer.run)
    try:
        publish(settings, RESULT_QUEUE, [processing(sid).to_json()])
        wait_until(lambda: state_of(sessions, sid)[0] == "processing", 60, "the processing state")
        broker.restart()
        publish(settings, RESULT_QUEUE, [done(sid, "AC").to_json()])
        wait_until(lambda: state_of(sessions, sid) == ("done", "AC"), 90, "the final verdict after the restart")
    finally:
        consumer.stop()
        thread.join(timeout=30)
    with sessions() as session:
        assert session.scalars(select(Submission.state)).all() == ["done"]


@pytest.mark.slow
def test_a_result_is_not_acked_until_its_transaction_commits(make_app, contestant, sessions, broker, db_env):
    """The database is unreachable for the first consumer: it never acks, so the next consumer gets the result."""
    settings = BrokerSettings.from_env(broker.endpoints_env())
    (sid,) = new_submissions(make_app, contestant, 1)
    unreachable = DatabaseSettings.from_env({**db_env, "DATABASE_PORT": "1", "DATABASE_CONNECT_TIMEOUT": "1"})
    broken_engine = make_engine(unreachable)
    first = ResultsConsumer(make_sessionmaker(broken_engine), web_settings(broker), db_retry_seconds=0.2)
    thread = run_in_thread(first.run)
    try:
        publish(settings, RESULT_QUEUE, [done(sid, "AC").to_json()])
        wait_until(lambda: first.db_errors >= 2, 60, "the first consumer to fail on the database")
    finally:
        first.stop()
        thread.join(timeout=30)
        broken_engine.dispose()
    assert state_of(sessions, sid) == ("queued", None)

    second = ResultsConsumer(sessions, web_settings(broker))
    thread = run_in_thread(second.run)
    try:
        wait_until(lambda: state_of(sessions, sid) == ("done", "AC"), 60, "the redelivered result to be applied")
    finally:
        second.stop()
        thread.join(timeout=30)
    assert second.counts["applied"] == 1
