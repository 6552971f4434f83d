"""`gradestack-web`: operator commands for the web tier.

    gradestack-web migrate              upgrade the schema (once per release; safe to repeat)
    gradestack-web load-problems DIR    upsert the problems of DIR (idempotent)
    gradestack-web publish-outbox       long-running: send queued grading requests to the broker
    gradestack-web consume-results      long-running: apply grading results to submissions
    gradestack-web check-config         validate the environment and print the settings (no secrets)
    gradestack-web static-dir           print the directory of the static files (for an nginx alias)
    gradestack-web create-user [--staff] --username NAME (--password-stdin | --password-file FILE)
                                        create an account (the first staff account); idempotent
    gradestack-web ensure-token --username NAME --token-name LABEL (--token-stdin | --token-file FILE)
                                        make NAME a non-staff account whose only live API token is the
                                        given one (the verifier's account); idempotent

Passwords and tokens are read from stdin or a file, never from the command line (argv is
visible to every user of the host in ps and lands in shell histories and Ansible logs).

The web pages themselves are served by gunicorn: ``gunicorn gradestack_web.wsgi:app``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from gradestack_protocol.broker import BrokerConfigError, BrokerSettings
from gradestack_protocol.problems import ProblemError

from gradestack_web import migrate
from gradestack_web.config import ConfigError, Settings
from gradestack_web.db import make_engine, make_sessionmaker
from gradestack_web.logs import configure_logging

log = logging.getLogger("gradestack_web.cli")


def _stop_on_signals(stop: Callable[[], None]) -> None:
    def handler(signum: int, _frame) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    engine = make_engine(settings.database, pool_size=1)
    before, after = migrate.upgrade(engine)
    if before == after:
        print(f"schema already at revision {after}: nothing to do")
    else:
        print(f"schema upgraded from {before or 'empty'} to {after}")
    return 0


def cmd_load_problems(settings: Settings, args: argparse.Namespace) -> int:
    from gradestack_web.problems_loader import load_directory  # noqa: PLC0415

    if not os.path.isdir(args.directory):
        print(f"error: {args.directory} is not a directory of problems", file=sys.stderr)
        return 2
    sessions = make_sessionmaker(make_engine(settings.database, pool_size=1))
    with sessions() as session, session.begin():
        loaded = load_directory(session, args.directory)
    print(f"loaded {len(loaded)} problem(s): {', '.join(loaded) or '-'}")
    return 0


def _client_id(role: str) -> str:
    return f"gradestack-web-{role}-{socket.gethostname()}-{os.getpid()}"


def cmd_publish_outbox(settings: Settings, _args: argparse.Namespace) -> int:
    from gradestack_web.outbox import OutboxPublisher  # noqa: PLC0415

    publisher = OutboxPublisher(
        make_sessionmaker(make_engine(settings.database, pool_size=1)),
        BrokerSettings.from_env(),
        batch_size=settings.outbox_batch_size,
        poll_seconds=settings.outbox_poll_seconds,
        receipt_timeout=settings.broker_receipt_timeout,
        retention_days=settings.outbox_retention_days,
        client_id=_client_id("outbox"),
    )
    _stop_on_signals(publisher.stop)
    publisher.run()
    return 0


def cmd_consume_results(settings: Settings, _args: argparse.Namespace) -> int:
    from gradestack_web.consumer import ResultsConsumer  # noqa: PLC0415

    consumer = ResultsConsumer(
        make_sessionmaker(make_engine(settings.database, pool_size=1)),
        BrokerSettings.from_env(),
        client_id=_client_id("results"),
    )
    _stop_on_signals(consumer.stop)
    consumer.run()
    return 0


def cmd_check_config(settings: Settings, _args: argparse.Namespace) -> int:
    print(repr(settings))
    print(repr(BrokerSettings.from_env()))
    return 0


def cmd_static_dir(_settings: Settings, _args: argparse.Namespace) -> int:
    print(Path(__file__).resolve().parent / "static")
    return 0


def _read_secret(args: argparse.Namespace, what: str) -> str:
    """One line from stdin or a file, without its line ending; empty is an error."""
    if getattr(args, f"{what}_file"):
        value = Path(getattr(args, f"{what}_file")).read_text(encoding="utf-8")
    else:
        value = sys.stdin.read()
    value = value.rstrip("\r\n")
    if not value:
        raise ConfigError(f"no {what} given: pipe it to stdin (--{what}-stdin) or name a file (--{what}-file)")
    return value


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    from gradestack_web import accounts  # noqa: PLC0415

    password = _read_secret(args, "password")
    sessions = make_sessionmaker(make_engine(settings.database, pool_size=1))
    with sessions() as session, session.begin():
        existing = accounts.find_user(session, args.username)
        if existing is not None:
            # Idempotent for the deploy: an existing account is left as it is (its password
            # may have been changed since); only a missing staff role is an error to report.
            if args.staff and not existing.is_staff:
                print(f"error: account {existing.username} exists and is not staff", file=sys.stderr)
                return 1
            print(f"account {existing.username} already exists: nothing to do")
            return 0
        try:
            user = accounts.create_user(session, args.username, password, is_staff=args.staff)
        except accounts.AccountError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(f"created {'staff ' if user.is_staff else ''}account {user.username}")
    return 0


def cmd_ensure_token(settings: Settings, args: argparse.Namespace) -> int:
    from gradestack_web import accounts  # noqa: PLC0415

    token = _read_secret(args, "token")
    sessions = make_sessionmaker(make_engine(settings.database, pool_size=1))
    with sessions() as session, session.begin():
        try:
            result = accounts.ensure_token_account(session, args.username, token, args.token_name)
        except accounts.AccountError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(result.message)
    return 0


def _secret_source(parser: argparse.ArgumentParser, what: str) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(f"--{what}-stdin", action="store_true", help=f"read the {what} from stdin (one line)")
    group.add_argument(f"--{what}-file", metavar="FILE", help=f"read the {what} from FILE (one line)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradestack-web", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="upgrade the database schema to this release (idempotent)").set_defaults(
        func=cmd_migrate
    )
    load = sub.add_parser("load-problems", help="upsert the problems found in DIR (idempotent)")
    load.add_argument("directory", metavar="DIR")
    load.set_defaults(func=cmd_load_problems)
    sub.add_parser("publish-outbox", help="long-running outbox publisher").set_defaults(func=cmd_publish_outbox)
    sub.add_parser("consume-results", help="long-running results consumer").set_defaults(func=cmd_consume_results)
    sub.add_parser("check-config", help="validate settings and print them without secrets").set_defaults(
        func=cmd_check_config
    )
    sub.add_parser("static-dir", help="print the static files directory (nginx alias target)").set_defaults(
        func=cmd_static_dir
    )
    create_user = sub.add_parser("create-user", help="create an account, e.g. the first staff account")
    create_user.add_argument("--username", required=True)
    create_user.add_argument("--staff", action="store_true", help="give the account the staff role")
    _secret_source(create_user, "password")
    create_user.set_defaults(func=cmd_create_user)
    ensure = sub.add_parser("ensure-token", help="make NAME a non-staff account holding exactly this API token")
    ensure.add_argument("--username", required=True)
    ensure.add_argument("--token-name", default="deploy", help="the token's label on the account page")
    _secret_source(ensure, "token")
    ensure.set_defaults(func=cmd_ensure_token)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    try:
        settings = Settings.from_env()
        return args.func(settings, args)
    except (ConfigError, BrokerConfigError, ProblemError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
