"""What every bench shares: settings for a scratch run, on SQLite or the URL given."""

from __future__ import annotations

from pathlib import Path

from adapters.settings import Settings

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
