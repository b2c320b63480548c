"""`audit verify --since FILE`: from a checkpoint an auditor saved, check that today's log
extends it, then verify only the events recorded after it, at a cost proportional to them.

The checkpoint's signature and root commit to the first `size` leaves; the stored subtrees
that make its root are checked against it, and the RFC 9162 consistency proof from it to
today's tree is verified. The events after it are then read once, from the event store, as a
full run reads them all (audit_walk.py): chain link, audit index hash, leaf, the subtrees it
completes. The audit index's rows for the new events are rebuilt from them and compared
(audit_replay.verify_audit_since).

Left to the full `audit verify`: the events before the checkpoint (changed in the event store
without the tree being rebuilt, they still agree with the checkpoint here), the snapshots, and
the support queue's and portal's rows, which sum up whole histories and cannot be rebuilt
from the new events alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from adapters.audit_replay import verify_audit_since
from adapters.audit_walk import WalkReport, walk
from adapters.checkpoints import Checkpoint, CheckpointError, b64, open_checkpoint
from domain import merkle
from projections.audit import AuditIndex
from projections.runner import catch_up

if TYPE_CHECKING:
    from bootstrap import Services


# The incremental run's report is the walk's, the checkpoint's size as the leaves verified.
SinceReport = WalkReport


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
    walk(s, report, after, head, root=checkpoint.root)
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
