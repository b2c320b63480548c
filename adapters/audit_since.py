"""`audit verify --since FILE`: from a checkpoint an auditor saved, check that today's log
extends it, then verify only the events recorded after it, at a cost proportional to them.

The checkpoint's signature and root commit to the first `size` leaves; the stored subtrees
that make its root are checked against it, and the RFC 9162 consistency proof from it to
today's tree is verified. The events after it are then read once, from the event store: each
one's chain link (the one event before it in its stream is read when it is older), its hash
against the audit index, its leaf against the stored tree, and every subtree of the tree those
leaves complete is recomputed from them and compared with the stored row. The audit index's
rows for the new events are rebuilt from them and compared (audit_replay.verify_audit_since).

Left to the full `audit verify`: the events before the checkpoint (changed in the event store
without the tree being rebuilt, they still agree with the checkpoint here), the snapshots, and
the support queue's and portal's rows, which sum up whole histories and cannot be rebuilt
from the new events alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from adapters.audit_chain import ChainReport, check_link, deleted, named, seed_predecessors
from adapters.audit_replay import verify_audit_since
from adapters.checkpoints import Checkpoint, CheckpointError, b64, open_checkpoint
from adapters.event_store import event_hash
from domain import merkle
from projections.audit import AuditIndex
from projections.runner import catch_up

if TYPE_CHECKING:
    from bootstrap import Services
    from projections.audit_tree import AuditTreeView

BATCH = 1000


@dataclass
class SinceReport:
    size: int = 0  # the checkpoint's
    head_size: int = 0  # today's tree's
    chain: ChainReport = field(default_factory=ChainReport)
    problems: list[str] = field(default_factory=list)


def verify_since(s: Services, note: str, say: Callable[[str], None]) -> SinceReport:
    report = SinceReport()
    signer = s.audit_proofs.signer
    try:
        checkpoint = open_checkpoint(note, signer.origin, signer.public_key)
    except CheckpointError as error:
        report.problems.append(f"checkpoint: {error}")
        return report
    report.size = checkpoint.size
    for rebuild in s.read_models.rebuilds:  # the live tables are an older version's
        if rebuild.name in ("audit", "audit_tree"):
            report.problems.append(f"read model {rebuild.name}: version {rebuild.version} is"
                                   " being built; `flask --app app db upgrade` finishes it")
    if report.problems:
        return report
    s.audit_proofs.catch_up(s.lifecycle)
    report.head_size = n = s.audit_tree.size()
    # The run covers the tree as caught up: events recorded meanwhile are the next run's.
    head = (s.audit_tree.position(n - 1) or 0) if n else 0
    while catch_up(s.lifecycle, AuditIndex(s.audit), stop=head):
        pass
    if not _extends(s, checkpoint, report):
        return report  # what follows would only restate it, leaf after leaf
    say(f"audit tree: {n} events, extending the checkpoint's {checkpoint.size}")
    after = s.audit_tree.position(checkpoint.size - 1) if checkpoint.size else 0
    if after is None:
        report.problems.append(f"audit tree: no leaf {checkpoint.size - 1}, the checkpoint's last")
        return report
    _walk(s, checkpoint, after, head, report)
    say(f"hash chain and tree: {report.chain.checked} events after the checkpoint checked")
    try:
        differences = verify_audit_since(s.lifecycle, s.audit, after, head)
        report.problems += differences
        say("audit index: its rows for those events rebuilt and compared")
    except Exception as error:  # a tampered event may not even decode: say so, do not crash
        report.problems.append(f"audit index check failed: {type(error).__name__}: {error}")
    return report


def _extends(s: Services, checkpoint: Checkpoint, report: SinceReport) -> bool:
    m, n, tree = checkpoint.size, report.head_size, s.audit_tree
    old = f"the checkpoint's {m} events (root {b64(checkpoint.root)})"
    if m > n:
        report.problems.append(f"checkpoint: the log's tree holds {n} events, fewer than {old}")
        return False
    if m == 0:
        extends = checkpoint.root == merkle.empty_root()
    else:
        # The subtrees the new leaves hang from must be the checkpoint's, and the RFC's proof
        # must take its root to today's.
        try:
            [now] = tree.hashes(merkle.root_ranges(n))
            proof = s.audit_proofs.consistency(m, n)
            extends = (tree.hashes(merkle.root_ranges(m)) == [checkpoint.root]
                       and merkle.verify_consistency(m, n, checkpoint.root, now, proof))
        except KeyError:  # a subtree the proof needs is not stored
            extends = False
    if not extends:
        report.problems.append(
            f"checkpoint: today's log of {n} events does not extend {old}: events it covers"
            " were changed, removed, inserted or reordered, or the log was rewritten from"
            " one of them on")
    return extends


def _walk(
    s: Services, checkpoint: Checkpoint, after: int, head: int, report: SinceReport
) -> None:
    """Every event after the checkpoint's last, once: chain, audit index, tree."""
    app, tree, chain = s.lifecycle, s.audit_tree, report.chain
    m = checkpoint.size
    frontier = tree.subtrees(merkle.decompose(0, m))  # what leaf m onwards hang from
    hashes: dict[UUID, str] = {}
    indexed = s.audit.max_tracking_id("audit") or 0
    leaves_seen, leaves_agree = 0, True
    start = after + 1
    while notifications := app.recorder.select_notifications(start=start, limit=BATCH, stop=head):
        last = notifications[-1].id
        recorded = s.audit.recorded_hashes(start, last)
        leaves = _stored_leaves(tree, start, last)
        leaves_seen += len(leaves)
        seed_predecessors(app, notifications, chain, hashes)
        entries = []
        for stored in notifications:
            chain.problems.extend(check_link(stored, chain, hashes, recorded, indexed))
            entry = bytes.fromhex(event_hash(stored))
            entries.append(entry)
            leaf = leaves.pop(stored.id, None)
            if leaf is None:
                leaves_agree = False
                report.problems.append(f"{named(stored)}: not in the audit tree (inserted"
                                       " behind the log's back, or moved there)")
            elif leaf[1] != merkle.leaf_hash(entry):
                leaves_agree = False
                report.problems.append(f"{named(stored)}: is not the event the audit tree"
                                       " recorded at this position (changed, or moved)")
            chain.checked += 1
        gone = deleted(recorded)
        chain.problems.extend(gone)
        leaves_agree &= not leaves and not gone
        report.problems.extend(_lost_leaves(leaves, recorded))
        if leaves_agree:
            report.problems.extend(_nodes_agree(tree, m + chain.checked - len(entries), entries,
                                                frontier))
        start = last + 1
    # Past the store's last event, the index and the tree may still know some it lost.
    recorded, leaves = s.audit.recorded_hashes(start, head), _stored_leaves(tree, start, head)
    leaves_seen += len(leaves)
    chain.problems.extend(deleted(recorded))
    report.problems.extend(_lost_leaves(leaves, recorded))
    report.problems[:0] = chain.problems
    n = report.head_size
    if leaves_seen != n - m:
        report.problems.append(
            f"audit tree: {n - m} leaves after the checkpoint, but"
            f" {leaves_seen} of them name an event after it")
    elif leaves_agree and chain.checked == n - m and 0 < m < n:
        # Today's root as the checkpoint's subtrees and the new events themselves give it,
        # not as stored, must be what the proof leads to.
        root = merkle.range_hash(0, n, frontier)
        if not merkle.verify_consistency(
            m, n, checkpoint.root, root, s.audit_proofs.consistency(m, n)
        ):
            report.problems.append("audit tree: the root the new events give does not extend"
                                   " the checkpoint")


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
    tree: AuditTreeView, first: int, entries: list[bytes], frontier: dict[merkle.Subtree, bytes]
) -> list[str]:
    """The subtrees leaves first.. complete, recomputed from the events, against the stored
    rows; `frontier` (the complete subtrees left of the next leaf) is carried on."""
    expected: dict[merkle.Subtree, bytes] = {}
    for offset, entry in enumerate(entries):
        index = first + offset
        completed = merkle.completed_by(index, merkle.leaf_hash(entry), frontier)
        expected.update(completed)
        frontier.update(completed)
        keep = set(merkle.decompose(0, index + 1))
        for subtree in [t for t in frontier if t not in keep]:
            del frontier[subtree]
    stored = _stored_nodes(tree, first, first + len(entries))
    return [f"audit tree node at level {level}, index {index}: "
            + ("differs from what the events give" if (level, index) in expected
               else "completed by no event")
            for (level, index) in sorted(expected.keys() | stored.keys())
            if stored.get((level, index)) != expected.get((level, index))]


def _stored_nodes(tree: AuditTreeView, first: int, end: int) -> dict[merkle.Subtree, bytes]:
    """The stored subtrees completed by leaves first..end-1: (level, k) is completed by leaf
    (k + 1)·2^level − 1, so one index range per level."""
    found: dict[merkle.Subtree, bytes] = {}
    for level in range(end.bit_length()):
        low, high = -(-(first + 1) // (1 << level)) - 1, (end >> level) - 1
        if low > high:
            continue
        rows = tree.database.run(
            "SELECT node_index, hash FROM audit_tree_nodes WHERE level = %s"
            " AND node_index BETWEEN %s AND %s", (level, low, high),
        )
        found.update({(level, int(r["node_index"])): bytes.fromhex(r["hash"]) for r in rows})
    return found
