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
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    EventStore,
    Mapper,
    Notification,
    Recording,
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
HASH_CACHE = 100_000


def event_hash(stored: StoredEvent) -> str:
    digest = hashlib.sha256()
    for part in (str(UUID(str(stored.originator_id))), str(stored.originator_version),
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
    def one_save(self) -> Iterator[NewKeys]:
        """Within it, keys made and streams linked are collected, for the save's transaction
        to write; each subject's key is read once."""
        self._saving.keys = {}
        self._saving.new = NewKeys()
        try:
            yield self._saving.new
        finally:
            self._saving.keys = self._saving.new = None

    def _new_keys(self) -> NewKeys:
        new = getattr(self._saving, "new", None)
        if new is None:  # only a snapshot is mapped outside a save, and it makes no key
            raise RuntimeError("events are sealed within one_save() (ChainedEventStore.put)")
        return new

    def _sealing_key(self, subject: UUID) -> tuple[str, bytes]:
        memo = self._saving.keys
        if subject not in memo:
            memo[subject] = self.keys.sealing_key(subject, self._new_keys())
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
        cls = resolve_topic(stored_event.topic)
        state = self.transcoder.decode(stored_event.state)
        state.pop(PREVIOUS, None)
        stream = UUID(str(stored_event.originator_id))
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
        state["_hash"] = event_hash(stored_event)
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


class ChainedEventStore(EventStore[UUID]):
    """Puts each new event's predecessor hash into it. The predecessor was usually just read to
    load the aggregate, so its hash is remembered from that read; otherwise it is read again."""

    mapper: ProtectedMapper

    def __init__(self, mapper: ProtectedMapper, recorder: Any):
        super().__init__(mapper, recorder)
        self._hashes: OrderedDict[tuple[UUID, int], str] = OrderedDict()
        self._lock = threading.Lock()

    def put(
        self, domain_events: Sequence[DomainEventProtocol[UUID]], **kwargs: Any
    ) -> list[Recording[UUID]]:
        links: dict[UUID, str] = {}
        stored_events, digests = [], []
        with self.mapper.one_save() as new_keys:
            for event in domain_events:
                stream, version = event.originator_id, event.originator_version
                previous = links.get(stream) or self._hash_before(stream, version)
                stored = self.mapper.to_stored_event(event, previous=previous)
                links[stream] = event_hash(stored)
                stored_events.append(stored)
                digests.append(links[stream])
        if new_keys:
            kwargs["new_keys"] = new_keys
        notification_ids = self.recorder.insert_events(stored_events, **kwargs)
        if new_keys:
            self.mapper.keys.written(new_keys)
        for stored, digest in zip(stored_events, digests, strict=True):
            self._remember(stored.originator_id, stored.originator_version, digest)
        if not notification_ids:
            return []
        return [
            Recording(event, Notification(
                originator_id=stored.originator_id, originator_version=stored.originator_version,
                topic=stored.topic, state=stored.state, id=notification_id,
            ))
            for event, stored, notification_id in zip(
                domain_events, stored_events, notification_ids, strict=True
            )
        ]

    def get(self, originator_id: UUID, **kwargs: Any) -> Iterator[DomainEventProtocol[UUID]]:
        # kwargs: the library's gt, lte, desc and limit
        for event in super().get(originator_id, **kwargs):
            self._remember(event.originator_id, event.originator_version, event._hash)  # type: ignore[attr-defined]
            yield event

    def _hash_before(self, stream: UUID, version: int) -> str | None:
        if version <= 1:
            return None
        known = self._hashes.get((stream, version - 1))
        if known is not None:
            return known
        for stored in self.recorder.select_events(stream, gt=version - 2, lte=version - 1):
            return event_hash(stored)
        return None  # no predecessor: the insert will fail on its version anyway

    def _remember(self, stream: UUID, version: int, digest: str) -> None:
        with self._lock:
            self._hashes[(stream, version)] = digest
            if len(self._hashes) > HASH_CACHE:
                self._hashes.popitem(last=False)
