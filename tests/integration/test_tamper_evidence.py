"""Tamper evidence of the event store, on SQLite and PostgreSQL (adapters/event_store.py,
adapters/audit_verify.py, `flask audit verify`).

Each stored event of version > 1 carries, in its JSON state, `_previous`: the SHA-256 of its
predecessor in the same stream (`event_hash`); the audit index records every event's own hash.
These tests tell the member's story through the API, then change the raw rows of the event
store behind the application's back (an edited value, a deleted row, two rows swapped) and
check that `audit verify` exits 1 and names the very event that was touched, by position,
stream and version, and that it exits 0 with "everything agrees" when nothing was touched.
They also check that the chain's bookkeeping (`_previous`, `_hash`, `_erased`) never reaches
the auditors' API.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from adapters.audit_verify import verify_chain
from adapters.event_store import PREVIOUS, event_hash, previous_hash
from tests.helpers import OWN, bearer, settle, story, table_names

STORE_KEYS = {"_previous", "_hash", "_erased"}  # the store's bookkeeping, never the event's
PROBLEM_NAMING = re.compile(
    r"^PROBLEM position (\d+) \(([\w.]+), stream ([0-9a-f-]{36}) version (\d+)\): (.*)$"
)


# --- the raw event store ----------------------------------------------------------------------


@dataclass
class Row:
    """One row of the event store as stored, with the driver's own originator id value."""

    position: int
    key: Any  # originator_id as the driver returned it (TEXT on SQLite, uuid on PostgreSQL)
    stored: StoredEvent

    @property
    def stream(self) -> UUID:
        return UUID(str(self.stored.originator_id))

    @property
    def version(self) -> int:
        return self.stored.originator_version

    @property
    def type(self) -> str:
        return self.stored.topic.rsplit(".", 1)[-1]

    @property
    def state(self) -> dict[str, Any]:
        return json.loads(bytes(self.stored.state))

    def named(self) -> str:
        """How `audit verify` names the event when it walks the chain."""
        return (
            f"position {self.position} ({self.type},"
            f" stream {self.stream} version {self.version})"
        )

    def named_deleted(self) -> str:
        """How `audit verify` names an event the audit index knows but the store lost."""
        return (
            f"position {self.position} ({self.type}, stream {self.stream} version"
            f" {self.version}): deleted from the event store"
        )


def events_table(services) -> tuple[str, str]:
    """The event store's table and its position column, checked against the catalogue."""
    db = services.database
    table = services.lifecycle.recorder.events_table_name
    names = table_names(services)
    assert table in names, (table, names)
    assert table == ("stored_events" if db.kind == "sqlite" else "accountlifecycle_events")
    return table, "rowid" if db.kind == "sqlite" else "notification_id"


def stored_rows(services) -> list[Row]:
    """Every row of the event store, read with SQL (not through the application), in log order."""
    table, position = events_table(services)
    with services.database.transaction(commit=False) as cursor:
        cursor.execute(
            f"SELECT {position} AS position, originator_id, originator_version, topic, state"
            f" FROM {table} ORDER BY {position}"
        )
        rows = cursor.fetchall()
    return [
        Row(
            position=row["position"],
            key=row["originator_id"],
            stored=StoredEvent(
                originator_id=UUID(str(row["originator_id"])),
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            ),
        )
        for row in rows
    ]


def stream_of(rows: list[Row], first_type: str) -> list[Row]:
    """The rows of the (only) stream that starts with an event of this type, by version."""
    [start] = [r for r in rows if r.version == 1 and r.type == first_type]
    return sorted((r for r in rows if r.stream == start.stream), key=lambda r: r.version)


def rowcount(cursor) -> int:
    raw = cursor.raw  # eventsourcing wraps the sqlite3 cursor; psycopg's is the driver's own
    return getattr(raw, "sqlite_cursor", raw).rowcount


def write_state(services, row: Row, state: bytes, topic: str | None = None) -> None:
    table, _ = events_table(services)
    with services.database.transaction() as cursor:
        cursor.execute(
            f"UPDATE {table} SET state = %s, topic = %s"
            " WHERE originator_id = %s AND originator_version = %s",
            (state, topic or row.stored.topic, row.key, row.version),
        )
        assert rowcount(cursor) == 1


def edit(services, row: Row, change) -> None:
    """Rewrite one stored event's JSON state (still valid JSON, same compact encoding)."""
    state = row.state
    change(state)
    encoded = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
    assert encoded != bytes(row.stored.state)
    write_state(services, row, encoded)


