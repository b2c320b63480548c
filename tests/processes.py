"""Real child processes for tests (workers, runners, API servers): started with the service's
environment, logged to a file, and always stopped."""

from __future__ import annotations

import os
import signal
import subprocess
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent


def service_env(database_url: str, mail_url: str, redis_url: str | None = None) -> dict[str, str]:
    """This process's environment without any ACCOUNTS_* of its own, plus the service's."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ACCOUNTS_")}
    env.update(
        ACCOUNTS_DATABASE_URL=database_url,
        ACCOUNTS_MAIL_URL=mail_url,
        ACCOUNTS_BCRYPT_ROUNDS="4",
        ACCOUNTS_SECRET_KEY=SECRET_KEY,
        ACCOUNTS_RATE_LIMITS="off",
    )
    if redis_url:
        env["ACCOUNTS_REDIS_URL"] = redis_url
    return env


@dataclass
class Child:
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def start(command: list[str], env: dict[str, str], log_path: Path) -> Child:
    """In a session of its own, so that stopping it reaches its children too."""
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log_file,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    return Child(process, log_path)


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM (a graceful stop), then SIGKILL to the whole process group."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            pass
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=timeout)
