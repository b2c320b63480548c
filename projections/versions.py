"""Read models with a version: a new version is built beside the live one and switched in.

Each view class names its `version`. When the code's version of a read model is newer than
the database's live one, start-up (under the schema lock) creates the new version's tables
beside the live ones, suffixed `_v<N>`, and records it as `building` in read_model_versions.
A projection over those tables, tracked as `<name>_v<N>`, replays the log from position 0;
when it has caught up, one transaction drops the live tables, renames the new ones into their
place and moves the tracking position: readers see the old rows or the new, never a mix.

Until then the old version keeps serving as it stands: the new code cannot write the old
shape, so it leaves the old tables to the previous release's runner while that still runs,
and freezes them after (their lag shows in /metrics). `flask --app app db upgrade` builds
the new version while the previous release still serves, then switches it once no runner
holds the runner lock (docs/operations.md, "Upgrades").
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventsourcing.projection import Projection

from projections.view import View, forget_tracking, tracking_table

if TYPE_CHECKING:
    from adapters.database import Cursor, Database

log = logging.getLogger(__name__)


@dataclass
class Rebuild:
    """A version of a read model being built beside the live one."""

    name: str  # the read model's (and its live projection's) name
    version: int
    projection: Projection[Any]  # over the `_v<version>` tables, tracked as name_v<version>
    live: Projection[Any]  # the one that serves, once switched

    @property
    def tracking_name(self) -> str:
        return self.projection.name

    def position(self) -> int:
        return self.projection.view.max_tracking_id(self.tracking_name) or 0


def building_name(name: str, version: int) -> str:
    return f"{name}_v{version}"


class ReadModels:
    """The read models' versions: which serve, which are being built beside them."""

    def __init__(self, database: Database, projections: Sequence[Projection[Any]]):
        self.database = database
        self.projections = list(projections)
        self.rebuilds: list[Rebuild] = []

    def prepare(self) -> list[Rebuild]:
        """At start-up, under the schema lock: create what a new database lacks, start a
        build beside each read model whose version the code has moved past."""
        versions = self.versions()
        self.rebuilds = []
        for projection in self.projections:
            view: View = projection.view
            name = projection.name
            live, building = versions.get(name, (None, None))
            if live is None:
                # A database from before versions had version 1 of every read model.
                live = 1 if self._exists(view.table_names[0]) else view.version
                if live == view.version:
                    view.create_tables()
                self._set(name, live, None)
            if live >= view.version:
                if live > view.version:
                    log.warning("read model %s is at version %d, newer than this code's %d",
                                name, live, view.version)
                continue
            beside = view.beside(view.version)
            if building != view.version:
                self._start(name, beside, building)
            built = type(projection)(beside)
            built.name = building_name(name, view.version)
            self.rebuilds.append(Rebuild(name, view.version, built, projection))
        return self.rebuilds

    def serving(self) -> list[Projection[Any]]:
        """The live projections this code keeps up to date: those at its own version."""
        building = {rebuild.name for rebuild in self.rebuilds}
        return [p for p in self.projections if p.name not in building]

    def empty_newer_than(self, version: int) -> list[str]:
        """Before a roll back to a release that knows only `version`: the read models switched
        to a newer one are emptied and their positions forgotten, so that release's runner
        rebuilds them its own way, from the events."""
        emptied, versions = [], self.versions()
        for projection in self.projections:
            if versions.get(projection.name, (1, None))[0] > version:
                projection.view.clear(projection.name)
                emptied.append(projection.name)
        return emptied

    def forget_switched(self) -> None:
        """Drop the rebuilds another process has switched in meanwhile."""
        versions = self.versions()
        for rebuild in list(self.rebuilds):
            if versions.get(rebuild.name, (None, None))[1] != rebuild.version:
                self._done(rebuild)

    def versions(self) -> dict[str, tuple[int, int | None]]:
        rows = self.database.run("SELECT name, live, building FROM read_model_versions")
        return {row["name"]: (row["live"], row["building"]) for row in rows}

    def switch(self, rebuild: Rebuild) -> bool:
        """Put the built version in the live one's place if it has caught up with it; False
        when it has not (or another process switched it first: then it is done too)."""
        view: View = rebuild.live.view
        tracking = tracking_table(view.tracking)
        with self.database.transaction() as cursor:
            if self.database.kind == "postgresql":
                # In-flight projection writes finish first and later ones wait: they record
                # their tracking position before their rows (View._write).
                cursor.execute(f"LOCK TABLE {tracking} IN SHARE ROW EXCLUSIVE MODE")
            # A write first: it takes SQLite's one write lock now (a read first could not
            # write after another process's commit), and the row's lock on PostgreSQL.
            cursor.execute(
                "UPDATE read_model_versions SET live = live WHERE name = %s", (rebuild.name,)
            )
            cursor.execute(
                "SELECT live, building FROM read_model_versions WHERE name = %s", (rebuild.name,)
            )
            row = cursor.fetchone()
            if row is None or row["building"] != rebuild.version:
                self._done(rebuild)
                return True  # switched by another process meanwhile
            live_at, built_at = (
                _max_position(cursor, tracking, name)
                for name in (rebuild.name, rebuild.tracking_name)
            )
            if built_at < live_at:
                return False
            for table in (*view.table_names, *view.retired_tables):
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            for table in view.table_names:
                cursor.execute(f"ALTER TABLE {table}{rebuild.projection.view.suffix}"
                               f" RENAME TO {table}")
            forget_tracking(cursor, view.tracking, rebuild.name)
            forget_tracking(cursor, view.tracking, rebuild.tracking_name)
            if built_at:
                cursor.execute(
                    f"INSERT INTO {tracking} (application_name, notification_id)"  # noqa: S608
                    " VALUES (%s, %s)", (rebuild.name, built_at),
                )
            cursor.execute(
                "UPDATE read_model_versions SET live = %s, building = NULL WHERE name = %s",
                (rebuild.version, rebuild.name),
            )
        log.info("read model %s: version %d switched in at position %d",
                 rebuild.name, rebuild.version, built_at)
        self._done(rebuild)
        return True

    def _done(self, rebuild: Rebuild) -> None:
        if rebuild in self.rebuilds:
            self.rebuilds.remove(rebuild)

    def _start(self, name: str, beside: View, abandoned: int | None) -> None:
        """Fresh tables for the new version, from position 0 (an older build that never
        finished is dropped)."""
        with self.database.transaction() as cursor:
            if abandoned is not None:
                for table in beside.table_names:
                    cursor.execute(f"DROP TABLE IF EXISTS {table}_v{abandoned}")
                forget_tracking(cursor, beside.tracking, building_name(name, abandoned))
            for table in beside.table_names:
                cursor.execute(f"DROP TABLE IF EXISTS {table}{beside.suffix}")
            forget_tracking(cursor, beside.tracking, building_name(name, beside.version))
            for statement in beside.ddl():
                cursor.execute(statement)
            cursor.execute(
                "UPDATE read_model_versions SET building = %s WHERE name = %s",
                (beside.version, name),
            )
        log.info("read model %s: building version %d beside the live one", name, beside.version)

    def _set(self, name: str, live: int, building: int | None) -> None:
        self.database.run(
            "INSERT INTO read_model_versions (name, live, building) VALUES (%s, %s, %s)",
            (name, live, building),
        )

    def _exists(self, table: str) -> bool:
        if self.database.kind == "sqlite":
            sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s"
        else:
            sql = "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = %s"
        return bool(self.database.run(sql, (table,)))


def _max_position(cursor: Cursor, tracking: str, name: str) -> int:
    cursor.execute(
        f"SELECT MAX(notification_id) AS position FROM {tracking}"  # noqa: S608  (our names)
        " WHERE application_name = %s", (name,),
    )
    row = cursor.fetchone()
    return (row or {}).get("position") or 0