def rechain(services, rows: list[Row]) -> None:
    """Give each of a stream's rows, in order, its (possibly rewritten) predecessor's hash,
    as whoever changed an event could."""
    for row in rows:
        [before] = [r for r in stored_rows(services) if r.stream == row.stream
                    and r.version == row.version - 1]
        edit(services, row, lambda state, before=before: state.update(
            {PREVIOUS: event_hash(before.stored)}
        ))


def delete(services, row: Row) -> None:
    table, _ = events_table(services)
    with services.database.transaction() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE originator_id = %s AND originator_version = %s",
            (row.key, row.version),
        )
        assert rowcount(cursor) == 1


def swap_positions(services, first: Row, second: Row) -> None:
    """Give two events each other's place in the log (notification ids)."""
    table, position = events_table(services)
    parking = 10**9
    with services.database.transaction() as cursor:
        for row, to in ((first, parking), (second, first.position), (first, second.position)):
            cursor.execute(
                f"UPDATE {table} SET {position} = %s"
                " WHERE originator_id = %s AND originator_version = %s",
                (to, row.key, row.version),
            )
            assert rowcount(cursor) == 1


# --- the story and the command ----------------------------------------------------------------


def told(client, services, clock) -> dict[str, str]:
    """The member's story, every read model caught up, then the projections stopped so that
    nothing reads the store while a test changes it (`audit verify` stops them anyway)."""
    s = story(client, services, clock)
    settle(services)
    services.projections.stop()
    return s


def verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def problems(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("PROBLEM ")]


def assert_refused(result, *expected: str) -> list[str]:
    """Exit 1, a summary counting the problems, each expected text in a PROBLEM line; the
    PROBLEM lines."""
    assert result.exit_code == 1, result.output
    assert "everything agrees" not in result.stdout
    assert re.search(r"\d+ problem\(s\)$", result.stdout.strip()), result.stdout
    lines = problems(result)
    for text in expected:
        assert any(text in line for line in lines), (text, lines)
    return lines


def assert_detected(result, *expected: str, stream: UUID) -> None:
    """As assert_refused, and every event-naming problem is about the stream that was touched
    (no false alarm about the others)."""
    lines = assert_refused(result, *expected)
    named = [PROBLEM_NAMING.match(line) for line in lines if line.startswith("PROBLEM position")]
    assert named and all(named), lines
    assert {UUID(match.group(3)) for match in named} == {stream}, lines


# --- 1. nothing touched -----------------------------------------------------------------------


def test_an_untouched_store_verifies_and_every_event_carries_its_predecessors_hash(
    app, client, services, clock
):
    told(client, services, clock)

    result = verify(app)

    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("everything agrees"), result.stdout
    assert problems(result) == []
    rows = stored_rows(services)
    assert len(rows) >= 15  # the story's events, every stream included
    latest: dict[UUID, StoredEvent] = {}
    for row in rows:
        before = latest.get(row.stream)
        if row.version == 1:
            assert before is None
            assert PREVIOUS not in row.state and previous_hash(row.stored) is None, row.named()
        else:
            assert before is not None and before.originator_version == row.version - 1
            assert previous_hash(row.stored) == event_hash(before), row.named()
        latest[row.stream] = row.stored
    assert len(latest) > 3  # several streams: enrollment, account, indexes
    account = stream_of(rows, "AccountOpened")
    assert [r.version for r in account] == list(range(1, len(account) + 1))
    assert len(account) >= 5
    # The audit index recorded every event's own hash, at its position.
    indexed = services.audit.recorded_hashes(1, None)
    assert {p: r["hash"] for p, r in indexed.items()} == {
        row.position: event_hash(row.stored) for row in rows
    }


# --- 2. an event in the middle of a stream changed ---------------------------------------------


def _later_timestamp(state: dict[str, Any]) -> None:
    stamp = state["timestamp"]
    assert stamp["_type_"] == "datetime_iso"
    moved = datetime.fromisoformat(stamp["_data_"]) + timedelta(minutes=1)
    stamp["_data_"] = moved.isoformat()


def _other_actor(state: dict[str, Any]) -> None:
    assert state["actor"].startswith("member:")
    state["actor"] = "support:mallory"


