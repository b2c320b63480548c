"""The small helpers that make a full `audit verify` cheaper without changing what it finds:
the snapshot check's comparison without encoding (adapters/audit_snapshots.py `identical`),
the next batch read while this one is worked on (adapters/read_ahead.py), and the garbage
collector's settings for a long batch (adapters/gc_tuning.py)."""

from __future__ import annotations

import gc
import threading
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from adapters.audit_snapshots import identical
from adapters.gc_tuning import YOUNGEST, batch_collection
from adapters.read_ahead import read_ahead
from domain.states import AccountStatus

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
STATE = {"status": "active", "alerts": True, "count": 3, "at": NOW,
         "id": UUID(int=7), "sections": ["health", "retirement"],
         "devices": [{"name": "clé", "added": NOW, "used": None}]}


def test_the_same_state_is_identical():
    assert identical(STATE, {**STATE, "sections": list(STATE["sections"]),
                             "devices": [dict(STATE["devices"][0])]})
    assert identical({**STATE, "status": AccountStatus.ACTIVE}, STATE)  # encoded as its value


@pytest.mark.parametrize("changed", [
    {"alerts": 1},  # equal in Python, "1" and "true" once encoded
    {"count": 3.0},
    {"count": True},
    {"at": NOW.astimezone(timezone(timedelta(hours=1)))},  # the same instant, another zone
    {"sections": ["health"]},
    {"sections": ("health", "retirement")},
    {"devices": [{"name": "clé", "added": NOW, "used": 0}]},
    {"devices": [{"name": "clé", "added": NOW + timedelta(seconds=1), "used": None}]},
    {"id": str(UUID(int=7))},
    {"status": "closed"},
], ids=lambda changed: next(iter(changed)) + ":" + type(next(iter(changed.values()))).__name__)
def test_any_difference_in_value_or_type_is_not_identical(changed):
    assert not identical({**STATE, **changed}, STATE)
    assert not identical(STATE, {**STATE, **changed})


def test_a_missing_or_added_attribute_is_not_identical():
    assert not identical({k: v for k, v in STATE.items() if k != "count"}, STATE)
    assert not identical({**STATE, "extra": None}, STATE)


def test_read_ahead_yields_in_order_reading_the_next_batch_in_another_thread():
    readers: list[str] = []

    def batches():
        for n in range(5):
            readers.append(threading.current_thread().name)
            yield [n]

    assert list(read_ahead(batches())) == [[0], [1], [2], [3], [4]]
    assert readers and all(name.startswith("read-ahead") for name in readers)


def test_read_ahead_raises_a_reading_error_where_its_batch_would_have_been():
    def batches():
        yield 1
        yield 2
        raise ConnectionError("the database went away")

    seen = []
    with pytest.raises(ConnectionError, match="went away"):
        for batch in read_ahead(batches()):
            seen.append(batch)
    assert seen == [1, 2]


def test_read_ahead_stopped_early_reads_at_most_one_batch_more():
    read = []

    def batches():
        for n in range(100):
            read.append(n)
            yield n

    for batch in read_ahead(batches()):
        if batch == 3:
            break
    assert read == [0, 1, 2, 3, 4]


def test_batch_collection_freezes_and_restores_the_collector():
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with batch_collection():
        assert gc.get_threshold() == (YOUNGEST, *before[1:])
        assert gc.get_freeze_count() > frozen
        assert gc.isenabled()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_batch_collection_restores_the_collector_after_an_error():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), batch_collection():
        raise RuntimeError("the batch failed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
