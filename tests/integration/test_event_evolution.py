"""Stored events and snapshots of an older shape still load (the library's class_version and
upcast_v<N>_v<N+1> methods), through our mapper, which opens sealed personal fields under the
name they were stored with before the upcasters run. On SQLite and PostgreSQL.

The classes below stand for one aggregate as two releases define it: `Pet` as it was stored,
`PetNow` as the code reads it today (the test points the stored topics at it, as a release
that changed the class in place would find them).
"""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.application import Repository
from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic

from domain import personal_data
from domain.personal_data import ERASED, Personal
from domain.support_request import SupportRequest, support_mail_due
from tests.helpers import drain, read_mail, recorded, text_of


class Pet(Aggregate):
    @event("Named")
    def __init__(self, owner_name: str, member_key: Any):
        self.owner_name = owner_name
        self.member_key = member_key


class PetNow(Aggregate):
    """Version 2: `owner_name` is `owner`, `nickname` is new (None for what was stored)."""

    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:  # a snapshot's state
        state["owner"] = state.pop("owner_name")
        state["nickname"] = None

    class Named(Aggregate.Created):
        class_version = 2
        owner: str
        nickname: str | None
        member_key: Any

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["owner"] = state.pop("owner_name")
            state["nickname"] = None

    @event(Named)
    def __init__(self, owner: str, nickname: str | None, member_key: Any):
        self.owner = owner
        self.nickname = nickname
        self.member_key = member_key


@pytest.fixture
def sealed_pets(monkeypatch):
    """Both shapes' owner is personal data of the member named by member_key."""
    monkeypatch.setitem(personal_data.PERSONAL_EVENTS, "Pet.Named",
                        Personal(("owner_name",), subject="member_key"))
    monkeypatch.setitem(personal_data.PERSONAL_EVENTS, "PetNow.Named",
                        Personal(("owner",), subject="member_key"))
    monkeypatch.setitem(personal_data.PERSONAL_STATE, "Pet", {"owner_name": ERASED})
    monkeypatch.setitem(personal_data.PERSONAL_STATE, "PetNow", {"owner": ERASED})


def stored_as_version_1(services, *, snapshot: bool = False) -> Any:
    """A Pet saved by the older code, its stored topics then read as today's PetNow."""
    lifecycle = services.lifecycle
    pet = Pet(owner_name="Hélène Dupré", member_key=uuid4())
    lifecycle.save(pet)
    if snapshot:
        lifecycle.take_snapshot(pet.id)
    # As if the class had changed in place: every topic naming Pet, in the topic column and
    # inside the stored state (a creation and a snapshot name their aggregate's class), now
    # names PetNow. Only the chain's hashes tell; this test does not verify them.
    renamed = {get_topic(Pet.Named): get_topic(PetNow.Named), get_topic(Pet): get_topic(PetNow)}
    snapshots = lifecycle.snapshots.recorder  # type: ignore[union-attr]
    for table in {lifecycle.recorder.events_table_name, snapshots.events_table_name}:
        rows = services.database.run(f"SELECT topic, state FROM {table}")
        for row in rows:
            if row["topic"] not in (*renamed, "eventsourcing.domain:Snapshot"):
                continue
            state = bytes(row["state"])
            for old, new in renamed.items():
                state = state.replace(f'"{old}"'.encode(), f'"{new}"'.encode())
            services.database.run(
                f"UPDATE {table} SET topic = %s, state = %s"
                " WHERE topic = %s AND state = %s",
                (renamed.get(row["topic"], row["topic"]), state, row["topic"], row["state"]),
            )
    return pet.id


def replayed(services, aggregate_id) -> Any:
    """The aggregate as the store gives it now, from its latest snapshot if any: not the copy
    the process has kept since it saved it (the application's aggregate cache), which the
    rewrites below do not reach."""
    lifecycle = services.lifecycle
    return Repository(event_store=lifecycle.events, snapshot_store=lifecycle.snapshots).get(
        aggregate_id
    )


def test_an_event_stored_with_a_field_since_renamed_and_one_since_added_loads(
    services, sealed_pets
):
    pet_id = stored_as_version_1(services)
    (named,) = services.lifecycle.events.get(pet_id)
    assert type(named) is PetNow.Named
    assert (named.owner, named.nickname) == ("Hélène Dupré", None)
    assert not hasattr(named, "owner_name")
    pet = replayed(services, pet_id)
    assert (pet.owner, pet.nickname) == ("Hélène Dupré", None)


