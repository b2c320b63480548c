"""The walk of the log that full and incremental `audit verify` share: from a leaf of the
audit tree on (the first for a full run, the one after the auditor's checkpoint for `--since`),
each event read once from the event store: its chain link (the one event before it in its
stream read when it is older), its hash against the audit index, its leaf against the stored
tree, and every subtree of the tree those leaves complete recomputed from them and compared
with the stored row. The tree is never rebuilt: what it takes is a few subtrees at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from adapters.audit_chain import ChainReport, check_link, deleted, named, seed_predecessors
from adapters.event_store import as_uuid
from adapters.progress import Progress, no_progress
from adapters.read_ahead import read_ahead
from domain import merkle

if TYPE_CHECKING:
    from bootstrap import Services
    from projections.audit_tree import AuditTreeView

BATCH = 1000


@dataclass
class WalkReport:
    size: int = 0  # the leaves taken as verified (the checkpoint's; 0 for a full run)
    head_size: int = 0  # today's tree's
    chain: ChainReport = field(default_factory=ChainReport)
    problems: list[str] = field(default_factory=list)


def walk(
    s: Services, report: WalkReport, after: int, head: int, root: bytes | None = None,
    progress: Progress = no_progress,
    each_batch: Callable[[Sequence[Any]], Sequence[Any] | None] | None = None,
) -> None:
    """Every event after position `after` (the last of the first `report.size` leaves) up
    to `head`, once: its chain link, its hash against the audit index, its leaf and the
    subtrees it completes against the stored tree. `root`: the first leaves' root as the
    auditor's checkpoint gives it, which today's root, recomputed, must extend. `each_batch`
    is given each batch of stored events first (the full run decodes and replays them): the
    events it answers decoded are checked by the hashes and links decoding read, a batch it
    answers None for by the stored bytes."""
    app, tree, chain = s.lifecycle, s.audit_tree, report.chain
    m = report.size
    frontier = tree.subtrees(merkle.decompose(0, m))  # what leaf m onwards hang from
    hashes: dict[UUID, str] = {}
    indexed = s.audit.max_tracking_id("audit") or 0
    leaves_seen, leaves_agree = 0, True
    start = after + 1
    for notifications, recorded, leaves, stored_nodes in read_ahead(
            _batches(s, start, head, m)):
        last = notifications[-1].id
        leaves_seen += len(leaves)
        seed_predecessors(app, notifications, chain, hashes)
        events = each_batch(notifications) if each_batch is not None else None
        made = []  # the leaves the events make, in order
        for number, stored in enumerate(notifications):
            event = events[number] if events is not None else None
            chain.problems.extend(check_link(stored, chain, hashes, recorded, indexed, event))
            entry = bytes.fromhex(hashes[as_uuid(stored.originator_id)])  # its hash, just made
            made.append(merkle.leaf_hash(entry))
            leaf = leaves.pop(stored.id, None)
            if leaf is None:
                leaves_agree = False
                report.problems.append(f"{named(stored)}: not in the audit tree (inserted"
                                       " behind the log's back, or moved there)")
            elif leaf[1] != made[-1]:
                leaves_agree = False
                report.problems.append(f"{named(stored)}: is not the event the audit tree"
                                       " recorded at this position (changed, or moved)")
            chain.checked += 1
        gone = deleted(recorded)
        chain.problems.extend(gone)
        leaves_agree &= not leaves and not gone
        report.problems.extend(_lost_leaves(leaves, recorded))
        if leaves_agree:
            report.problems.extend(_nodes_agree(m + chain.checked - len(made), made, frontier,
                                                stored_nodes))
        start = last + 1
        progress("events", last, head)
    # Past the store's last event, the index and the tree may still know some it lost.
    recorded, leaves = s.audit.recorded_hashes(start, head), _stored_leaves(tree, start, head)
    leaves_seen += len(leaves)
    chain.problems.extend(deleted(recorded))
    report.problems.extend(_lost_leaves(leaves, recorded))
    report.problems[:0] = chain.problems
    n = report.head_size
    if leaves_seen != n - m:
        report.problems.append(
            f"audit tree: {n - m} leaves from leaf {m} on, but {leaves_seen} of them name an"
            f" event after position {after}")
    elif leaves_agree and chain.checked == n - m and 0 < m < n and root is not None:
        # Today's root as the checkpoint's subtrees and the new events themselves give it,
        # not as stored, must be what the proof leads to.
        today = merkle.range_hash(0, n, frontier)
        if not merkle.verify_consistency(m, n, root, today, s.audit_proofs.consistency(m, n)):
            report.problems.append("audit tree: the root the new events give does not extend"
                                   " the checkpoint")


def _batches(s: Services, start: int, head: int, m: int) -> Iterator[tuple[Any, ...]]:
    """Each batch of the log from position `start` to `head`, with what the walk compares it
    with: the audit index's hashes, the tree's leaves, the subtrees its leaves complete (the
    first of them is leaf m)."""
    app, tree, first = s.lifecycle, s.audit_tree, m
    while notifications := app.recorder.select_notifications(start=start, limit=BATCH, stop=head):
        last = notifications[-1].id
        yield (notifications, s.audit.recorded_hashes(start, last),
               _stored_leaves(tree, start, last),
               _stored_nodes(tree, first, first + len(notifications)))
        start, first = last + 1, first + len(notifications)


def _stored_leaves(tree: AuditTreeView, first: int, last: int) -> dict[int, tuple[int, bytes]]:
    """Position -> (leaf index, leaf hash) of the tree's leaves for positions first..last."""
    rows = tree.database.run(
        "SELECT l.position, l.leaf_index, n.hash FROM audit_tree_leaves l"
        " LEFT JOIN audit_tree_nodes n ON n.level = 0 AND n.node_index = l.leaf_index"
        " WHERE l.position BETWEEN %s AND %s", (first, last),
    )
    return {int(r["position"]): (int(r["leaf_index"]), bytes.fromhex(r["hash"] or ""))
            for r in rows}


