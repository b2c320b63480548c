"""How events are stored: chained for tamper evidence, with personal fields sealed per member.

- Chain: each stored event carries, inside its stored state, the SHA-256 of its predecessor in
  the same stream (originator id, version, topic and stored state). Changing, deleting or
  reordering a stored event breaks the link after it; the audit index also keeps each event's
  own hash, for the last event of a stream. `audit verify` walks both (adapters/audit_verify.py).
- Sealing: the fields domain/personal_data.py lists are encrypted (AES-GCM) with the data
  subject's key from the key ring; once that key is destroyed they read as ERASED. Hashes are
  over the stored (sealed) form, so erasure leaves the chain intact.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    Mapper,
    StoredEvent,
    Transcoder,
)
from eventsourcing.utils import get_topic, resolve_topic

from adapters.keyring import NONCE_BYTES, KeyRing, NewKeys
from domain.personal_data import (
    ERASED,
    PERSONAL_EVENTS,
    PERSONAL_STATE,
    SUBJECT_INDEXED_BY,
    SUBJECT_RETIRED_BY,
    Personal,
)

PREVIOUS = "_previous"  # the predecessor's hash, inside the stored state
SEALED_BY, CIPHERTEXT = "sealed_by", "ciphertext"


def as_uuid(key: Any) -> UUID:
    """A stored originator id as a UUID: PostgreSQL's driver gives one already, SQLite text
    (parsed once, not twice: `audit verify` hashes every event of the log)."""
    return key if isinstance(key, UUID) else UUID(str(key))


def event_hash(stored: StoredEvent) -> str:
    digest = hashlib.sha256()
    for part in (str(as_uuid(stored.originator_id)), str(stored.originator_version),
                 stored.topic):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(bytes(stored.state))
    return digest.hexdigest()


def previous_hash(stored: StoredEvent) -> str | None:
    """The predecessor's hash as the stored event records it (None for a stream's first).
    Raises ValueError when the stored state is not a JSON object."""
    state = json.loads(bytes(stored.state))
    if not isinstance(state, dict):
        raise ValueError("the stored state is not a JSON object")
    return state.get(PREVIOUS)


def _is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and value.keys() == {SEALED_BY, CIPHERTEXT}


class ProtectedMapper(Mapper[UUID]):
    def __init__(self, transcoder: Transcoder, keys: KeyRing):
        super().__init__(transcoder)
        self.keys = keys
        # Within one save, each subject's key is read once (a registration seals three events
        # of one member); per thread, since threads share the mapper.
        self._saving = threading.local()

    @contextmanager
    def one_save(
        self, domain_events: Sequence[DomainEventProtocol[UUID]] = ()
    ) -> Iterator[NewKeys]:
        """Within it, keys made and streams linked are collected, for the save's transaction
        to write; each subject's key is read once, and not at all for a subject made by the
        save: a member indexed for the first time, whose index's id (their subject) was just
        drawn at random, can have no key yet (a registration read it for nothing, a quarter
        of its round trips; personal_keys.subject is unique all the same)."""
        self._saving.keys = {}
        self._saving.new = NewKeys()
        self._saving.made = {
            str(event.originator_id) for event in domain_events
            if event.originator_version == 1
            and type(event).__qualname__ == SUBJECT_INDEXED_BY[0]
        }
        try:
            yield self._saving.new
        finally:
            self._saving.keys = self._saving.new = self._saving.made = None

    def _new_keys(self) -> NewKeys:
        new = getattr(self._saving, "new", None)
        if new is None:  # only a snapshot is mapped outside a save, and it makes no key
            raise RuntimeError("events are sealed within one_save() (ChainedEventStore.put)")
        return new

    def _sealing_key(self, subject: UUID) -> tuple[str, bytes]:
        memo = self._saving.keys
        if subject not in memo:
            new = self._new_keys()
            if str(subject) in self._saving.made:
                memo[subject] = self.keys.new_key(subject, new)
                return memo[subject]
            made = len(new.keys)
            memo[subject] = self.keys.sealing_key(subject, new)
            if len(new.keys) == made:  # found, not made: the save checks it is still there
                new.sealed_with.add(memo[subject][0])
        return memo[subject]

    def _subject_of(self, stream: UUID) -> UUID | None:
        new = getattr(self._saving, "new", None)
        if new is not None and str(stream) in new.links:
            return UUID(new.links[str(stream)])
        return self.keys.subject_of(stream)

    def to_stored_event(
        self, domain_event: DomainEventProtocol[UUID], previous: str | None = None
    ) -> StoredEvent:
        state = dict(vars(domain_event))
        stream = state.pop("originator_id")
        version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        qualname = type(domain_event).__qualname__
        self._index_subject(qualname, stream, state)  # before sealing hides the member number
        self._seal(qualname, stream, state)
        if previous is not None:
            state[PREVIOUS] = previous
        return StoredEvent(originator_id=stream, originator_version=version,
                           topic=get_topic(type(domain_event)), state=self.transcoder.encode(state))

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """The library's Mapper.to_domain_event, with the sealed fields opened between the
        decoding and the upcasting: a seal is bound to the name its field was stored under, and
        an upcaster (the library's class_version and upcast_v<N>_v<N+1>) that renames or
        reshapes a personal field must work on its plain value."""
        return self._domain_event(stored_event, self.transcoder.decode(stored_event.state))

    def to_domain_events(self, stored_events: Sequence[StoredEvent]) -> list[Any]:
        """Many at once (a projection's batch): the keys they were sealed with are read in
        one query, not one per member (a rebuild spent two thirds of its time there)."""
        states = [self.transcoder.decode(stored.state) for stored in stored_events]
        self.keys.preload({
            value[SEALED_BY] for state in states
            for target in (state, state.get("state") if "topic" in state else None)
            if isinstance(target, dict)
            for value in target.values() if _is_sealed(value)
        })
        return [self._domain_event(stored, state) for stored, state in zip(
            stored_events, states, strict=True)]

    def _domain_event(self, stored_event: StoredEvent, state: dict[str, Any]) -> Any:
        cls = resolve_topic(stored_event.topic)
        previous = state.pop(PREVIOUS, None)
        stream = as_uuid(stored_event.originator_id)
        if cls.__qualname__ == "Snapshot":  # an aggregate's state, upcast when it is loaded
            erased_as = PERSONAL_STATE.get(state["topic"].rsplit(":", 1)[-1], {})
            state["state"] = dict(state["state"])
            erased = self._open(stream, state["state"], erased_as)
        else:
            erased = self._open(stream, state, {})
        state["originator_id"] = stream
        state["originator_version"] = stored_event.originator_version
        version, newest = state.pop("class_version", 1), getattr(cls, "class_version", 1)
        while version < newest:
            getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
            version += 1
        if erased:
            state["_erased"] = True
        # The chain's bookkeeping, kept beside the fields (`audit verify` reads it from the
        # decoded events rather than parse and hash the stored bytes a second time); a
        # snapshot is in no chain.
        if cls.__qualname__ != "Snapshot":
            state["_hash"], state[PREVIOUS] = event_hash(stored_event), previous
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event

    def _index_subject(self, qualname: str, stream: UUID, state: dict[str, Any]) -> None:
        """From this save on, the member number finds the stream, or no longer does."""
        if qualname == SUBJECT_INDEXED_BY[0]:
            lookup = self.keys.lookup(state[SUBJECT_INDEXED_BY[1]])
            self._new_keys().lookups.append((lookup, str(stream)))
        elif qualname == SUBJECT_RETIRED_BY:
            self._new_keys().retired.append(str(stream))

    # Sealing.

    def _seal(self, qualname: str, stream: UUID, state: dict[str, Any]) -> None:
        personal: Personal | None = None
        if qualname == "Snapshot":
            fields = tuple(PERSONAL_STATE.get(state["topic"].rsplit(":", 1)[-1], {}))
            state["state"] = target = dict(state["state"])
            subject = self._subject_of(stream) or stream
        else:
            personal = PERSONAL_EVENTS.get(qualname)
            if personal is None:
                return
            fields, target = personal.fields, state
            subject = None
        values = {f: target[f] for f in fields if target.get(f) not in (None, ERASED)}
        if not values:
            return
        if subject is None:
            assert personal is not None
            key_id, key = self._sealing_key(self._subject(personal, stream, state))
        elif (found := self.keys.current_key(subject)) is not None:
            key_id, key = found
        else:
            # A snapshot re-seals what its stream's events hold, so its subject has a key
            # unless it was destroyed, by an erasure that ran while this copy of the account
            # was being saved: it is stored as an erased account reads, never under a new key.
            erased_as = PERSONAL_STATE.get(state["topic"].rsplit(":", 1)[-1], {})
            target.update({field: erased_as[field] for field in values})
            return
        cipher = AESGCM(key)
        for field, value in values.items():
            nonce = os.urandom(NONCE_BYTES)
            sealed = cipher.encrypt(
                nonce, self.transcoder.encode(value), f"{stream}:{field}".encode()
            )
            target[field] = {
                SEALED_BY: key_id, CIPHERTEXT: base64.b64encode(nonce + sealed).decode(),
            }

    def _subject(self, personal: Personal, stream: UUID, state: dict[str, Any]) -> UUID:
        """The subject the event names, else the one its stream belongs to, else the stream."""
        named = stream if personal.subject == "originator_id" else (
            state.get(personal.subject) if personal.subject else None
        )
        if named is not None:
            self.keys.link(stream, named, self._new_keys())
            return named
        known = self._subject_of(stream)
        if known is None:
            self.keys.link(stream, stream, self._new_keys())
        return known or stream

    def _open(self, stream: UUID, target: dict[str, Any], erased_as: dict[str, Any]) -> bool:
        """Open every sealed field in place, whatever its name now; True when some could not
        be (key destroyed): those read as their placeholder, ERASED unless named otherwise."""
        erased = False
        for field, value in target.items():
            if not _is_sealed(value):
                continue
            key = self.keys.opening_key(value[SEALED_BY])
            if key is None:
                target[field] = erased_as.get(field, ERASED)
                erased = True
                continue
            data = base64.b64decode(value[CIPHERTEXT])
            plain = AESGCM(key).decrypt(
                data[:NONCE_BYTES], data[NONCE_BYTES:], f"{stream}:{field}".encode()
            )
            target[field] = self.transcoder.decode(plain)
        return erased
