"""`audit verify` throughput over 100,000 events, against reading the log alone.

    python -m bench.audit_verify --database-url postgresql://postgres@127.0.0.1:5432/postgres

With a PostgreSQL URL, a scratch database is created on that server and dropped afterwards.
The events are 2,000 accounts of 50 events each (the first with sealed personal fields, the
others alert preference changes), written in bulk through the application, so every one is
chained and sealed as in production. Figures are events per second, and their ratio to the
rate of reading the notification log alone (the floor under any replay) in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import psycopg

from adapters.audit_verify import verify_chain, verify_read_models, verify_snapshots
from bench.common import arguments, bench_settings, store_name
from bootstrap import bootstrap
from domain.account import Account
from projections.runner import catch_up

ACCOUNTS, EVENTS_EACH = 2_000, 50


@contextmanager
def scratch_database(url: str | None) -> Iterator[str | None]:
    """A fresh PostgreSQL database on the server of `url`, dropped afterwards."""
    if not url or not url.startswith("postgresql"):
        yield url
        return
    name = f"bench_audit_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def populate(services) -> None:
    lifecycle = services.lifecycle
    now = datetime.now(UTC)
    for n in range(ACCOUNTS):
        number = f"B{n:07d}"
        account = Account(
            identifier=str(20_000_000 + n), member_number=number, member_key=uuid.uuid4(),
            email=f"b{n}@example.org", sections=["health"], registration_id=uuid.uuid4(),
            secret_question="Ville natale ?",
            secret_answer_hash=None, actor="system:bench",
            timestamp=now,
        )
        for _ in range(EVENTS_EACH - 1):
            account.set_alerts(not account.alerts_reimbursements, now)
        lifecycle.save(account)


def rate(events: int, operation: Callable[[], object]) -> float:
    started = time.perf_counter()
    operation()
    return events / (time.perf_counter() - started)


def read_log(services, decode: bool) -> None:
    recorder, mapper = services.lifecycle.recorder, services.lifecycle.mapper
    start = 1
    while notifications := recorder.select_notifications(start=start, limit=1000):
        if decode:
            for notification in notifications:
                mapper.to_domain_event(notification)
        start = notifications[-1].id + 1


def main() -> None:
    args = arguments(argparse.ArgumentParser(description=__doc__))
    with tempfile.TemporaryDirectory() as tmp, scratch_database(args.database_url) as url:
        settings = bench_settings(tmp, url)
        services = bootstrap(settings)
        started = time.perf_counter()
        populate(services)
        populated_in = time.perf_counter() - started
        events = services.lifecycle.recorder.max_notification_id() or 0
        projections = [p for p in services.projections.projections]
        for projection in projections:  # the live read models are up to date, as in production
            while catch_up(services.lifecycle, projection, batch=2000):
                pass
        views = {"support_queue": services.support_queue, "portal": services.portal,
                 "audit": services.audit}
        quiet = lambda _line: None  # noqa: E731
        raw = rate(events, lambda: read_log(services, decode=False))
        decoded = rate(events, lambda: read_log(services, decode=True))
        problems: list[str] = []
        report = verify_chain(services.lifecycle, services.audit, say=quiet)
        chain = rate(events, lambda: problems.extend(
            verify_chain(services.lifecycle, services.audit, say=quiet).problems))
        snapshots = rate(events, lambda: problems.extend(
            verify_snapshots(services.lifecycle, report, say=quiet)))
        replay = rate(events, lambda: problems.extend(
            verify_read_models(services.lifecycle, views, say=quiet).differences))
        services.close()
    assert not problems, problems
    print(f"audit verify, {store_name(settings)}, {events:,} events "
          f"({ACCOUNTS:,} accounts x {EVENTS_EACH}, written in {populated_in:.1f} s), events/s:")
    print(f"  reading the log alone:            {raw:>10,.0f}   (the limit)")
    print(f"  reading and decoding (unsealing): {decoded:>10,.0f}   ratio {decoded / raw:.2f}")
    whole = 1 / (1 / chain + 1 / snapshots + 1 / replay)
    print(f"  hash chain check:                 {chain:>10,.0f}   ratio {chain / raw:.2f}")
    print(f"  snapshots against their events:   {snapshots:>10,.0f}   ratio {snapshots / raw:.2f}")
    print(f"  replay of 3 read models + compare:{replay:>10,.0f}   ratio {replay / raw:.2f}")
    print(f"  whole `audit verify`:             {whole:>10,.0f}   ratio {whole / raw:.2f}"
          f"   (run on {date.today()})")


if __name__ == "__main__":
    main()
