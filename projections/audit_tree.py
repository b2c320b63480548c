"""The auditors' Merkle tree (RFC 9162) over every event's stored hash, in log order.

Leaf i is the i-th event of the notification log (the global feed): the projection is fed in
that order, so a leaf's index is the count of leaves before it, whatever gaps PostgreSQL leaves
in the positions. Appending a leaf writes the leaf and the subtrees it completes, at most
log2(n) + 1 rows, never rewrites one; the tree of any size, and any proof, is read from the
O(log n) complete subtrees it is made of (domain/merkle.py). Hashes are kept as hex text, as
the audit index keeps the events' own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain import merkle
from projections.view import View


class AuditTreeView(View):
    tables = (
        """CREATE TABLE IF NOT EXISTS audit_tree_leaves (
            leaf_index BIGINT PRIMARY KEY,
            position BIGINT NOT NULL UNIQUE
        )""",
        # level 0 holds the leaves' hashes; node_index n of level l covers the leaves
        # [n * 2^l, (n + 1) * 2^l).
        """CREATE TABLE IF NOT EXISTS audit_tree_nodes (
            level INTEGER NOT NULL,
            node_index BIGINT NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (level, node_index)
        )""",
    )
    table_names = ("audit_tree_leaves", "audit_tree_nodes")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Within a batch the rows are written at its end: the size and the subtrees appended
        # so far are carried here meanwhile, per thread like the batch itself.
        self._appending = threading.local()

    @contextmanager
    def batch(self) -> Iterator[None]:
        self._appending.size, self._appending.subtrees = None, {}
        try:
            with super().batch():
                yield
        finally:
            self._appending.size = self._appending.subtrees = None

    def append(self, tracking: Tracking, entry: bytes) -> None:
        """Leaf number `size` for the event at the tracking's position, whose stored hash is
        `entry`, and the subtrees it completes."""
        pending = getattr(self._appending, "subtrees", None)
        batched = pending is not None
        size = self._appending.size if batched else None
        if size is None:
            size = self.size(named=True)
        siblings = merkle.left_siblings(size)
        known = {s: pending[s] for s in siblings if s in (pending or {})}
        known.update(self.subtrees([s for s in siblings if s not in known], named=True))
        completed = merkle.completed_by(size, merkle.leaf_hash(entry), known)
        self.record(tracking, [
            ("INSERT INTO audit_tree_leaves (leaf_index, position) VALUES (%s, %s)",
             [size, tracking.notification_id]),
            *(("INSERT INTO audit_tree_nodes (level, node_index, hash) VALUES (%s, %s, %s)",
               [level, index, digest.hex()]) for (level, index), digest in completed),
        ])
        if batched:
            pending.update(completed)
            self._appending.size = size + 1

    # Reads.

    def size(self, *, named: bool = False) -> int:
        """How many leaves the tree has (the highest index, not a count: PostgreSQL counts
        by reading every row)."""
        sql = "SELECT MAX(leaf_index) AS last FROM audit_tree_leaves"
        rows = self.database.run(self._named(sql) if named else sql)
        last = rows[0]["last"] if rows else None
        return 0 if last is None else int(last) + 1

    def leaf_index(self, position: int) -> int | None:
        rows = self.database.run(
            "SELECT leaf_index FROM audit_tree_leaves WHERE position = %s", (position,)
        )
        return int(rows[0]["leaf_index"]) if rows else None

    def position(self, leaf_index: int) -> int | None:
        rows = self.database.run(
            "SELECT position FROM audit_tree_leaves WHERE leaf_index = %s", (leaf_index,)
        )
        return int(rows[0]["position"]) if rows else None

    def subtrees(
        self, wanted: Iterable[merkle.Subtree], *, named: bool = False
    ) -> dict[merkle.Subtree, bytes]:
        wanted = sorted(set(wanted))
        if not wanted:
            return {}
        # Placeholders only: the values are bound.
        sql = "SELECT level, node_index, hash FROM audit_tree_nodes WHERE " + " OR ".join(  # noqa: S608
            ["(level = %s AND node_index = %s)"] * len(wanted)
        )
        rows = self.database.run(
            self._named(sql) if named else sql, [v for pair in wanted for v in pair]
        )
        return {(int(r["level"]), int(r["node_index"])): bytes.fromhex(r["hash"]) for r in rows}

    def hashes(self, ranges: list[merkle.Range]) -> list[bytes]:
        """MTH of each range, from the stored subtrees (the ranges lie within the tree)."""
        return merkle.hashes_of(ranges, self.subtrees(merkle.subtrees_for(ranges)))

    def all_rows(self) -> dict[str, list[dict[str, Any]]]:
        with self.database.transaction(commit=False) as cursor:
            cursor.execute("SELECT * FROM audit_tree_leaves ORDER BY leaf_index")
            leaves = cursor.fetchall()
            cursor.execute("SELECT * FROM audit_tree_nodes ORDER BY level, node_index")
            nodes = cursor.fetchall()
        return {"audit_tree_leaves": leaves, "audit_tree_nodes": nodes}


class AuditTree(Projection[AuditTreeView]):
    name = "audit_tree"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        # Every event is a leaf: the chain's hash of its stored form (adapters/event_store.py).
        self.view.append(tracking, bytes.fromhex(domain_event._hash))
