"""The live projections are fed from one read of the notification log per look, not one each:
each read decodes (unseals) every event it returns, and the four projections are mostly at the
same position. A projection behind the others still gets every event it lacks, once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError

from bootstrap import Services, bootstrap
from domain.use_cases.views import RegistrationRequest
from projections import runner, view
from projections.runner import catch_up
from projections.support_queue import SupportQueue
from tests.helpers import DEMO_CSV, drain, make_settings

# Demo members, in two rounds: each round one who matches (an account) and one under a wrong
# first name (a support queue item), so that every projection has rows to write.
ROUNDS = {
    "a": [("M1000001", "Dupré-Lefèvre", "Hélène", date(1978, 4, 12), "accepted"),
          ("M1000005", "N'Diaye", "Faux", date(1985, 6, 3), "identity_review")],
    "b": [("M1000007", "O’Connor-Lebrun", "Lætitia", date(1969, 11, 8), "accepted"),
          ("M1000010", "Saint-Exupéry", "Faux", date(1948, 7, 4), "identity_review")],
}


@pytest.fixture
def services(tmp_path: Path, database_url: str) -> Iterator[Services]:
    started = bootstrap(make_settings(tmp_path, database_url))
    started.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
    yield started
    started.close()


def produce(services: Services, round_: str) -> None:
    for number, last, first, born, status in ROUNDS[round_]:
        view = services.use_cases.registration.register(
            RegistrationRequest(number, last, first, born, f"{number.lower()}@example.org")
        )
        assert view.status == status, view
    drain(services)  # the credentials e-mails' events too, before anything is counted


def head(services: Services) -> int:
    return services.lifecycle.recorder.max_notification_id() or 0


def ids(services: Services) -> list[int]:
    """The log's notification ids (PostgreSQL's may have gaps: a rolled-back insert)."""
    return [n.id for n in services.lifecycle.recorder.select_notifications(1, 10**6)]


def reads_in_batches(logged: list[int], start: int, batch: int) -> list[tuple[int, int]]:
    """The reads a look makes of these ids from `start`: batch after batch, until a short one."""
    expected, rest = [], [i for i in logged if i >= start]
    while True:
        chunk, rest = rest[:batch], rest[batch:]
        expected.append((start, len(chunk)))
        if len(chunk) < batch:
            return expected
        start = chunk[-1] + 1


def positions(services: Services) -> dict[str, int]:
    return {p.name: p.view.max_tracking_id(p.name) or 0 for p in services.projections.serving()}


def counted_reads(services: Services, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    reads: list[tuple[int, int]] = []
    recorder = services.lifecycle.recorder
    select = recorder.select_notifications

    def counting(start: int, limit: int, *args: Any, **kwargs: Any) -> Any:
        found = select(start, limit, *args, **kwargs)
        reads.append((start, len(found)))
        return found

    monkeypatch.setattr(recorder, "select_notifications", counting)
    return reads


def test_the_live_projections_read_the_log_once_per_look(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(services.projections.serving()) == 4
    services.projections.run_until_idle()
    before = head(services)
    produce(services, "a")
    assert head(services) > before
    new = [i for i in ids(services) if i > before]
    reads = counted_reads(services, monkeypatch)

    services.projections.step()

    # One read brings every new event to all four; being short of a batch, it was the
    # log's end: no second read to find nothing.
    assert reads == [(before + 1, len(new))]
    assert set(positions(services).values()) == {head(services)}


def test_a_projection_behind_the_others_gets_each_event_it_lacks_once(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    produce(services, "a")
    # Every projection but the support queue to the head, the queue left at zero.
    for projection in services.projections.serving():
        if projection.name != "support_queue":
            while catch_up(services.lifecycle, projection):
                pass
    produce(services, "b")
    logged = ids(services)
    reads = counted_reads(services, monkeypatch)

    services.projections.step()

    assert set(positions(services).values()) == {head(services)}
    assert reads == [(1, len(logged))]
    queue = services.support_queue.all_rows()
    # The same rows as the queue rebuilt from zero by itself: nothing missed or doubled.
    services.support_queue.clear("support_queue")
    while catch_up(services.lifecycle, SupportQueue(services.support_queue)):
        pass
    assert services.support_queue.all_rows() == queue
    assert queue["support_queue_items"], "the wrong first name must have made an item"


def test_a_backlog_longer_than_a_batch_is_read_batch_after_batch_to_its_end(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    produce(services, "a")
    produce(services, "b")
    assert head(services) > 9
    monkeypatch.setattr(runner, "BATCH", 4)
    logged = ids(services)
    reads = counted_reads(services, monkeypatch)

    services.projections.step()

    # A full batch: read on; a short one: the end.
    assert reads == reads_in_batches(logged, 1, 4)
    assert len(reads) >= 3
    assert set(positions(services).values()) == {head(services)}


def test_a_projection_that_fails_does_not_hold_the_others_back(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    produce(services, "a")
    produce(services, "b")
    monkeypatch.setattr(runner, "BATCH", 4)  # the others need several reads past its position
    broken = next(p for p in services.projections.serving() if p.name == "audit")

    def failing(event: Any, tracking: Any) -> None:
        raise RuntimeError("the audit index cannot apply this event")

    monkeypatch.setattr(broken, "process_event", failing)

    with pytest.raises(RuntimeError, match="cannot apply"):
        services.projections.step()  # its error is raised once the others are done

    assert positions(services) == {
        "support_queue": head(services), "portal": head(services), "audit": 0,
        "audit_tree": head(services),
    }
    monkeypatch.undo()  # repaired: at the next look it catches up too
    services.projections.step()
    assert set(positions(services).values()) == {head(services)}


def counted_position_reads(services: Services, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Statements that read tracking positions: the one for several names, and the library's
    one for one name."""
    counts = {"together": 0, "one_by_one": 0}
    database, tracking = services.support_queue.database, services.support_queue.tracking
    read, max_tracking_id = database.read, tracking.max_tracking_id

    def counting_read(sql: str, params: Any = ()) -> Any:
        counts["together"] += "MAX(notification_id)" in sql
        return read(sql, params)

    def counting_max(name: str) -> Any:
        counts["one_by_one"] += 1
        return max_tracking_id(name)

    monkeypatch.setattr(database, "read", counting_read)
    monkeypatch.setattr(tracking, "max_tracking_id", counting_max)
    return counts


