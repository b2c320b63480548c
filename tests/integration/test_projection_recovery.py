"""The support queue survives its runner: killed mid-stream, run twice at once, started empty.

A projection's rows and its tracking record are written in one transaction (projections/view.py),
so whatever happens to a runner the queue must end equal to a rebuild from zero — same items, same
ids and seq, same statuses, closing times and decisions. Real processes, real SIGKILL, on SQLite
(a file shared by the processes) and on PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from app import create_app
from bootstrap import Services, bootstrap
from domain.use_cases.views import RegistrationRequest, SupportRequestForm
from projections.runner import ProjectionThread, catch_up
from projections.support_queue import SupportQueue
from tests.helpers import DEMO_CSV, directory_csv, generated_members, make_settings
from tests.processes import Child, service_env, start, stop

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 30.0  # seconds: a runner's start-up plus the whole backlog, with a wide margin
QUEUE = "support_queue"
# The stream: many directory members, each registered under a wrong first name, some decided.


def eligible_demo_members() -> list[tuple[str, str, str, date]]:
    """Demo members who may register: health principals and retirees."""
    found: dict[str, tuple[str, str, str, date]] = {}
    for row in csv.DictReader(io.StringIO(DEMO_CSV.read_text(encoding="utf-8"))):
        if row["health_role"] == "principal" or row["retirement"]:
            found.setdefault(row["member_number"], (
                row["member_number"], row["last_name"], row["first_name"],
                date.fromisoformat(row["birth_date"]),
            ))
    return list(found.values())


@dataclass
class Stream:
    """What the set-up did, so the queue's content can be predicted."""

    undecided: list[UUID] = field(default_factory=list)
    approved: int = 0
    rejected: int = 0
    accepted: int = 0  # registrations with matching names: an account and pending credentials
    open_requests: list[UUID] = field(default_factory=list)
    decided_requests: int = 0

    @property
    def pending_credentials(self) -> int:
        return self.approved + self.accepted


def produce(services: Services, members: list[tuple[str, str, str, date]], stream: Stream) -> None:
    """Registrations under a wrong first name (identity_review items), decisions opening and
    closing them, a few registrations that match (accounts), and support requests."""
    cases = services.use_cases
    for n, (number, last, first, born) in enumerate(members):
        if n % 20 == 19:
            view = cases.registration.register(
                RegistrationRequest(number, last, first, born, f"ok{number}@example.org")
            )
            assert view.status == "accepted", view
            stream.accepted += 1
            continue
        request = RegistrationRequest(number, last, f"Faux{first}", born, f"{number}@example.org")
        view = cases.registration.register(request)
        assert view.status == "identity_review", (number, view)
        if n % 25 == 0:
            # A repeat while in review answers with the same registration and records nothing.
            assert cases.registration.register(request).registration_id == view.registration_id
        if n % 8 == 1:
            cases.support.decide_registration(view.registration_id, True, agent="alice", note="n")
            stream.approved += 1
        elif n % 8 == 2:
            cases.support.decide_registration(view.registration_id, False, agent="alice", note="n")
            stream.rejected += 1
        else:
            stream.undecided.append(view.registration_id)
        if n % 6 == 0:
            request_id = cases.support.submit_support_request(SupportRequestForm(
                kind="other", last_name=last, first_name=first,
                message=f"Question n°{n} sur mon contrat", member_number=number,
            ))
            if n % 12 == 0:
                cases.support.decide_request(request_id, n % 24 == 0, "bob", "vu", None)
                stream.decided_requests += 1
            else:
                stream.open_requests.append(request_id)


# Processes and positions.


def position(services: Services) -> int:
    return services.support_queue.max_tracking_id(QUEUE) or 0


def last_notification(services: Services) -> int:
    return services.lifecycle.recorder.max_notification_id() or 0


def rebuild(services: Services) -> dict[str, list[dict[str, Any]]]:
    """Forget the queue and its position, then catch up from zero in this process."""
    services.support_queue.clear(QUEUE)
    assert position(services) == 0
    projection = SupportQueue(services.support_queue)
    while catch_up(services.lifecycle, projection):
        pass
    assert position(services) == last_notification(services)
    return services.support_queue.all_rows()


def assert_queue_matches(rows: dict[str, list[dict[str, Any]]], stream: Stream) -> None:
    """A lost update leaves an item open, a doubled one fails a close or duplicates a seq."""
    items = rows["support_queue_items"]

    def count(kind: str, status: str) -> int:
        return sum(1 for i in items if i["kind"] == kind and i["status"] == status)

    assert count("identity_review", "open") == len(stream.undecided)
    assert count("identity_review", "closed") == stream.approved + stream.rejected
    assert {i["registration_id"] for i in items if i["status"] == "open"} >= {
        str(r) for r in stream.undecided
    }
    assert count("other", "open") == len(stream.open_requests)
    assert count("other", "closed") == stream.decided_requests
    assert len(rows["support_pending_credentials"]) == stream.pending_credentials
    assert len({i["seq"] for i in items}) == len(items)




