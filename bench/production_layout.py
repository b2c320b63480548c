"""Registrations through the whole production layout, and what follows them.

    python -m bench.production_layout [--registrations 600] [--clients 16]

Starts the Procfile's processes (gunicorn with 2 workers, dramatiq with 2 processes, an active
projection runner and a standby) on a scratch PostgreSQL database, a Redis database number
of its own, and an aiosmtpd server; then registers members over HTTP from `--clients`
concurrent clients and reports: registrations per second (HTTP 201 answers), the delay from
each answer to its credentials e-mail reaching the SMTP server (p50/p99), and the support
queue's projection lag in seconds sampled every 50 ms (p99). Cost 12 as in production.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import psycopg
import redis
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql://postgres@127.0.0.1:5432"
COLUMNS = ("member_number,last_name,first_name,birth_date,health_contract_id,"
           "health_contract_type,health_role,principal_member_number,relation,retirement")


class Inbox:
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


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def layout_env(tmp: str, database: str, redis_url: str, smtp_port: int, port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTS_")}
    (Path(tmp) / "metrics").mkdir()
    env.update(
        ACCOUNTS_DATABASE_URL=f"{PG}/{database}", ACCOUNTS_REDIS_URL=redis_url,
        ACCOUNTS_MAIL_URL=f"smtp://127.0.0.1:{smtp_port}", ACCOUNTS_RATE_LIMITS="off",
        ACCOUNTS_SECRET_KEY="bench-secret-key-0123456789-0123456789",
        PORT=str(port), WEB_WORKERS="2", MAIL_PROCESSES="2",
        PROMETHEUS_MULTIPROC_DIR=str(Path(tmp) / "metrics"),
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    )
    return env


def import_directory(tmp: str, env: dict, members: list[tuple]) -> None:
    csv_path = Path(tmp) / "members.csv"
    csv_path.write_text("\n".join([COLUMNS, *(
        f"{m},{last},{first},{born.isoformat()},,,,,,contributor"
        for m, last, first, born in members)]) + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "directory", "import",
                    str(csv_path)], cwd=ROOT, env=env, check=True, capture_output=True)


def start_layout(tmp: str, env: dict, port: int) -> list[subprocess.Popen[bytes]]:
    procfile = dict(line.split(": ", 1) for line in
                    (ROOT / "Procfile").read_text().splitlines() if line.strip())
    children = []
    for entry in ("web", "worker", "projections", "standby"):
        with (Path(tmp) / f"{entry}.log").open("wb") as log:
            children.append(subprocess.Popen(
                ["bash", "-c", f"exec {procfile[entry]}"], cwd=ROOT, env=env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True))
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return children
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def drive(port: int, members: list[tuple], clients: int, inbox: Inbox) -> dict:
    """Registers every member; waits for every e-mail; samples the projection lag."""
    answered: dict[str, float] = {}
    lags: list[float] = []
    running = threading.Event()
    running.set()

    def sample_lag() -> None:
        while running.is_set():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as response:
                for line in response.read().decode().splitlines():
                    if line.startswith('accounts_projection_lag_seconds{projection="support'):
                        lags.append(float(line.rsplit(" ", 1)[1]))
            time.sleep(0.05)

    def register(member: tuple) -> int:
        number, last, first, born = member
        email = f"{number.lower()}@example.org"
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/registrations", method="POST",
            data=json.dumps({"member_number": number, "last_name": last, "first_name": first,
                             "birth_date": born.isoformat(), "email": email}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answered[email] = time.monotonic()
            return response.status

    sampler = threading.Thread(target=sample_lag, daemon=True)
    sampler.start()
    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        statuses = list(pool.map(register, members))
    elapsed = time.monotonic() - started
    deadline = time.monotonic() + 600
    while len(inbox.arrived) < len(members) and time.monotonic() < deadline:
        time.sleep(0.1)
    running.clear()
    sampler.join()
    assert statuses == [201] * len(members), set(statuses)
    return {
        "elapsed": elapsed, "all_mailed": time.monotonic() - started, "lags": lags,
        "delays": [inbox.arrived[e] - answered[e] for e in answered if e in inbox.arrived],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registrations", type=int, default=600)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    database = f"bench_layout_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {database}")
    redis_url = "redis://127.0.0.1:6379/15"
    redis.Redis.from_url(redis_url).flushdb()
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    port = free_port()
    members = [(f"L{n:07d}", f"Martin{n}", "Camille", date(1950, 1, 1) + timedelta(days=n))
               for n in range(args.registrations)]
    children: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            env = layout_env(tmp, database, redis_url, smtp.port, port)
            import_directory(tmp, env, members)
            children = start_layout(tmp, env, port)
            result = drive(port, members, args.clients, inbox)
        finally:
            for child in children:
                os.killpg(child.pid, signal.SIGTERM)
            for child in children:
                child.wait(timeout=60)
            smtp.stop()
            with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
                admin.execute(f"DROP DATABASE {database} WITH (FORCE)")
    delays, lags = result["delays"], result["lags"]
    print(f"production layout (gunicorn 2 workers, dramatiq 2 processes, runner + standby,"
          f" PostgreSQL, Redis, aiosmtpd), bcrypt cost 12, {args.clients} clients, "
          f"{len(members)} registrations, run on {date.today()}:")
    print(f"  registrations answered per second: {len(members) / result['elapsed']:.1f}")
    print(f"  credentials e-mails received: {len(delays)}/{len(members)}, the last"
          f" {result['all_mailed']:.1f} s after the first request")
    print(f"  e-mail delay after the answer: p50 {statistics.median(delays):.2f} s,"
          f" p99 {percentile(delays, 0.99):.2f} s (contract: 600 s)")
    print(f"  support queue projection lag: p99 {percentile(lags, 0.99):.3f} s over"
          f" {len(lags)} samples")


if __name__ == "__main__":
    main()
