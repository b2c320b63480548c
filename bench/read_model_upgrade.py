"""A read model's version bump on the million-account database: `flask --app app db upgrade`
rebuilds the audit index beside the live one and switches it in, while gunicorn serves /me.
Its time, and /me p99 (16 clients) before it and during its first minute, in the same run.

    python -m bench.read_model_upgrade [--quick] [--windows N]   (PostgreSQL, Redis, wrk)

bench/bulk.py leaves the read models empty, and a rebuild does the same work whatever the live
one holds (/me reads none of them), so the live ones are not built first: that would double
the run. Writes bench/results/read-model-upgrade.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

import psycopg

from bench import wrk
from bench.big_database import big_database
from bench.bulk import EVENTS_TABLE
from bench.common import bench_settings
from bench.layout import ROOT, Layout, free_port, layout_env
from bench.sections import REDIS, sign_in_token
from bootstrap import bootstrap

WINDOW = 10  # seconds per wrk run while the rebuild goes on
RESULTS = ROOT / "bench" / "results" / "read-model-upgrade.md"


def log_size(url: str) -> int:
    with psycopg.connect(url) as connection:
        return connection.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()[0]  # noqa: S608


def identifiers(url: str, count: int) -> list[str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            f"SELECT state FROM {EVENTS_TABLE} WHERE topic LIKE %s LIMIT %s",  # noqa: S608
            ("%Account.AccountOpened", count),
        ).fetchall()
    return [json.loads(bytes(row[0]))["identifier"] for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 accounts, not 1,000,000")
    parser.add_argument("--windows", type=int, default=6,
                        help=f"{WINDOW}-second /me measurements during the rebuild")
    args = parser.parse_args()
    quick = args.quick
    with tempfile.TemporaryDirectory() as tmp:
        url, _, note = big_database(tmp, quick)
        print(note, flush=True)
        bootstrap(bench_settings(tmp, url)).close()  # migrated, as the release would find it
        events = log_size(url)
        env = layout_env(tmp, url, REDIS, free_port(), free_port())
        with Layout(tmp, env, ("web",)) as layout:
            tokens = [sign_in_token(layout.url, i) for i in identifiers(url, 16)]
            wrk.run(layout.url, "me", 5, lines=tokens)  # warm
            before = wrk.run(layout.url, "me", 20, lines=tokens)
            # The bump: the database's audit index is taken for version 1, so the code's
            # version 2 is built beside it from position 0.
            with psycopg.connect(url) as connection:
                connection.execute("UPDATE read_model_versions SET live = 1 WHERE name = 'audit'")
            started = time.perf_counter()
            upgrade = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT,
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            during = []
            while upgrade.poll() is None and len(during) < args.windows:
                during.append(wrk.run(layout.url, "me", WINDOW, lines=tokens))
            upgrade.wait()
            rebuild_seconds = time.perf_counter() - started
            out, err = upgrade.communicate()
            if upgrade.returncode != 0:
                raise SystemExit(f"db upgrade failed: {err}")
            after = wrk.run(layout.url, "me", 20, lines=tokens)
    p99s = [load.p99_ms for load in during]
    lines = [
        "# A read model's version bump on the million-account database",
        "",
        "`python -m bench.read_model_upgrade" + (" --quick" if quick else "") + "`, "
        + datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "",
        f"- {note}; {events:,} events in the log",
        f"- `flask --app app db upgrade` (audit index, version 1 → 2, built beside the live one"
        f" and switched, /me under load for its first {len(during) * WINDOW} s):"
        f" {rebuild_seconds:.0f} s, {events / rebuild_seconds:,.0f} events/s",
        "",
        "| GET /api/v1/me, 16 clients | p50 ms | p99 ms | answers/s |",
        "|---|---|---|---|",
        f"| before (20 s) | {before.p50_ms:.1f} | {before.p99_ms:.1f}"
        f" | {before.ok_per_second:.0f} |",
        f"| during the rebuild ({len(during)} windows of {WINDOW} s; p99: median of windows,"
        f" worst {max(p99s):.1f}) | {statistics.median(d.p50_ms for d in during):.1f}"
        f" | {statistics.median(p99s):.1f}"
        f" | {statistics.median(d.ok_per_second for d in during):.0f} |",
        f"| after the switch (20 s) | {after.p50_ms:.1f} | {after.p99_ms:.1f}"
        f" | {after.ok_per_second:.0f} |",
        "",
        f"p99 during ÷ before: {statistics.median(p99s) / before.p99_ms:.2f}"
        f" (worst window {max(p99s) / before.p99_ms:.2f}).",
        f"Non-2xx answers during: {sum(d.non_2xx for d in during)} of"
        f" {sum(d.requests for d in during)}.",
        "",
        "`db upgrade` said:",
        "",
        *(f"    {line}" for line in out.splitlines()),
    ]
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
