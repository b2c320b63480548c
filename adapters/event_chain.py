"""The event store that chains each new event to its predecessor (adapters/event_store.py says
why and how the hash is made) and maps a save's events within one key-collecting context."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import EventStore, Notification, Recording

from adapters.event_store import ProtectedMapper, event_hash

# Streams whose last hash a process keeps: its recently active accounts and requests. One
# entry per stream, the last version seen (a new event chains to the one before it): an entry
# per event, and 100,000 of them, held about 4 KB per registration, still growing after half
# an hour of issue 21's soak.
HASH_CACHE = 20_000


class ChainedEventStore(EventStore[UUID]):
    """Puts each new event's predecessor hash into it. The predecessor was usually just read to
    load the aggregate, so its hash is remembered from that read; otherwise it is read again."""

    mapper: ProtectedMapper

    def __init__(self, mapper: ProtectedMapper, recorder: Any):
        super().__init__(mapper, recorder)
        self._hashes: OrderedDict[UUID, tuple[int, str]] = OrderedDict()
        self._lock = threading.Lock()

    def put(
        self, domain_events: Sequence[DomainEventProtocol[UUID]], **kwargs: Any
    ) -> list[Recording[UUID]]:
        links: dict[UUID, str] = {}
        stored_events, digests = [], []
        with self.mapper.one_save(domain_events) as new_keys:
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
        known = self._hashes.get(stream)
        if known is not None and known[0] == version - 1:
            return known[1]
        for stored in self.recorder.select_events(stream, gt=version - 2, lte=version - 1):
            return event_hash(stored)
        return None  # no predecessor: the insert will fail on its version anyway

    def _remember(self, stream: UUID, version: int, digest: str) -> None:
        with self._lock:
            known = self._hashes.get(stream)
            if known is None or known[0] <= version:  # an older read keeps the newer hash
                self._hashes[stream] = (version, digest)
            self._hashes.move_to_end(stream)
            if len(self._hashes) > HASH_CACHE:
                self._hashes.popitem(last=False)
