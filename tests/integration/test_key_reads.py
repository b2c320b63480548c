"""Which saves read a member's key before sealing (adapters/event_store.py, one_save), on SQLite
and PostgreSQL. A new member's registration makes their subject in the same save (their
index's random id): no key can exist for it, so none is read, and the save writes exactly one.
A member who has a subject already still has their key read, and checked still there when the
save commits (tests/integration/test_sealing_races.py)."""

from __future__ import annotations

import threading
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from domain.indexes import MemberIndex
from domain.ports import utc_now
from tests.helpers import HELENE, drain, register

KEY_READS = "FROM personal_keys WHERE subject"


def statements_of(services, monkeypatch) -> list[str]:
    """The statements the services' Database.run sends from now on from this thread, the
    request's (the key ring's reads; the in-process mail worker's threads make their own)."""
    sent: list[str] = []
    real = services.database.run
    request_thread = threading.get_ident()

    def run(sql, *args, **kwargs):
        if threading.get_ident() == request_thread:
            sent.append(sql)
        return real(sql, *args, **kwargs)

    monkeypatch.setattr(services.database, "run", run)
    return sent


def keys_of_everyone(services) -> list[tuple[str, str]]:
    with services.database.transaction() as cursor:
        cursor.execute("SELECT key_id, subject FROM personal_keys")
        return [(row["key_id"], row["subject"]) for row in cursor.fetchall()]


def test_a_new_members_registration_reads_no_key_and_writes_one(client, services, monkeypatch):
    sent = statements_of(services, monkeypatch)

    response = register(client)

    assert response.json["status"] == "accepted", response.json
    assert [sql for sql in sent if KEY_READS in sql] == []
    [(_, subject)] = keys_of_everyone(services)
    assert subject == str(services.lifecycle.mapper.keys.find(HELENE["member_number"]))
    # What was sealed with it opens: the enrollment's own fields, read back from the store.
    enrollment = services.lifecycle.enrollment(UUID(response.json["registration_id"]))
    assert (enrollment.last_name, enrollment.email) == (HELENE["last_name"], HELENE["email"])


def test_a_member_with_a_subject_has_their_key_read_once_and_no_new_one(
    client, services, monkeypatch
):
    assert register(client).json["status"] == "accepted"
    drain(services)  # the credentials e-mail's saves of the account, not raced below
    [key] = keys_of_everyone(services)
    sent = statements_of(services, monkeypatch)

    # An interrupted registration, started again with another address: the account's save
    # seals the new address under the member's existing key.
    again = register(client, email="helene.bis@example.org")

    assert again.json["status"] == "accepted", again.json
    assert len([sql for sql in sent if KEY_READS in sql]) == 1
    assert keys_of_everyone(services) == [key]


def test_a_key_already_there_for_a_subject_the_save_makes_fails_the_save(services):
    """What keeps the skipped read safe: were a key ever there for the subject a save makes,
    the save would fail as a lost race, record nothing, and leave that key alone."""
    lifecycle = services.lifecycle
    index = MemberIndex(member_number="M1000001", actor="system:test", timestamp=utc_now())
    with services.database.transaction() as cursor:
        cursor.execute(
            "INSERT INTO personal_keys (key_id, subject, wrapped, created_at) VALUES"
            " (%s, %s, %s, %s)", ("already-there", str(index.id), "wrapped", "2026-12-05"),
        )
    before = lifecycle.recorder.max_notification_id()

    with pytest.raises(IntegrityError):
        lifecycle.save(index)

    assert lifecycle.recorder.max_notification_id() == before
    assert keys_of_everyone(services) == [("already-there", str(index.id))]
