"""The events' array sent to PostgreSQL in binary (adapters/recorders.py, binary_parameters)
stores the same bytes as the library's own text path: each event's hash, and so the chain, is
over its stored state. Both recorders write the same events, every byte value and the
characters text escaping handles among them, into tables of their own."""

from __future__ import annotations

import json
import os
import uuid

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

from adapters.recorders import PostgresRecorder

STATES = [
    bytes(range(256)), b"", b"\\x00\\\\", b'{"x": "\x00"}', b'("),\\ {}',
    json.dumps({"nom": "Dupré-Lefèvre\u2028\"\\", "n": None}).encode(), os.urandom(100_000),
]
TOPICS = ["domain.account:Account.AccountOpened", 'q"uote,(x)\\', "é", ""]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_the_binary_insert_stores_what_the_librarys_text_insert_stores(services):
    datastore = services.lifecycle.recorder.datastore
    text = PostgresApplicationRecorder(datastore, events_table_name="text_events")
    binary = PostgresRecorder(datastore, events_table_name="binary_events")
    for recorder in (text, binary):
        recorder.create_table()
    events = [
        StoredEvent(originator_id=uuid.uuid4(), originator_version=version,
                    topic=TOPICS[n % len(TOPICS)], state=STATES[n % len(STATES)])
        for n, version in enumerate([1, 2, 2**31 + 5, 2**62] * 4)
    ]

    assert "%b" in binary.insert_events_statement.as_string()
    assert len(text.insert_events(events)) == len(binary.insert_events(events)) == len(events)

    with datastore.get_connection() as connection:
        stored = [
            [(r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"]))
             for r in connection.execute(
                 f"SELECT * FROM {table} ORDER BY notification_id").fetchall()]
            for table in ("text_events", "binary_events")
        ]
    given = [(e.originator_id, e.originator_version, e.topic, e.state) for e in events]
    assert stored == [given, given]
