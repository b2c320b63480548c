"""A save whose key-ring rows or events lose a race (adapters/recorders.py) fails as a lost
race: IntegrityError, which the use case retries from a fresh load, at once, with nothing of
it recorded; never the 503 of a store that is down. On PostgreSQL under load, psycopg's pipeline
sometimes ended with PipelineAborted after the library had caught the statement's own
UniqueViolation; the library raised that as OperationalError, after ten attempts 0.2 s apart:
20 concurrent registrations of one member on a loaded machine answered 503 to some
(tests/api/test_registrations.py, 5 runs in 5 beside three busy processes; 0 in 5 now)."""

from __future__ import annotations

import time
import uuid

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from adapters.keyring import NewKeys


def a_save(lookup: str) -> tuple[list[StoredEvent], NewKeys]:
    event = StoredEvent(originator_id=uuid.uuid4(), originator_version=1,
                        topic="tests:Nothing", state=b"{}")
    return [event], NewKeys(lookups=[(lookup, str(uuid.uuid4()))])


def test_a_lookup_another_save_committed_first_fails_the_save_as_a_lost_race(services):
    recorder = services.lifecycle.recorder
    events, keys = a_save("conflict-lookup")
    recorder.insert_events(events, new_keys=keys)  # the winner, committed
    before = recorder.max_notification_id()

    events, keys = a_save("conflict-lookup")
    started = time.monotonic()
    with pytest.raises(IntegrityError):
        recorder.insert_events(events, new_keys=keys)
    assert time.monotonic() - started < 1.0  # not the library's ten tries 0.2 s apart
    assert recorder.max_notification_id() == before  # nothing of the loser recorded



@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite: no pipeline
def test_a_pipeline_that_psycopg_ends_as_aborted_is_a_lost_race_at_once(
    services, monkeypatch
):
    """The order of the library's and psycopg's exits that a loaded machine produced (the
    statement's own UniqueViolation replaced by PipelineAborted at the pipeline's end), made
    to happen every time: one attempt, then IntegrityError (a 503 before)."""
    import psycopg
    from eventsourcing.persistence import OperationalError
    from eventsourcing.postgres import PostgresApplicationRecorder

    calls = []

    def aborted(recorder, stored_events, **kwargs):
        calls.append(stored_events)
        try:
            raise psycopg.errors.PipelineAborted("pipeline aborted")
        except psycopg.errors.PipelineAborted as error:
            raise OperationalError(str(error)) from error

    monkeypatch.setattr(PostgresApplicationRecorder.insert_events, "__wrapped__", aborted)
    events, keys = a_save("aborted-lookup")
    with pytest.raises(IntegrityError):
        services.lifecycle.recorder.insert_events(events, new_keys=keys)
    assert len(calls) == 1
