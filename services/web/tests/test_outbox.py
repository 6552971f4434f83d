"""The outbox against real PostgreSQL and a real (private) ActiveMQ that goes down and comes back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from gradestack_protocol.broker import BrokerSettings
from gradestack_protocol.messages import REQUEST_QUEUE, GradingRequest
from gradestack_web.models import OutboxMessage, RateLimit
from gradestack_web.outbox import OutboxPublisher, with_publish_stamp
from sqlalchemy import func, select

from testsupport.activemq import start_activemq

from .brokerhelp import drain, run_in_thread, wait_until, web_settings
from .webhelp import as_user

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_tables")]

GOOD = {"problem_id": "aplusb", "language": "python3", "source": "print(sum(map(int, input().split())))\n"}


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    # A private broker: this module stops and kills it, which must not disturb other suites.
    server = start_activemq(tmp_path_factory.mktemp("web-outbox-amq"))
    yield server
    server.stop()


def submission_of(frame) -> str:
    return GradingRequest.from_json(frame.body).submission_id


def unsent(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))


def submit(client, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = client.post("/api/submissions", json=GOOD)
        assert response.status_code == 201, response.json
        ids.append(response.json["id"])
    return ids


def test_broker_outage_delays_but_never_loses_or_duplicates(make_app, contestant, sessions, broker):
    settings = BrokerSettings.from_env(broker.endpoints_env())
    drain(settings, REQUEST_QUEUE)  # leftovers of an earlier test, if any
    client = as_user(make_app(RATE_LIMIT_ENABLED="false"), contestant)
    publisher = OutboxPublisher(sessions, web_settings(broker), poll_seconds=0.1, receipt_timeout=5)

    broker.stop()
    ids = submit(client, 5)  # accepted while the broker is down: the web tier does not need it
    thread = run_in_thread(publisher.run)
    try:
        wait_until(lambda: publisher.connect_failures >= 2, 60, "the publisher to retry the stopped broker")
        ids += submit(client, 5)
        assert unsent(sessions) == 10

        broker.start()
        wait_until(lambda: unsent(sessions) == 0, 90, "the backlog to drain after the broker came back")

        # A crash (SIGKILL) while connected: confirmed messages are on disk, the rest is resent.
        broker.kill()
        ids += submit(client, 5)
        broker.start()
        wait_until(lambda: unsent(sessions) == 0, 90, "the backlog to drain after the broker crashed")
    finally:
        publisher.stop()
        thread.join(timeout=30)
    assert not thread.is_alive()

    frames = [f for f in drain(settings, REQUEST_QUEUE, expect=ids, key=submission_of) if submission_of(f) in ids]
    received = [submission_of(frame) for frame in frames]
    assert sorted(received) == sorted(ids), "every submission exactly once"
    assert all(frame.headers.get("persistent") == "true" for frame in frames)
    with sessions() as session:
        rows = session.scalars(select(OutboxMessage)).all()
    assert len(rows) == 15
    assert {row.submission_id for row in rows} == set(ids)
    assert all(json.loads(row.payload)["submission_id"] == row.submission_id for row in rows)
    # The trace: the web app's stamps are stored with the row, the publisher's is added on the way out.
    assert all(set(json.loads(row.payload)["trace"]) == {"web.received", "web.stored"} for row in rows)
    for frame in frames:
        trace = GradingRequest.from_json(frame.body).trace
        assert sorted(trace, key=trace.__getitem__) == ["web.received", "web.stored", "outbox.publish"], trace


def test_two_publishers_never_send_a_row_twice(make_app, contestant, sessions, broker):
    settings = BrokerSettings.from_env(broker.endpoints_env())
    drain(settings, REQUEST_QUEUE)  # leftovers of an earlier test, if any
    client = as_user(make_app(RATE_LIMIT_ENABLED="false"), contestant)
    ids = submit(client, 30)
    # Two web hosts each run a publisher; small batches make them contend for rows.
    publishers = [OutboxPublisher(sessions, web_settings(broker), batch_size=3, poll_seconds=0.05) for _ in range(2)]
    threads = [run_in_thread(p.run) for p in publishers]
    try:
        wait_until(lambda: unsent(sessions) == 0, 60, "both publishers to drain the outbox")
    finally:
        for publisher in publishers:
            publisher.stop()
        for thread in threads:
            thread.join(timeout=30)
    assert sum(p.sent_total for p in publishers) == 30
    frames = drain(settings, REQUEST_QUEUE, expect=ids, key=submission_of)
    received = [submission_of(frame) for frame in frames if submission_of(frame) in ids]
    assert sorted(received) == sorted(ids), "every submission exactly once"


def test_housekeeping_removes_only_old_sent_rows(make_app, contestant, sessions, broker):
    client = as_user(make_app(RATE_LIMIT_ENABLED="false"), contestant)
    old, recent, pending = submit(client, 3)
    with sessions() as session, session.begin():
        rows = {row.submission_id: row for row in session.scalars(select(OutboxMessage))}
        rows[old].sent_at = datetime.now(UTC) - timedelta(days=8)
        rows[recent].sent_at = datetime.now(UTC) - timedelta(days=1)
        session.add(RateLimit(key="submit:192.0.2.1", window_start=datetime.now(UTC) - timedelta(days=2), count=3))
    publisher = OutboxPublisher(sessions, web_settings(broker), retention_days=7)
    assert publisher.housekeeping() == (1, 1)
    with sessions() as session:
        assert sorted(session.scalars(select(OutboxMessage.submission_id))) == sorted([recent, pending])


def test_readiness_reports_the_outbox_backlog(make_app, contestant, broker):
    broker.start()  # idempotent: earlier tests may have left it stopped on failure
    client = as_user(
        make_app(RATE_LIMIT_ENABLED="false", READY_CACHE_SECONDS="0", **broker.endpoints_env(user="web")), contestant
    )
    submit(client, 2)
    ready = client.get("/health/ready")
    assert ready.status_code == 200, ready.json
    assert ready.json["checks"] == {"database": "ok", "broker": "ok"}
    assert ready.json["outbox"]["unsent"] == 2
    assert ready.json["outbox"]["oldest_unsent_seconds"] >= 0


def test_a_committed_row_wakes_the_publisher_without_polling(make_app, contestant, sessions, broker):
    """The outbox trigger's NOTIFY (migration 0002) wakes a publisher whose poll would take an hour."""
    settings = BrokerSettings.from_env(broker.endpoints_env())
    drain(settings, REQUEST_QUEUE)
    client = as_user(make_app(RATE_LIMIT_ENABLED="false"), contestant)
    publisher = OutboxPublisher(sessions, web_settings(broker), poll_seconds=3600)
    thread = run_in_thread(publisher.run)
    try:
        wait_until(lambda: publisher.wakeup is not None and publisher.wakeup.listening, 30, "the LISTEN")
        ids = submit(client, 1)
        wait_until(lambda: unsent(sessions) == 0, 60, "the publisher to be woken by the commit")
        ids += submit(client, 2)
        wait_until(lambda: unsent(sessions) == 0, 60, "a second wake-up")
        assert publisher.wakeup.notified_total >= 2
    finally:
        publisher.stop()
        thread.join(timeout=10)
    assert not thread.is_alive(), "stop() is seen within seconds, whatever the poll interval"
    frames = drain(settings, REQUEST_QUEUE, expect=ids, key=submission_of)
    assert sorted(submission_of(f) for f in frames if submission_of(f) in ids) == sorted(ids)


def test_the_publish_stamp_leaves_an_unparsable_payload_as_it_is():
    request = GradingRequest("s1", "aplusb", "c", "int main(){}", "2026-11-30T00:00:00Z", trace={"web.stored": 1.0})
    stamped = GradingRequest.from_json(with_publish_stamp(request.to_json(), 2.5))
    assert stamped.trace == {"web.stored": 1.0, "outbox.publish": 2.5}
    # Not a grading request: sent unchanged, for the worker to dead-letter with its reason.
    assert with_publish_stamp('{"schema": "other"}', 2.5) == '{"schema": "other"}'