def _lost_leaves(
    leaves: dict[int, tuple[int, bytes]], recorded: dict[int, dict[str, Any]]
) -> list[str]:
    # A leaf whose event the audit index also lost is named once, as deleted, by the chain.
    return [f"audit tree leaf {index}: position {position} is no longer in the event store"
            for position, (index, _) in sorted(leaves.items()) if position not in recorded]


def _nodes_agree(
    first: int, leaves: list[bytes], frontier: dict[merkle.Subtree, bytes],
    stored: dict[merkle.Subtree, bytes],
) -> list[str]:
    """The subtrees leaves first.. complete, recomputed from the events, against the stored
    rows; `frontier` (the complete subtrees left of the next leaf) is carried on."""
    expected: dict[merkle.Subtree, bytes] = {}
    for offset, leaf in enumerate(leaves):
        completed = merkle.completed_by(first + offset, leaf, frontier)
        expected.update(completed)
        frontier.update(completed)
    # Pruned once a batch, not once a leaf (a third of the walk's own time): what a leaf
    # hangs from is always there, the rest only waits for this.
    keep = set(merkle.decompose(0, first + len(leaves)))
    for subtree in [t for t in frontier if t not in keep]:
        del frontier[subtree]
    if stored == expected:  # as nearly always: the listing below only names what differs
        return []
    return [f"audit tree node at level {level}, index {index}: "
            + ("differs from what the events give" if (level, index) in expected
               else "completed by no event")
            for (level, index) in sorted(expected.keys() | stored.keys())
            if stored.get((level, index)) != expected.get((level, index))]


def _stored_nodes(tree: AuditTreeView, first: int, end: int) -> dict[merkle.Subtree, bytes]:
    """The stored subtrees completed by leaves first..end-1: (level, k) is completed by leaf
    (k + 1)·2^level − 1, so one index range per level."""
    ranges = []
    for level in range(end.bit_length()):
        low, high = -(-(first + 1) // (1 << level)) - 1, (end >> level) - 1
        if low <= high:
            ranges.append((level, low, high))
    if not ranges:
        return {}
    # One statement for every level (a round trip per level was a third of a full run's time).
    rows = tree.database.run(
        "SELECT level, node_index, hash FROM audit_tree_nodes WHERE "  # noqa: S608
        + " OR ".join(["(level = %s AND node_index BETWEEN %s AND %s)"] * len(ranges)),
        [value for bounds in ranges for value in bounds],
    )
    return {(int(r["level"]), int(r["node_index"])): bytes.fromhex(r["hash"]) for r in rows}
