"""What an auditor asks of the audit tree: the signed checkpoint of the log as it stands, an
event's inclusion proof, the consistency proof between two sizes. The tree is a read model
(projections/audit_tree.py): a size is the tree's, which follows the log within moments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.application import Application

from adapters.checkpoints import CheckpointSigner
from domain import merkle
from domain.errors import FieldError  # a size the tree has not reached, or that names no proof
from projections.audit_tree import AuditTree, AuditTreeView
from projections.runner import catch_up


class NotInTheTreeError(LookupError):
    """No event at that position (or not yet in the tree)."""


@dataclass(frozen=True)
class SignedCheckpoint:
    size: int
    root: bytes
    note: str


@dataclass(frozen=True)
class PublishedCheckpoint(SignedCheckpoint):
    published_at: datetime


@dataclass(frozen=True)
class InclusionProof:
    position: int
    leaf_index: int
    size: int
    hashes: list[bytes]


class AuditProofs:
    def __init__(self, tree: AuditTreeView, signer: CheckpointSigner):
        self.tree = tree
        self.signer = signer

    def catch_up(self, app: Application[Any]) -> None:
        """The tree up to the log's head as it is now (for a command, where no runner
        runs): a checkpoint then covers every event recorded before it was asked for."""
        head = app.recorder.max_notification_id() or 0
        projection = AuditTree(self.tree)
        while catch_up(app, projection, stop=head):
            pass

    def checkpoint(self) -> SignedCheckpoint:
        size = self.tree.size()
        [root] = self.tree.hashes(merkle.root_ranges(size))
        return SignedCheckpoint(size, root, self.signer.sign(size, root))

    def inclusion(self, position: int, size: int) -> InclusionProof:
        leaf_index = self.tree.leaf_index(position)
        if leaf_index is None:
            raise NotInTheTreeError(position)
        self._within(size, "size")
        if leaf_index >= size:
            raise FieldError(
                "size", f"L'événement {position} est la feuille {leaf_index} : il n'est pas "
                f"dans l'arbre des {size} premières."
            )
        ranges = merkle.inclusion_ranges(leaf_index, size)
        return InclusionProof(position, leaf_index, size, self.tree.hashes(ranges))

    def publish(self, now: datetime) -> SignedCheckpoint | None:
        """Signs the tree as it stands and keeps the note (audit_checkpoints), unless the
        last one published is of the same size; the one published, or None."""
        signed, last = self.checkpoint(), self.published(limit=1)
        if signed.size == 0 or (last and last[0].size >= signed.size):
            return None
        self.tree.database.run(
            "INSERT INTO audit_checkpoints (tree_size, root_hash, note, published_at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (tree_size) DO NOTHING",
            (signed.size, signed.root.hex(), signed.note, now.isoformat()),
        )
        return signed

    def published(self, limit: int = 20) -> list[PublishedCheckpoint]:
        """The checkpoints published, the latest first."""
        rows = self.tree.database.run(
            "SELECT tree_size, root_hash, note, published_at FROM audit_checkpoints"
            " ORDER BY tree_size DESC LIMIT %s", (limit,),
        )
        return [
            PublishedCheckpoint(row["tree_size"], bytes.fromhex(row["root_hash"]), row["note"],
                                datetime.fromisoformat(row["published_at"]))
            for row in rows
        ]

    def consistency(self, first: int, second: int) -> list[bytes]:
        if first > second:
            raise FieldError("from", "`from` ne peut pas dépasser `to`.")
        self._within(second, "to")
        return self.tree.hashes(merkle.consistency_ranges(first, second))

    def _within(self, size: int, field: str) -> None:
        current = self.tree.size()
        if size > current:
            raise FieldError(
                field, f"Le journal ne compte que {current} événement(s) dans l'arbre."
            )