@pytest.mark.parametrize("change", [_later_timestamp, _other_actor], ids=["timestamp", "actor"])
def test_changing_an_event_in_the_middle_of_a_stream_is_named(
    app, client, services, clock, change
):
    told(client, services, clock)
    account = stream_of(stored_rows(services), "AccountOpened")
    middle = next(r for r in account if r.type == "SignedIn")
    after = account[middle.version]  # the next version
    assert 1 < middle.version < account[-1].version

    edit(services, middle, change)
    result = verify(app)

    assert_detected(
        result,
        f"{middle.named()}: changed since it was written",
        f"{after.named()}: does not carry its predecessor's hash",
        stream=middle.stream,
    )


# --- 3. the last event of a stream changed -----------------------------------------------------


LAST_EVENTS = pytest.mark.parametrize(
    "first_type",
    ["AccountOpened", "RegistrationRequested", "IdentifierReserved"],
    ids=["account", "registration", "single-event-stream"],
)


@LAST_EVENTS
def test_changing_the_last_event_of_a_stream_is_named(app, client, services, clock, first_type):
    # The account's last event is also the log's last; the registration's is in the middle of
    # the log; the identifier index's stream has one event only (version 1, no link at all).
    # No later event carries their hash: only the audit index's record catches them.
    told(client, services, clock)
    rows = stored_rows(services)
    stream = stream_of(rows, first_type)
    last = stream[-1]
    assert (last.version == 1) == (first_type == "IdentifierReserved") == (len(stream) == 1)
    assert (last.position == rows[-1].position) == (first_type == "AccountOpened")

    edit(services, last, _later_timestamp)
    result = verify(app)

    assert_detected(
        result, f"{last.named()}: changed since it was written", stream=last.stream
    )


def test_rechaining_the_events_after_a_changed_one_does_not_hide_it(
    app, client, services, clock
):
    # The hash is not keyed: whoever changes an event can recompute every later link. The
    # audit index's record of each event's own hash still names every rewritten event.
    told(client, services, clock)
    account = stream_of(stored_rows(services), "AccountOpened")
    middle = next(r for r in account if r.type == "SignedIn")
    edit(services, middle, _other_actor)
    rechain(services, account[middle.version:])
    rewritten = [r for r in stored_rows(services) if r.stream == middle.stream]
    for earlier, later in pairwise(rewritten):
        assert previous_hash(later.stored) == event_hash(earlier.stored)  # the chain holds

    result = verify(app)

    assert_detected(
        result,
        *(f"{row.named()}: changed since it was written" for row in account[middle.version - 1:]),
        stream=middle.stream,
    )
    assert "predecessor" not in result.stderr


# --- 4. an event deleted ----------------------------------------------------------------------


def test_deleting_an_event_in_the_middle_of_a_stream_is_named(app, client, services, clock):
    told(client, services, clock)
    account = stream_of(stored_rows(services), "AccountOpened")
    middle = next(r for r in account if r.type == "SignedIn")
    after = account[middle.version]

    delete(services, middle)
    result = verify(app)

    assert_detected(
        result,
        middle.named_deleted(),
        f"{after.named()}: follows version {middle.version - 1} of its stream"
        " (events missing or reordered)",
        stream=middle.stream,
    )


@LAST_EVENTS
def test_deleting_the_last_event_of_a_stream_is_named(app, client, services, clock, first_type):
    told(client, services, clock)
    rows = stored_rows(services)
    last = stream_of(rows, first_type)[-1]

    delete(services, last)
    result = verify(app)

    assert_detected(result, last.named_deleted(), stream=last.stream)


def test_the_chain_walk_names_deletions_whatever_its_batch_size(
    app, client, services, clock
):
    # verify_chain reads the log in batches; a deleted position at a batch's edge, or past the
    # log's new head, is still named once.
    told(client, services, clock)
    account = stream_of(stored_rows(services), "AccountOpened")
    middle = next(r for r in account if r.type == "SignedIn")
    delete(services, middle)
    delete(services, account[-1])  # the log's last event
    expected = {middle.named_deleted(), account[-1].named_deleted()}

    found = {}
    for batch in (1, 2, 3, 5, 12, 13, 1000):
        chain = verify_chain(services.lifecycle, services.audit, say=lambda _: None, batch=batch)
        checked, chain_problems = chain.checked, chain.problems
        assert checked == 18, batch  # 20 events (2 of them NoticeSent), 2 deleted
        found[batch] = sorted(chain_problems)
        assert expected <= set(chain_problems), (batch, chain_problems)
        assert len(chain_problems) == len(set(chain_problems)), (batch, chain_problems)
    assert all(problems == found[1000] for problems in found.values()), found


# --- 5. events reordered ----------------------------------------------------------------------


