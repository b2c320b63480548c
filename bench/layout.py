"""The production layout as the benches start it: scratch PostgreSQL databases, a Redis
database number of the bench's own, an aiosmtpd server, and the Procfile's processes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg

from adapters import gunicorn_conf
from bench.common import BENCH_SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql://postgres@127.0.0.1:5432"
COLUMNS = ("member_number,last_name,first_name,birth_date,health_contract_id,"
           "health_contract_type,health_role,principal_member_number,relation,retirement")


class Inbox:
    """aiosmtpd's handler: when each recipient's first message arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            for recipient in envelope.rcpt_tos:
                self.arrived.setdefault(recipient, time.monotonic())
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def admin(sql: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as connection:
        connection.execute(sql)


def database_exists(name: str) -> bool:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as connection:
        return connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone() is not None


@contextmanager
def scratch_database(template: str | None = None) -> Iterator[str]:
    """A new database (a copy of `template` if given), dropped afterwards; yields its URL."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    try:
        yield f"{PG}/{name}"
    finally:
        admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def layout_env(
    tmp: str, database_url: str, redis_url: str, smtp_port: int, port: int, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTS_")}
    metrics = Path(tmp) / f"metrics-{port}"
    metrics.mkdir()
    env.update(
        ACCOUNTS_DATABASE_URL=database_url, ACCOUNTS_REDIS_URL=redis_url,
        ACCOUNTS_MAIL_URL=f"smtp://127.0.0.1:{smtp_port}", ACCOUNTS_RATE_LIMITS="off",
        ACCOUNTS_SECRET_KEY=BENCH_SECRET_KEY,
        # The process counts are the Procfile's own (the shipped configuration), or what
        # WEB_WORKERS, WEB_THREADS and MAIL_PROCESSES say when a bench is run to compare others.
        PORT=str(port),
        PROMETHEUS_MULTIPROC_DIR=str(metrics),
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        **extra,
    )
    return env


def web_processes() -> str:
    """The web process's configuration a layout runs, as a report says it."""
    procfile = (ROOT / "Procfile").read_text()
    workers = os.environ.get("WEB_WORKERS") or re.search(r"WEB_WORKERS:-(\d+)", procfile)[1]
    threads = gunicorn_conf.threads  # WEB_THREADS, or the shipped default
    return f"{workers} gthread workers × {threads} threads"


def import_directory(tmp: str, env: dict, members: list[tuple]) -> None:
    """(number, last name, first name, birth date) rows, as retirement contributors."""
    csv_path = Path(tmp) / "members.csv"
    csv_path.write_text("\n".join([COLUMNS, *(
        f"{m},{last},{first},{born.isoformat()},,,,,,contributor"
        for m, last, first, born in members)]) + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "directory", "import",
                    str(csv_path)], cwd=ROOT, env=env, check=True, capture_output=True)


class Layout:
    """Some of the Procfile's processes; stopped with SIGTERM like an operator would."""

    def __init__(self, tmp: str, env: dict[str, str], entries: Sequence[str]):
        self.tmp, self.env, self.entries = tmp, env, entries
        self.port = int(env["PORT"])
        self.children: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Layout:
        procfile = dict(line.split(": ", 1) for line in
                        (ROOT / "Procfile").read_text().splitlines() if line.strip())
        for entry in self.entries:
            with (Path(self.tmp) / f"{entry}-{self.port}.log").open("wb") as log:
                self.children.append(subprocess.Popen(
                    ["bash", "-c", f"exec {procfile[entry]}"], cwd=ROOT, env=self.env,
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        if "web" in self.entries:
            self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def cpu_seconds(self, entry: str | None = None) -> float:
        """User and system CPU of every process of the layout, or of one entry (children
        included)."""
        roots = [c.pid for c in self.children] if entry is None else [
            self.children[list(self.entries).index(entry)].pid]
        total = 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        for pid in (p for root in roots for p in _tree(root)):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def settle(self, timeout: float = 120) -> None:
        """Wait until the processes are idle: a sync gunicorn worker goes on answering the
        connections a load left queued, which would count against the next measurement."""
        deadline = time.monotonic() + timeout
        before = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.cpu_seconds()
            if now - before < 0.05:
                return
            before = now

    def pids(self, entry: str) -> list[int]:
        return _tree(self.children[list(self.entries).index(entry)].pid)

    def __exit__(self, *exc: object) -> None:
        for child in self.children:
            with suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
        for child in self.children:
            child.wait(timeout=60)


def postgres_cpu_seconds() -> float:
    """User and system CPU of every PostgreSQL process on the machine (the server is the
    bench's alone while it runs): the database's share of a request's cost."""
    return named_cpu_seconds("postgres")


def named_cpu_seconds(prefix: str) -> float:
    """User and system CPU of every process on the machine whose name starts so."""
    ticks, total = os.sysconf("SC_CLK_TCK"), 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, fields = stat.split("(", 1)[1].rsplit(")", 1)
        if name.startswith(prefix):
            values = fields.split()
            total += (int(values[11]) + int(values[12])) / ticks
    return total


def _tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pending += [int(c) for c in children]
    return found
