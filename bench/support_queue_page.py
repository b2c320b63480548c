"""The support queue's first page with 100 and with 100,000 open items, in the same run.

    .venv/bin/python -m bench.support_queue_page [--database-url postgresql://...]

Items are written straight into the read model in bulk (the projection's own table), since
the figure is about reading the queue, not about building it.
"""

from __future__ import annotations

import json
import tempfile
import uuid

from bench.common import arguments, bench_settings, store_name, timed_ms
from bootstrap import bootstrap

SIZES = (100, 100_000)
REPEAT = 200


def fill(services, count: int) -> None:
    rows = [
        (str(uuid.uuid4()), seq, "identity_review" if seq % 5 else "closure", "open",
         "2026-11-26T10:00:00+00:00", f"Élément {seq}", json.dumps({"n": seq}))
        for seq in range(1, count + 1)
    ]
    with services.database.transaction() as cursor:
        cursor.execute("DELETE FROM support_queue_items")
        for start in range(0, len(rows), 1000):
            chunk = rows[start:start + 1000]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                "INSERT INTO support_queue_items"  # noqa: S608  (placeholders only)
                " (item_id, seq, kind, status, created_at, summary, details) VALUES " + values,
                [value for row in chunk for value in row],
            )


def first_page_ms(services, kind: str | None) -> tuple[float, float]:
    return timed_ms(lambda: services.support_queue.list_items(kind, "open", 50, None), REPEAT)


def main() -> None:
    args = arguments()
    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(tmp, args.database_url)
        services = bootstrap(settings)
        results = {}
        for size in SIZES:
            fill(services, size)
            results[size] = {kind: first_page_ms(services, kind) for kind in (None, "closure")}
        services.close()
    store = store_name(settings)
    print(f"support queue, first page of 50, {store}, {REPEAT} reads each (median / p99 ms):")
    for kind in (None, "closure"):
        small, large = results[SIZES[0]][kind], results[SIZES[-1]][kind]
        label = kind or "all kinds"
        print(f"  {label:10} {SIZES[0]:>7} items: {small[0]:.2f} / {small[1]:.2f}"
              f"   {SIZES[-1]:>7} items: {large[0]:.2f} / {large[1]:.2f}"
              f"   ratio of medians {large[0] / small[0]:.2f}")


if __name__ == "__main__":
    main()