@pytest.mark.parametrize("with_topics", [False, True], ids=["states", "states-and-topics"])
def test_swapping_two_consecutive_events_of_a_stream_is_named(
    app, client, services, clock, with_topics
):
    told(client, services, clock)
    account = stream_of(stored_rows(services), "AccountOpened")
    first = next(r for r in account if r.type == "SignedIn")
    second = account[first.version]  # PasswordChanged, the next version

    write_state(services, first, bytes(second.stored.state),
                second.stored.topic if with_topics else None)
    write_state(services, second, bytes(first.stored.state),
                first.stored.topic if with_topics else None)
    result = verify(app)

    # Named as they now stand: each row's own place and version, the other's state (and
    # topic, which names the type).
    now_first, now_second = (
        Row(row.position, row.key, StoredEvent(
            row.stored.originator_id, row.version,
            other.stored.topic if with_topics else row.stored.topic, other.stored.state,
        ))
        for row, other in ((first, second), (second, first))
    )
    assert_detected(
        result,
        f"{now_first.named()}: does not carry its predecessor's hash",
        f"{now_first.named()}: changed since it was written",
        f"{now_second.named()}: does not carry its predecessor's hash",
        f"{now_second.named()}: changed since it was written",
        stream=first.stream,
    )


def test_swapping_the_log_positions_of_two_events_of_a_stream_is_named(
    app, client, services, clock
):
    told(client, services, clock)
    account = stream_of(stored_rows(services), "AccountOpened")
    first = next(r for r in account if r.type == "SignedIn")
    second = account[first.version]
    assert second.position > first.position

    swap_positions(services, first, second)
    result = verify(app)

    moved_up = Row(first.position, second.key, second.stored)  # v6 now where v5 was
    moved_down = Row(second.position, first.key, first.stored)  # v5 now after v6
    assert_detected(
        result,
        f"{moved_up.named()}: follows version {first.version - 1} of its stream",
        f"{moved_down.named()}: follows version {second.version} of its stream"
        " (events missing or reordered)",
        stream=first.stream,
    )


@pytest.mark.parametrize("junk", [b"\x00garbage", b"[]"], ids=["not-json", "not-an-object"])
def test_an_event_overwritten_with_junk_is_named_without_a_crash(
    app, client, services, clock, junk
):
    told(client, services, clock)
    account = stream_of(stored_rows(services), "AccountOpened")
    middle = next(r for r in account if r.type == "SignedIn")

    write_state(services, middle, junk)
    result = verify(app)

    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception)
    )
    assert_detected(result, f"{middle.named()}: ", stream=middle.stream)


# --- 6. the bookkeeping stays out of sight -----------------------------------------------------


