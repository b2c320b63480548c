"""Feeding projections from the notification log, resuming from each one's tracking position.

The SQLite recorder has no subscribe(), so rather than the library's ProjectionRunner we read
select_notifications() from the last tracked position, on both engines. A batch of events'
rows and the tracking record of its last are written in one transaction (the view does that),
so a crash neither loses nor doubles an update; a second runner that loses the race on the
tracking row gets an IntegrityError, rolls back, and reads on from the new position.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, PersistenceError, Tracking

from projections.versions import ReadModels
from projections.view import positions

log = logging.getLogger(__name__)
BATCH = 500
# Between two looks at the live read models, a rebuild applies at most this many batches: the
# live ones stay current while a new version is built beside them.
REBUILD_BATCHES = 20


def catch_up(
    app: Application[Any], projection: Any, batch: int = BATCH, stop: int | None = None
) -> int:
    """Process what the projection has not seen yet (up to position `stop` if given), one
    batch at most, in one transaction; returns how many."""
    last = projection.view.max_tracking_id(projection.name) or 0
    events = _read(app, last, batch, stop)
    return len(events) if _apply(projection, events, last) else 0


def catch_up_together(
    app: Application[Any], projections: Sequence[Any], batch: int = BATCH
) -> tuple[bool, dict[str, Exception]]:
    """Each projection at most one batch further, from one read of the log; returns whether
    that read came back full (the log may hold more), and the error of each projection that
    could not apply its events, by name. The live projections are mostly at the same
    position: each reading and decoding (unsealing) the same events for itself was four reads
    of the log per look, and the decoding a third of the runner's CPU."""
    if not projections:
        return False, {}
    held = positions((p.view, p.name) for p in projections)
    lasts = [(p, held[p.name]) for p in projections]
    events = _read(app, min(last for _, last in lasts), batch, None)
    failed: dict[str, Exception] = {}
    for projection, last in lasts:
        own = [(event, position) for event, position in events if position > last]
        try:
            if own:
                _apply(projection, own, last)  # False (lost race): read on at the next look
        except Exception as error:  # one projection's failure must not hold the others back
            failed[projection.name] = error
    return len(events) == batch, failed


def _read(app: Application[Any], last: int, batch: int, stop: int | None) -> list[tuple[Any, int]]:
    notifications = app.recorder.select_notifications(start=last + 1, limit=batch, stop=stop)
    return list(zip(decoded(app, notifications), (n.id for n in notifications), strict=True))


def _apply(projection: Any, events: list[tuple[Any, int]], last: int) -> bool:
    """The events in one transaction; False when another runner had moved the position."""
    process = projection.process_event  # bound once: each access builds a dispatch wrapper
    try:
        with projection.view.batch():
            for event, position in events:
                process(event, Tracking(projection.name, position))
    except IntegrityError:
        if (projection.view.max_tracking_id(projection.name) or 0) > last:
            return False  # another runner got there first: read again from its position
        # Nobody moved the position: some event's own statements broke a constraint. One
        # transaction each names it (and applies those before it).
        for event, position in events:
            try:
                projection.process_event(event, Tracking(projection.name, position))
            except IntegrityError:
                if (projection.view.max_tracking_id(projection.name) or 0) >= position:
                    return False
                log.error("projection %s cannot apply event %d", projection.name, position)
                raise
    return True


def decoded(app: Application[Any], notifications: Sequence[Any]) -> list[Any]:
    """Domain events, in one go where the mapper can (adapters/event_store.py)."""
    many = getattr(app.mapper, "to_domain_events", None)
    if many is not None:
        return many(notifications)
    return [app.mapper.to_domain_event(n) for n in notifications]


class ProjectionThread:
    """Runs projections in a daemon thread: woken at once by the in-process application
    after each commit, and polling anyway so that writes from other processes are seen.
    A read model whose new version is being built (versions.py) is built here too, between
    looks at the live ones, and switched in when it has caught up."""

    def __init__(
        self,
        app: Application[Any],
        projections: Sequence[Any],
        poll_seconds: float = 0.5,
        read_models: ReadModels | None = None,
    ):
        self.app = app
        self.read_models = read_models
        self.projections = list(projections)
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="projections", daemon=True)
            self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def run_until_idle(self) -> None:
        """The live read models to the log's head; rebuilds, to the end and switched in."""
        while not self._stop.is_set() and self.step():
            pass

    def step(self) -> bool:
        """The live read models to the head, then a stretch of each rebuild; whether a
        rebuild has more to do."""
        self._live()
        more = False
        for rebuild in list(self.read_models.rebuilds if self.read_models else ()):
            done = 0
            while done < REBUILD_BATCHES and catch_up(self.app, rebuild.projection):
                done += 1
            if done == REBUILD_BATCHES:
                more = True
            else:  # caught up: switched, or (the live one ahead for now) tried at the next poll
                self.read_models.switch(rebuild)  # type: ignore[union-attr]
        return more

    def _live(self) -> None:
        """Until a read comes back short: the end of the log as it was then. What is committed
        after it is read at the next look (woken at once in-process, else polled), not by a
        read that would mostly find nothing. A projection that fails is left out for the rest
        of the look, so that the others, read from its position onwards, still reach the end;
        its error is raised then, and it is tried again at the next look."""
        serving, errors = list(self.serving()), []
        while serving and not self._stop.is_set():
            full, failed = catch_up_together(self.app, serving, BATCH)
            for name, error in failed.items():
                if errors:  # the first is raised; the others would go unseen
                    log.error("projection %s cannot apply its events", name, exc_info=error)
                errors.append(error)
            serving = [p for p in serving if p.name not in failed]
            if not full:
                break
        if errors:
            raise errors[0]

    def serving(self) -> list[Any]:
        return self.projections if self.read_models is None else self.read_models.serving()

    def _run(self) -> None:
        while not self._stop.is_set():
            more = False
            try:
                more = self.step()
            except PersistenceError as error:
                log.warning("projection runner: store unavailable (%s); retrying", error)
            except Exception:
                log.exception("projection runner: unexpected error; retrying")
            if not more:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
