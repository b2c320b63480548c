"""`audit verify` at scale (issue 19), on PostgreSQL, in one run:

    python -m bench.audit_verify [--accounts 2000] [--tree-size 1000000] [--proofs 1000]

1. 100,000 events (2,000 accounts of 50 events: the first with sealed personal fields, the
   others alert changes, so each account is snapshotted 5 times), written in bulk through the
   application, so every one is chained and sealed as in production; every read model caught up.
2. The full `audit verify` (chain, snapshots, replay of the four read models and comparison),
   against reading the log and against reading and decoding it: each limit measured just before
   and just after the verify, the lower of the two taken (the kinder limit for the verify).
   As shipped, the walk runs in a process of its own on two cores; the same verify in one
   process is measured next, for the record.
3. The checkpoint printed, 1 % more events, then `audit verify --since` that checkpoint, against
   a full `audit verify` of the same log just after it.
4. A 1,000,000-leaf audit tree in a second database (synthetic leaves: a proof reads the tree
   alone), written through the tree's own batches, then inclusion proofs of random positions
   asked over HTTP with an auditor's token: p99 time, the most hashes, each proof verified.

Writes bench/results/audit-verify.md and prints it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from eventsourcing.persistence import Tracking

from adapters.audit_verify import verify_everything, verify_since_checkpoint
from app import create_app
from bench.common import bench_settings
from bench.layout import ROOT, scratch_database
from bootstrap import bootstrap
from domain import merkle
from domain.account import Account
from projections.runner import catch_up

OUT = ROOT / "bench" / "results" / "audit-verify.md"
EVENTS_EACH = 50
# The bounds.
FULL_OVER_DECODING = 0.25
INCREMENTAL_OVER_FULL = 0.03
PROOF_P99_MS, PROOF_HASHES = 10.0, 21


def populate(services, accounts: int, first: int = 0) -> None:
    lifecycle = services.lifecycle
    now = datetime.now(UTC)
    for n in range(first, first + accounts):
        account = Account(
            identifier=str(20_000_000 + n), member_number=f"B{n:07d}", member_key=uuid.uuid4(),
            email=f"b{n}@example.org", sections=["health"], registration_id=uuid.uuid4(),
            secret_question="Ville natale ?", secret_answer_hash=None, actor="system:bench",
            timestamp=now,
        )
        for _ in range(EVENTS_EACH - 1):
            account.set_alerts(not account.alerts_reimbursements, now)
        lifecycle.save(account)
    for projection in services.projections.projections:  # the live read models current
        while catch_up(lifecycle, projection, batch=2000):
            pass


def seconds(operation: Callable[[], object]) -> float:
    started = time.perf_counter()
    operation()
    return time.perf_counter() - started


def read_log(services, decode: bool) -> None:
    recorder, mapper = services.lifecycle.recorder, services.lifecycle.mapper
    start = 1
    while notifications := recorder.select_notifications(start=start, limit=1000):
        if decode:
            mapper.to_domain_events(notifications)
        start = notifications[-1].id + 1


def verified(services, note: str | None = None, processes: int | None = None) -> None:
    quiet = lambda _line: None  # noqa: E731
    if note is None:
        problems = verify_everything(services, say=quiet, run_by="bench", processes=processes)
    else:
        problems = verify_since_checkpoint(services, note, say=quiet, run_by="bench")
    assert not problems, problems[:5]


def verify_figures(url: str, tmp: str, accounts: int) -> dict[str, float]:
    services = bootstrap(bench_settings(tmp, url))
    try:
        services.projections.stop()
        figures = {"populate_s": seconds(lambda: populate(services, accounts))}
        events = figures["events"] = services.lifecycle.recorder.max_notification_id() or 0
        raw = seconds(lambda: read_log(services, decode=False))
        decoding = seconds(lambda: read_log(services, decode=True))
        full = seconds(lambda: verified(services))
        raw = min(raw, seconds(lambda: read_log(services, decode=False)))
        decoding = min(decoding, seconds(lambda: read_log(services, decode=True)))
        # For the record: the same run with the walk in the command's own process (the
        # default below APART_FROM events, or on one core), with its limit around it too.
        one = seconds(lambda: verified(services, processes=1))
        decoding_one = min(decoding, seconds(lambda: read_log(services, decode=True)))
        figures.update(raw=events / raw, decoded=events / decoding, full=events / full,
                       one=events / one, decoded_one=events / decoding_one)

        services.audit_proofs.catch_up(services.lifecycle)
        note = services.audit_proofs.checkpoint().note
        populate(services, accounts // 100, first=accounts)  # 1 % more
        figures["new_events"] = (services.lifecycle.recorder.max_notification_id() or 0) - events
        figures["incremental_s"] = seconds(lambda: verified(services, note))
        figures["full_after_s"] = seconds(lambda: verified(services))
        return figures
    finally:
        services.close()


def proof_figures(url: str, tmp: str, size: int, proofs: int) -> dict[str, float]:
    app = create_app(bench_settings(tmp, url))
    services = app.extensions["accounts"]
    try:
        services.projections.stop()  # the log is empty: the tree is written here alone
        tree = services.audit_tree
        started = time.perf_counter()
        for first in range(0, size, 10_000):
            with tree.batch():
                for leaf in range(first, min(size, first + 10_000)):
                    tree.append(Tracking("audit_tree", leaf + 1), _entry(leaf))
        built = time.perf_counter() - started
        root = services.audit_proofs.checkpoint().root
        token = services.staff_tokens.create("bench-auditor", "auditor")
        client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
        samples, most = [], 0
        picks = random.Random(19)
        for n in range(proofs + 50):
            leaf = picks.randrange(size)
            began = time.perf_counter()
            answer = client.get(f"/api/v1/audit/events/{leaf + 1}/inclusion",
                                query_string={"size": size}, headers=headers)
            elapsed = (time.perf_counter() - began) * 1000
            assert answer.status_code == 200, answer.get_data(as_text=True)
            hashes = [base64.b64decode(h) for h in answer.json["hashes"]]
            assert merkle.verify_inclusion(merkle.leaf_hash(_entry(leaf)), leaf, size, hashes,
                                           root)
            if n >= 50:  # after a few to warm up
                samples.append(elapsed)
                most = max(most, len(hashes))
        samples.sort()
        return {"tree_built_s": built, "proof_p50": statistics.median(samples),
                "proof_p99": samples[int(len(samples) * 0.99) - 1], "proof_hashes": most}
    finally:
        services.close()


def _entry(leaf: int) -> bytes:
    return hashlib.sha256(leaf.to_bytes(8, "big")).digest()


def report(v: dict[str, float], p: dict[str, float], tree_size: int, proofs: int) -> str:
    events, full_s = int(v["events"]), v["events"] / v["full"]
    over_decoding = v["full"] / v["decoded"]
    incremental = v["incremental_s"] / v["full_after_s"]
    met = lambda ok: "yes" if ok else "**no**"  # noqa: E731
    return "\n".join([
        "# `audit verify` at scale: full, incremental, inclusion proofs (PostgreSQL)", "",
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python -m bench.audit_verify`;"
        f" {events:,} events ({events // EVENTS_EACH:,} accounts of {EVENTS_EACH},"
        f" written in {v['populate_s']:.0f} s).", "",
        "| figure | measured | bound | met |", "|---|---|---|---|",
        f"| reading the log alone | {v['raw']:,.0f} events/s | | |",
        f"| reading and decoding (unsealing) it | {v['decoded']:,.0f} events/s | | |",
        f"| full `audit verify` | {v['full']:,.0f} events/s ({full_s:.1f} s) | | |",
        f"| full verify ÷ reading and decoding | {over_decoding:.3f} | ≥ {FULL_OVER_DECODING}"
        f" | {met(over_decoding >= FULL_OVER_DECODING)} |",
        f"| the same in one process (the walk not apart: one core) | {v['one']:,.0f} events/s,"
        f" {v['one'] / v['decoded_one']:.3f} of reading and decoding | | |",
        f"| `audit verify --since` after {int(v['new_events']):,} new events (1 %)"
        f" | {v['incremental_s']:.2f} s | | |",
        f"| full `audit verify` of the same log | {v['full_after_s']:.1f} s | | |",
        f"| incremental ÷ full | {incremental:.4f} | ≤ {INCREMENTAL_OVER_FULL}"
        f" | {met(incremental <= INCREMENTAL_OVER_FULL)} |",
        f"| inclusion proof, {tree_size:,}-leaf tree, p99 of {proofs:,} over HTTP"
        f" | {p['proof_p99']:.2f} ms (p50 {p['proof_p50']:.2f}) | ≤ {PROOF_P99_MS:g} ms"
        f" | {met(p['proof_p99'] <= PROOF_P99_MS)} |",
        f"| hashes in the largest proof | {int(p['proof_hashes'])} | ≤ {PROOF_HASHES}"
        f" | {met(p['proof_hashes'] <= PROOF_HASHES)} |",
        f"| writing the {tree_size:,}-leaf tree (its own batches) | {p['tree_built_s']:.0f} s"
        f" ({tree_size / p['tree_built_s']:,.0f} leaves/s) | | |",
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--tree-size", type=int, default=1_000_000)
    parser.add_argument("--proofs", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with scratch_database() as url:
            verify = verify_figures(url, tmp, args.accounts)
        with scratch_database() as url:
            proofs = proof_figures(url, str(Path(tmp) / "tree"), args.tree_size, args.proofs)
    text = report(verify, proofs, args.tree_size, args.proofs)
    OUT.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