def store_keys_in(value: Any, path: str = "") -> list[str]:
    """Where, at any depth, a key of the store's bookkeeping appears."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in STORE_KEYS:
                found.append(f"{path}/{key}")
            found += store_keys_in(inner, f"{path}/{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += store_keys_in(inner, f"{path}[{index}]")
    return found


def audit_outputs(client, services, clock, identifier: str) -> dict[str, Any]:
    auditor = bearer(services.staff_tokens.create("audra", "auditor"))
    answers = {
        "history": client.get(f"/api/v1/audit/accounts/{identifier}/events", headers=auditor),
        "feed": client.get("/api/v1/audit/events?after=0&limit=1000", headers=auditor),
        "state": client.get(
            f"/api/v1/audit/accounts/{identifier}/state",
            query_string={"at": clock.now.isoformat()}, headers=auditor,
        ),
    }
    for name, response in answers.items():
        assert response.status_code == 200, (name, response.json)
    return {name: response.json for name, response in answers.items()}


def test_first_events_carry_no_chain_link_and_the_audit_api_shows_no_bookkeeping(
    client, services, clock
):
    s = story(client, services, clock)
    settle(services)
    rows = stored_rows(services)
    firsts = [r for r in rows if r.version == 1]
    assert len(firsts) >= 4
    for row in firsts:
        assert PREVIOUS not in row.state, row.named()
    assert all(PREVIOUS in r.state for r in rows if r.version > 1)  # the others all do

    outputs = audit_outputs(client, services, clock, s["identifier"])

    assert len(outputs["feed"]["events"]) == len(rows)
    assert len(outputs["history"]["events"]) >= 9
    assert store_keys_in(outputs) == []
    # Each event's own hash is shown once, as the contract's `hash` (base64: the audit tree's
    # leaf); the predecessor's link, in hex, nowhere, not even under another name.
    by_position = {row.position: row for row in rows}
    for event in outputs["feed"]["events"]:
        row = by_position[event["position"]]
        assert base64.b64decode(event["hash"]).hex() == event_hash(row.stored), row.named()
    text = json.dumps(outputs, ensure_ascii=False)
    for row in rows:
        assert event_hash(row.stored) not in text, row.named()


def test_after_erasure_the_chain_still_verifies_and_the_api_shows_no_erasure_mark(
    app, client, services, clock
):
    # Erasure destroys the member's key, it does not rewrite events: the stored (sealed)
    # form is what is hashed, so the chain holds; `_erased` marks the events read back.
    s = story(client, services, clock)
    closure = client.post(
        "/api/v1/me/closure", json={"password": OWN}, headers=bearer(s["token"])
    )
    assert closure.status_code == 202, closure.json
    support = bearer(services.staff_tokens.create("alice", "support"))
    decided = client.post(
        f"/api/v1/support/requests/{closure.json['request_id']}/decision",
        json={"decision": "accept", "note": "à sa demande"}, headers=support,
    )
    assert decided.status_code == 200, decided.json
    settle(services)
    assert any(r.type == "PersonalDataErased" for r in stored_rows(services))
    erased = [
        e for e in services.lifecycle.events.get(
            stream_of(stored_rows(services), "AccountOpened")[0].stream
        ) if getattr(e, "_erased", False)
    ]
    assert erased  # the events are read back with the erasure mark...

    outputs = audit_outputs(client, services, clock, s["identifier"])

    assert store_keys_in(outputs) == []  # ...which the auditors never see
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("everything agrees"), result.stdout


# --- 7. snapshots are checked against their events -------------------------------------------


def snapshot_rows(services, stream: UUID) -> list[tuple[Any, int, bytes]]:
    """(driver's originator id, version, state) of the stream's stored snapshots."""
    table = services.lifecycle.snapshots.recorder.events_table_name
    with services.database.transaction(commit=False) as cursor:
        cursor.execute(
            f"SELECT originator_id, originator_version, state FROM {table}"
        )
        rows = cursor.fetchall()
    return [
        (r["originator_id"], r["originator_version"], bytes(r["state"]))
        for r in rows if UUID(str(r["originator_id"])) == stream
    ]


def with_a_snapshot(client, services, clock) -> tuple[dict[str, str], UUID]:
    """The story, then enough alert changes for the account to be snapshotted."""
    s = told(client, services, clock)
    account = stream_of(stored_rows(services), "AccountOpened")[0].stream
    for n in range(50):
        services.use_cases.member_space.set_alerts(account, n % 2 == 0)
    assert snapshot_rows(services, account), "no snapshot taken"
    return s, account


def test_a_snapshot_that_disagrees_with_its_events_is_named(app, client, services, clock):
    # The application loads an account from its snapshot: a changed snapshot would change what
    # it believes without breaking any chain, so `audit verify` replays each one's events.
    _, account = with_a_snapshot(client, services, clock)
    assert verify(app).exit_code == 0
    key, version, state = snapshot_rows(services, account)[-1]
    changed = json.loads(state)
    changed["state"]["identifier"] = "99999999"
    table = services.lifecycle.snapshots.recorder.events_table_name
    with services.database.transaction() as cursor:
        cursor.execute(
            f"UPDATE {table} SET state = %s"
            " WHERE originator_id = %s AND originator_version = %s",
            (json.dumps(changed).encode(), key, version),
        )
    assert services.lifecycle.repository.get(account).identifier == "99999999"

    result = verify(app)

    assert result.exit_code == 1
    assert (
        f"PROBLEM snapshot of stream {account} at version {version}: differs from its events"
        in result.stderr
    ), result.stderr


def test_the_snapshots_of_an_erased_account_still_verify(app, client, services, clock):
    s, account = with_a_snapshot(client, services, clock)
    closure = client.post("/api/v1/me/closure", json={"password": OWN}, headers=bearer(s["token"]))
    support = bearer(services.staff_tokens.create("alice", "support"))
    assert client.post(
        f"/api/v1/support/requests/{closure.json['request_id']}/decision",
        json={"decision": "accept", "note": "à sa demande"}, headers=support,
    ).status_code == 200
    loaded = services.lifecycle.repository.get(account)  # through the erased snapshot
    assert (loaded.email, loaded.email_change) == ("[effacé]", None)
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "snapshots: " in result.stdout and "everything agrees" in result.stdout
