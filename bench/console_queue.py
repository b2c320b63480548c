"""The console's queue page (GET /support/queue, its first page, the chart above it) with 100
and with 100,000 open items, in the same run (issue 18: ≤ 3 ×).

    .venv/bin/python -m bench.console_queue [--requests N]      (SQLite, then PostgreSQL)

The Flask test client, signed in as a support agent, on a scratch SQLite file and a scratch
PostgreSQL database (bench/layout.py). The items are written straight into the read model's
table in bulk, and the flow the console counts and charts from derived from them
(projections/support_queue_flow.py), the projection bypassed: the figure is about
reading the queue, not about building it. They are spread over the
last 60 days, of the four kinds the chart shows, a tenth of them closed, as a queue that has
lived would be. Appends its table to bench/results/console-queue.md.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta

from app import create_app
from bench.common import bench_settings
from bench.layout import ROOT, scratch_database
from bench.report import machine
from projections.support_queue_flow import flow_from_items

RESULTS = ROOT / "bench" / "results" / "console-queue.md"
SIZES = (100, 100_000)
KINDS = ("identity_review", "email_update", "closure", "other")
BOUND = 3.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SPREAD = timedelta(days=60)
COLUMNS = "item_id, seq, kind, status, created_at, closed_at, summary, details"


def rows(count: int, now: datetime) -> list[tuple]:
    """`count` open items (and a tenth as many closed ones), oldest first."""
    step = SPREAD / (count * 1.1)
    made = []
    for n in range(int(count * 1.1)):
        created = now - SPREAD + step * n
        closed = (created + timedelta(hours=5)).isoformat() if n % 11 == 10 else None
        made.append((str(uuid.uuid4()), n + 1, KINDS[n % len(KINDS)],
                     "closed" if closed else "open", created.isoformat(), closed,
                     f"Demande n° {n} : changement d'adresse e-mail demandé par Louise Martin",
                     json.dumps({"message": "Bonjour, " * 10})))
    return made


def fill(services, count: int) -> None:
    with services.database.transaction() as cursor:
        cursor.execute("DELETE FROM support_queue_items")
        made = rows(count, services.clock())
        for start in range(0, len(made), 1000):
            chunk = made[start:start + 1000]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO support_queue_items ({COLUMNS}) VALUES " + values,  # noqa: S608
                [value for row in chunk for value in row],
            )
    flow_from_items(services.database)  # what the projection keeps beside the items
    if services.database.kind == "postgresql":
        services.database.run("ANALYZE support_queue_items")  # as autovacuum soon would


def signed_in(app, services):
    client = app.test_client()
    token = services.staff_tokens.create("bench-agent", "support")
    page = client.get("/support/").get_data(as_text=True)
    answer = client.post("/support/", data={"token": token,
                                            "csrf_token": CSRF.search(page).group(1)})
    assert answer.status_code == 302, answer.status_code
    return client


def page_ms(client, requests: int) -> tuple[float, float]:
    """Median and 90th percentile of the first page's time, after a few to warm up."""
    samples = []
    for n in range(requests + 10):
        started = time.perf_counter()
        answer = client.get("/support/queue")
        elapsed = (time.perf_counter() - started) * 1000
        assert answer.status_code == 200, answer.status_code
        if n >= 10:
            samples.append(elapsed)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1]


def measure(database_url: str | None, requests: int) -> tuple[str, dict[int, tuple]]:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(bench_settings(tmp, database_url))
        services = app.extensions["accounts"]
        try:
            client = signed_in(app, services)
            services.projections.stop()  # nothing to project; its polls would only add noise
            results = {}
            for size in SIZES:
                fill(services, size)
                results[size] = page_ms(client, requests)
            return services.database.kind, results
        finally:
            services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    started = time.monotonic()
    lines = ["| store | p50 ms, 100 items | p50 ms, 100,000 items | ratio of p50s | ≤ 3"
             " | p90 ms, 100 / 100,000 |", "|---|---|---|---|---|---|"]
    passed = True
    with scratch_database() as postgres:
        for url in (None, postgres):
            kind, results = measure(url, args.requests)
            (small, small90), (large, large90) = results[SIZES[0]], results[SIZES[-1]]
            ratio = large / small
            passed &= ratio <= BOUND
            lines.append(f"| {kind} | {small:.2f} | {large:.2f} | {ratio:.2f}"
                         f" | {'yes' if ratio <= BOUND else '**no**'}"
                         f" | {small90:.2f} / {large90:.2f} |")
            print(lines[-1], flush=True)
    text = "\n".join([
        "# Console queue page: the first page with 100,000 open items against 100", "",
        f"`python -m bench.console_queue --requests {args.requests}`", "", *machine(),
        f"- GET /support/queue (its first page of 50, the tabs' counts and the 30-day chart),"
        f" Flask test client signed in as an agent, {args.requests} requests after 10 to warm"
        f" up; items written straight into the read model, over 60 days, a tenth closed"
        f" (whole run {time.monotonic() - started:.0f} s)", "", *lines, "",
        f"Ratio ≤ {BOUND:g} on both stores: {'yes' if passed else '**no**'}.",
    ])
    with RESULTS.open("a", encoding="utf-8") as results:
        results.write(text + "\n\n")
    print(text)


if __name__ == "__main__":
    main()