def test_each_read_of_the_log_asks_for_the_four_positions_in_one_statement(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    produce(services, "a")
    produce(services, "b")
    monkeypatch.setattr(runner, "BATCH", 4)
    reads = counted_reads(services, monkeypatch)
    asked = counted_position_reads(services, monkeypatch)

    services.projections.step()

    assert asked == {"together": len(reads), "one_by_one": 0}
    assert len(reads) >= 3


def test_the_positions_read_together_are_each_read_models_own(services: Services) -> None:
    produce(services, "a")
    first = head(services)
    serving = services.projections.serving()
    for projection in serving:
        if projection.name in ("portal", "audit"):
            while catch_up(services.lifecycle, projection):
                pass
    produce(services, "b")
    queue = next(p for p in serving if p.name == "support_queue")
    while catch_up(services.lifecycle, queue):
        pass
    pairs = [(p.view, p.name) for p in serving] + [(queue.view, "never_tracked")]

    assert view.positions(pairs) == {
        "support_queue": head(services), "portal": first, "audit": first, "audit_tree": 0,
        "never_tracked": 0,
    }
    assert positions(services) == {
        name: at for name, at in view.positions(pairs).items() if name != "never_tracked"
    }


def test_the_positions_are_read_beside_a_write_in_progress(services: Services) -> None:
    """On SQLite a write holds the library's one writer connection (a directory import, for
    seconds): the runner's look and /metrics read the positions beside it, as the library's
    own reads are, not after it."""
    produce(services, "a")
    services.projections.run_until_idle()
    serving = [(p.view, p.name) for p in services.projections.serving()]
    writing, done = threading.Event(), threading.Event()

    def write() -> None:
        with services.database.transaction() as cursor:
            cursor.execute("UPDATE read_model_versions SET live = live")
            writing.set()
            done.wait(10)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert writing.wait(5)
        read = view.positions(serving)
        assert not done.is_set()
        assert set(read.values()) == {head(services)}
    finally:
        done.set()
        writer.join()


def test_a_dropped_connection_is_tried_again(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    produce(services, "a")
    services.projections.run_until_idle()
    database, dropped = services.support_queue.database, []
    read = database.read

    def once_dropped(sql: str, params: Any = ()) -> Any:
        if not dropped:
            dropped.append(sql)
            raise OperationalError("server closed the connection unexpectedly")
        return read(sql, params)

    monkeypatch.setattr(database, "read", once_dropped)
    serving = [(p.view, p.name) for p in services.projections.serving()]
    assert set(view.positions(serving).values()) == {head(services)}
    assert len(dropped) == 1