@pytest.fixture
def start_runner(
    tmp_path: Path, database_url: str, redis_url: str
) -> Iterator[Callable[[str], Child]]:
    """Starts `python -m workers.projections` processes; every one is stopped at teardown."""
    env = service_env(database_url, f"file://{tmp_path / 'mail'}", redis_url)
    started: list[Child] = []

    def start_runner(name: str) -> Child:
        runner = start([sys.executable, "-m", "workers.projections"], env, tmp_path / f"{name}.log")
        started.append(runner)
        return runner

    yield start_runner
    for runner in started:
        stop(runner.process, timeout=10)


@pytest.fixture
def api_services(tmp_path: Path, database_url: str, redis_url: str) -> Iterator[Services]:
    """The API side: with Redis set it runs no projection itself; the demo directory imported."""
    app = create_app(make_settings(tmp_path, database_url, ACCOUNTS_REDIS_URL=redis_url))
    services: Services = app.extensions["accounts"]
    try:
        services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
        yield services
    finally:
        services.close()


def wait_until(what: str, condition: Callable[[], bool], runner: Child | None = None) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if runner is not None and not runner.alive():
            pytest.fail(f"the runner exited before {what}:\n{runner.log()}")
        if time.monotonic() > deadline:
            log = runner.log() if runner is not None else ""
            pytest.fail(f"no {what} within {DEADLINE:.0f} s\n{log}")
        time.sleep(0.01)


# 1. SIGKILL mid-stream, restart, compare with a rebuild.