def test_a_renamed_personal_field_reads_erased_once_its_key_is_destroyed(
    services, sealed_pets
):
    pet_id = stored_as_version_1(services)
    member_key = services.lifecycle.events.get(pet_id).__next__().member_key
    services.lifecycle.mapper.keys.destroy(member_key)
    (named,) = services.lifecycle.events.get(pet_id)
    assert named.owner == ERASED
    assert named._erased


def test_a_snapshot_of_the_older_shape_loads_through_the_aggregate_s_upcaster(
    services, sealed_pets
):
    pet_id = stored_as_version_1(services, snapshot=True)
    snapshot = services.lifecycle.snapshots.get(pet_id).__next__()
    assert snapshot.state["owner_name"] == "Hélène Dupré"  # opened, not yet upcast
    pet = replayed(services, pet_id)
    assert type(pet) is PetNow
    assert (pet.owner, pet.nickname) == ("Hélène Dupré", None)


# SupportRequest, as the release before replies and requesters' e-mails stored it.

OLD_SHAPE = {  # what each event class gained since version 1, and its version now
    "SupportRequestSubmitted": (("acknowledge",), 2),
    # v3: the decision's reason (test_decision_reasons_upgrade.py).
    "SupportRequestAccepted": (("reply", "email_requester", "reason"), 3),
    "SupportRequestRejected": (("reply", "email_requester", "reason"), 3),
}


def as_stored_by_the_previous_release(services) -> None:
    """The test's one request, every stored event of it rewritten to its version 1: without
    the fields version 2 added, and without a class_version (the chain's hashes tell; this
    test does not verify them)."""
    table = services.lifecycle.recorder.events_table_name
    for row in services.database.run(f"SELECT topic, state FROM {table}"):
        name = row["topic"].rpartition(".")[2]
        if name not in OLD_SHAPE:
            continue
        state = json.loads(bytes(row["state"]))
        fields, version = OLD_SHAPE[name]
        assert state.pop("class_version") == version, name
        for field in fields:
            state.pop(field)
        services.database.run(
            f"UPDATE {table} SET state = %s WHERE topic = %s AND state = %s",
            (json.dumps(state).encode(), row["topic"], row["state"]),
        )


def old_request(services, kind: str = "other") -> SupportRequest:
    request = SupportRequest(
        kind=kind, last_name="Martin", first_name="Louise", message="Bonjour",
        member_number=None, birth_date=None, identifier=None, email="louise@example.org",
        new_email=None, account_id=None, member_key=None, actor="system:support-request",
        timestamp=services.clock(),
    )
    services.lifecycle.save(request)
    return request


@pytest.mark.parametrize("accept", [True, False], ids=["accepted", "rejected"])
def test_a_support_decision_stored_without_a_reply_still_loads(services, accept):
    request = old_request(services)
    if accept:
        request.accept("alice", "réglé par téléphone", None, services.clock())
    else:
        request.reject("alice", "réglé par téléphone", services.clock())
    services.lifecycle.save(request)
    as_stored_by_the_previous_release(services)

    # The in-process worker may have recorded the decision e-mail's outcome after them.
    submitted, decided, *_ = services.lifecycle.events.get(request.id)
    assert submitted.acknowledge is False
    assert (decided.agent, decided.note) == ("alice", "réglé par téléphone")  # opened
    assert (decided.reply, decided.email_requester) == (None, False)
    loaded = replayed(services, request.id)
    assert loaded.status == ("accepted" if accept else "rejected")
    assert (loaded.note, loaded.reply, loaded.acknowledge) == ("réglé par téléphone", None, False)
    assert support_mail_due(submitted) is None and support_mail_due(decided) is None


def test_a_request_stored_by_the_previous_release_is_decided_and_answered_now(services):
    request = old_request(services)
    as_stored_by_the_previous_release(services)
    services.use_cases.support.decide_request(
        request.id, False, "alice", "vu", None, reply="Merci de nous rappeler."
    )
    drain(services)
    [message] = read_mail(services.settings.mail.directory)  # the decision; no late receipt
    assert message["To"] == "louise@example.org"
    assert "Merci de nous rappeler." in text_of(message)
    assert [e.about_version for e in recorded(services, "SupportEmailSent")] == [2]
