"""Loading an account with 10 and with 10,000 events (with snapshots), in the same run.

    .venv/bin/python -m bench.account_load [--database-url postgresql://...]
"""

from __future__ import annotations

import functools
import tempfile
import uuid
from datetime import UTC, date, datetime

from bench.common import arguments, bench_settings, store_name, timed_ms
from bootstrap import bootstrap
from domain.account import Account
from domain.lifecycle import SNAPSHOT_EVERY

SIZES = (10, 10_000)
LOADS = 200


def account_with(services, events: int) -> uuid.UUID:
    lifecycle = services.lifecycle
    account = Account(
        identifier=str(10_000_000 + events), member_number=f"B{events}",
        member_key=uuid.uuid4(), email="b@example.org",
        sections=["health"], registration_id=uuid.uuid4(), secret_question=None,
        secret_answer_hash=None, actor="system:bench", timestamp=datetime.now(UTC),
    )
    lifecycle.save(account)
    while account.version < events:
        for _ in range(min(500, events - account.version)):
            account.set_alerts(not account.alerts_reimbursements, datetime.now(UTC))
        lifecycle.save(account)  # takes the snapshots
    return account.id


def main() -> None:
    args = arguments()
    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(tmp, args.database_url)
        services = bootstrap(settings)
        results = {}
        for size in SIZES:
            account_id = account_with(services, size)
            results[size] = timed_ms(
                functools.partial(services.lifecycle.repository.get, account_id), LOADS
            )
        services.close()
    store = store_name(settings)
    print(f"account load, {store}, snapshots every {SNAPSHOT_EVERY} events, {LOADS} loads"
          " (median / p99 ms):")
    for size in SIZES:
        print(f"  {size:>6} events: {results[size][0]:.2f} / {results[size][1]:.2f}")
    print(f"  ratio of medians: {results[SIZES[-1]][0] / results[SIZES[0]][0]:.2f}"
          f" (run on {date.today().isoformat()})")


if __name__ == "__main__":
    main()