def test_a_runner_killed_mid_stream_and_restarted_leaves_the_queue_equal_to_a_rebuild(
    api_services: Services, start_runner: Callable[[str], Child], request: pytest.FixtureRequest
) -> None:
    services = api_services
    members = generated_members(400, "K")
    assert services.directory.import_csv(directory_csv(members)) == len(members)
    stream = Stream()
    produce(services, eligible_demo_members() + members, stream)
    last = last_notification(services)
    assert position(services) == 0, "the API process must not run projections with Redis set"

    # Kill it a third of the way through the backlog, polling as fast as the database answers.
    first = start_runner("runner-1")
    target = max(1, last // 3)
    deadline = time.monotonic() + DEADLINE
    while (seen := position(services)) < target:
        if not first.alive():
            pytest.fail(f"the runner exited before the kill:\n{first.log()}")
        if time.monotonic() > deadline:
            pytest.fail(f"the runner reached only {seen}/{last} in {DEADLINE:.0f} s")
        time.sleep(0.001)  # an event takes a few ms: the kill lands within an event or two
    os.killpg(first.process.pid, signal.SIGKILL)
    first.process.wait(timeout=10)
    assert first.process.returncode == -signal.SIGKILL
    after_kill = position(services)
    assert 0 < seen < last, f"not killed mid-stream: position {seen} of {last}; make it longer"
    assert seen <= after_kill < last, (seen, after_kill, last)

    second = start_runner("runner-2")
    wait_until("catch-up after the restart", lambda: position(services) == last, second)
    second.process.terminate()
    assert second.process.wait(timeout=10) == 0, second.log()

    resumed = services.support_queue.all_rows()
    assert_queue_matches(resumed, stream)
    assert rebuild(services) == resumed
    print(f"\n{request.node.callspec.id}: {last} events; SIGKILL seen at {seen}, "
          f"tracking {after_kill} after the kill")


# 2. Two runners on one stream: each event applied by exactly one of them.


class Counting:
    """Wraps a projection to record which notifications this runner applied (committed) and
    how many of its transactions lost the race. Events are applied in batches, one
    transaction each: an event counts once its batch committed."""

    def __init__(self, projection: SupportQueue):
        self.inner = projection
        self.name = projection.name
        self.view = CountingView(projection.view, self)
        self.applied: list[int] = []
        self.pending: list[int] | None = None
        self.lost = 0

    def process_event(self, event: Any, tracking: Tracking) -> None:
        if self.pending is not None:
            self.inner.process_event(event, tracking)
            self.pending.append(tracking.notification_id)
            return
        try:
            self.inner.process_event(event, tracking)
        except IntegrityError:
            self.lost += 1
            raise
        self.applied.append(tracking.notification_id)


class CountingView:
    def __init__(self, inner: Any, counting: Counting):
        self.inner, self.counting = inner, counting

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @contextmanager
    def batch(self) -> Iterator[None]:
        self.counting.pending = []
        try:
            with self.inner.batch():
                yield
        except IntegrityError:
            self.counting.lost += 1
            raise
        else:
            self.counting.applied += self.counting.pending
        finally:
            self.counting.pending = None


def test_two_runners_at_once_apply_each_event_exactly_once(
    tmp_path: Path, database_url: str, api_services: Services, request: pytest.FixtureRequest
) -> None:
    services = api_services
    members = generated_members(160, "D")
    services.directory.import_csv(directory_csv(members))
    stream = Stream()
    produce(services, members[:80], stream)  # a backlog for both to race over

    # A second set of services: its own connection pool, as a second runner would have.
    other = bootstrap(
        make_settings(tmp_path, database_url, ACCOUNTS_REDIS_URL=services.settings.redis_url)
    )
    one = Counting(SupportQueue(services.support_queue))
    two = Counting(SupportQueue(other.support_queue))
    runners = [
        ProjectionThread(services.lifecycle, [one], poll_seconds=0.01),
        ProjectionThread(other.lifecycle, [two], poll_seconds=0.01),
    ]
    try:
        start = threading.Barrier(2)

        def go(runner: ProjectionThread) -> None:
            start.wait()
            runner.start()

        starters = [threading.Thread(target=go, args=(r,)) for r in runners]
        for t in starters:
            t.start()
        for t in starters:
            t.join()
        produce(services, members[80:], stream)  # and a live stream while they run
        last = last_notification(services)
        wait_until("both runners idle at the end", lambda: position(services) == last)
    finally:
        for runner in runners:
            runner.stop()
        other.close()

    everything = [n.id for n in services.lifecycle.recorder.select_notifications(1, last + 1)]
    assert sorted(one.applied + two.applied) == everything  # none lost, none doubled
    assert not set(one.applied) & set(two.applied)
    assert one.lost + two.lost > 0, "the runners never raced: nothing was proved"
    together = services.support_queue.all_rows()
    assert_queue_matches(together, stream)
    assert rebuild(services) == together
    print(f"\n{request.node.callspec.id}: {last} events; runner one applied "
          f"{len(one.applied)} (lost {one.lost} races), runner two {len(two.applied)} "
          f"(lost {two.lost})")


# 3. From an empty store, and events the queue ignores.


def test_catch_up_on_an_empty_store_does_nothing_and_ignored_events_still_move_the_position(
    tmp_path: Path, database_url: str
) -> None:
    services = bootstrap(make_settings(tmp_path, database_url))
    try:
        projection = SupportQueue(services.support_queue)
        assert catch_up(services.lifecycle, projection) == 0
        assert services.support_queue.max_tracking_id(QUEUE) is None

        # Unknown members are refused: events the queue has no row for.
        for n in range(3):
            view = services.use_cases.registration.register(RegistrationRequest(
                f"X{n}", "Inconnu", "Personne", date(1980, 1, 1), f"x{n}@example.org"
            ))
            assert view.status == "refused"
        last = last_notification(services)
        assert last >= 6

        assert catch_up(services.lifecycle, projection, batch=2) == 2
        assert position(services) == services.lifecycle.recorder.select_notifications(1, 2)[-1].id
        while catch_up(services.lifecycle, projection):
            pass
        assert position(services) == last
        assert catch_up(services.lifecycle, projection) == 0
        tables = services.support_queue.all_rows()
        assert "support_queue_items" in tables
        assert all(rows == [] for rows in tables.values()), tables
    finally:
        services.close()


# 3. Active and standby: one runner works, the other takes over when it dies.


def test_a_standby_runner_takes_over_when_the_active_one_is_killed(
    api_services: Services, start_runner: Callable[[str], Child]
) -> None:
    services = api_services
    members = generated_members(120, "S")
    services.directory.import_csv(directory_csv(members))
    stream = Stream()
    active = start_runner("active")
    wait_until("the first runner to become active", lambda: "active:" in active.log(), active)
    standby = start_runner("standby")
    wait_until("the second runner to stand by", lambda: "standby:" in standby.log(), standby)

    produce(services, members[:60], stream)
    first = last_notification(services)
    wait_until("the active runner's catch-up", lambda: position(services) == first, active)
    assert "active:" not in standby.log()  # it stood by while the other worked

    os.killpg(active.process.pid, signal.SIGKILL)
    active.process.wait(timeout=10)
    produce(services, members[60:], stream)
    last = last_notification(services)
    wait_until("the standby's catch-up", lambda: position(services) == last, standby)
    assert "active:" in standby.log()
    assert_queue_matches(services.support_queue.all_rows(), stream)
    standby.process.terminate()
    assert standby.process.wait(timeout=10) == 0, standby.log()
