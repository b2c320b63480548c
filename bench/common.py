"""What every bench shares: settings for a scratch run, on SQLite or the URL given."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from adapters.settings import Settings
from domain.lifecycle import retried

BENCH_SECRET_KEY = "bench-secret-key-0123456789-0123456789"


def bench_settings(tmp: str, database_url: str | None, **env: str) -> Settings:
    """A store in `tmp` unless a database URL is given; e-mails as files; limits off."""
    return Settings.from_env(
        {
            "ACCOUNTS_DATABASE_URL": database_url or f"sqlite:///{tmp}/bench.sqlite3",
            "ACCOUNTS_MAIL_URL": f"file://{tmp}/mail",
            "ACCOUNTS_SECRET_KEY": BENCH_SECRET_KEY,
            "ACCOUNTS_RATE_LIMITS": "off",
            **env,
        },
        var_dir=Path(tmp) / "var",
    )


def store_name(settings: Settings) -> str:
    return settings.database.kind


def arguments(parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    """`--database-url` (default: SQLite in a scratch directory), plus the bench's own."""
    parser = parser or argparse.ArgumentParser()
    parser.add_argument("--database-url")
    return parser.parse_args()


def timed_ms(operation: Callable[[], object], times: int) -> tuple[float, float]:
    """Median and 99th percentile, in milliseconds, of `times` runs of the operation."""
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        operation()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(times * 0.99) - 1)]


@retried  # the in-process mail worker may be recording the credentials e-mail meanwhile
def give_own_password(services: Any, account_id: UUID, password_hash: str) -> None:
    """Set-up only: the account as after its first password change, without the e-mail."""
    account = services.lifecycle.account(account_id)
    account.change_password(password_hash, services.clock())
    services.lifecycle.save(account)


def write_report(lines: list[str], output: str) -> None:
    """A bench's Markdown report, to its file and to the terminal."""
    report = "\n".join(lines) + "\n"
    Path(output).write_text(report, encoding="utf-8")
    print(report)
