"""Issue 21: the insurer's directory at its real size, imported beside PostgreSQL's own COPY.

    python -m bench.directory_import [--rows 1000000] [--output bench/results/directory-import.md]

Writes a CSV of `--rows` rows (households of a principal, a spouse and two children on one
health contract; one retiree without a contract in five households), then on scratch
PostgreSQL databases:
- the limit: PostgreSQL's COPY of the same file into a table of the file's columns carrying
  the directory's keys (unique member and contract, an index on the principal), measured just
  before and just after each import it divides; an unkeyed COPY is shown beside it;
- `flask --app app directory import` as an operator runs it, process start included: into an
  empty directory (the first import), then the same file again (the monthly re-import);
- the running service during a re-import: the Procfile's `web` and `worker` on the same
  database, 4 closed-loop clients registering members over HTTP for a window before the
  import and while it runs; registration p50/p99 and errors in each.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

import psycopg
import redis

from bench.closed_loop import SmtpSink
from bench.common import write_report
from bench.layout import (
    COLUMNS,
    ROOT,
    Layout,
    free_port,
    import_directory,
    layout_env,
    percentile,
    scratch_database,
)

BOUND = 3.0
CLIENTS = 4
KEYED = (
    "CREATE TABLE copied ({}, UNIQUE (member_number, health_contract_id));"
    " CREATE INDEX copied_principal ON copied (principal_member_number)"
)


def write_directory(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(COLUMNS + "\n")
        written = household = 0
        while written < rows:
            household += 1
            principal, contract = f"D{household:08d}0", f"SANTE-{household:08d}"
            lines = [f"{principal},Famille{household},Hélène,1970-01-{1 + household % 28:02d},"
                     f"{contract},individual,principal,,,contributor"]
            lines += [f"D{household:08d}{k},Famille{household},Zoé,2005-03-{1 + k:02d},"
                      f"{contract},individual,beneficiary,{principal},{relation},"
                      for k, relation in ((1, "spouse"), (2, "child"), (3, "child"))]
            if household % 5 == 0:
                lines.append(f"R{household:08d},Retraité{household},Jean,1950-06-15,,,,,,"
                             "pensioner")
            lines = lines[: rows - written]
            out.write("\n".join(lines) + "\n")
            written += len(lines)


def copy_seconds(path: Path, keyed: bool) -> float:
    """PostgreSQL's own COPY of the file into a scratch table of its columns."""
    columns = ", ".join(f"{name} TEXT" for name in COLUMNS.split(","))
    with scratch_database() as url, psycopg.connect(url) as connection:
        create = KEYED.format(columns) if keyed else f"CREATE TABLE copied ({columns})"
        for statement in create.split(";"):
            connection.execute(statement)
        connection.commit()
        started = time.perf_counter()
        with connection.cursor().copy(
            "COPY copied FROM STDIN WITH (FORMAT csv, HEADER)"
        ) as copy, path.open("rb") as file:
            while chunk := file.read(1 << 20):
                copy.write(chunk)
        connection.commit()
        return time.perf_counter() - started


def import_seconds(path: Path, env: dict[str, str], nice: int = 0) -> float:
    started = time.perf_counter()
    subprocess.run(["nice", "-n", str(nice), sys.executable, "-m", "flask", "--app", "app",
                    "directory", "import", str(path)],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


class Registrations:
    """Closed-loop clients registering one new member each time; answers timed per window."""

    def __init__(self, port: int, members: list[tuple]):
        self.url = f"http://127.0.0.1:{port}/api/v1/registrations"
        self.members = iter(members)
        self.lock = threading.Lock()
        self.window: list[float] = []
        self.errors = 0
        self.running = True

    def client(self) -> None:
        while self.running:
            with self.lock:
                number, last, first, born = next(self.members)
            body = (f'{{"member_number": "{number}", "last_name": "{last}", "first_name":'
                    f' "{first}", "birth_date": "{born.isoformat()}",'
                    f' "email": "{number.lower()}@example.org"}}').encode()
            request = urllib.request.Request(self.url, data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    ok = response.status == 201
            except (urllib.error.URLError, OSError):
                ok = False
            with self.lock:
                self.window.append(time.perf_counter() - started)
                self.errors += not ok

    def take(self) -> tuple[list[float], int]:
        with self.lock:
            window, errors = self.window, self.errors
            self.window, self.errors = [], 0
        return window, errors


def service_during_import(path: Path, tmp: str, seconds_before: float) -> dict:
    redis_url = "redis://127.0.0.1:6379/14"
    redis.Redis.from_url(redis_url).flushdb()
    registrants = [(f"L{n:07d}", f"Martin{n}", "Camille", date(1950 + n % 50, 1 + n % 12, 1))
                   for n in range(20_000)]
    with SmtpSink() as smtp, scratch_database() as url:
        env = layout_env(tmp, url, redis_url, smtp.port, free_port(), ACCOUNTS_BCRYPT_ROUNDS="4")
        import_directory(tmp, env, registrants)
        import_seconds(path, env)  # the directory at its size, as before a re-import
        with Layout(tmp, env, ("web", "worker")) as layout:
            load = Registrations(layout.port, registrants)
            clients = [threading.Thread(target=load.client) for _ in range(CLIENTS)]
            for client in clients:
                client.start()
            time.sleep(2)  # warm-up, not counted
            load.take()
            time.sleep(seconds_before)
            windows = {"before": load.take()}
            took = {}
            for nice in (0, 10):
                took[nice] = import_seconds(path, env, nice)
                windows[f"during, import at nice {nice}"] = load.take()
            load.running = False
            for client in clients:
                client.join()
    return {"windows": windows, "import": took}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--output", default=str(ROOT / "bench/results/directory-import.md"))
    args = parser.parse_args()
    lines = [f"# Directory import, {args.rows:,} rows ({date.today()})", ""]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "directory.csv"
        write_directory(path, args.rows)
        size = path.stat().st_size / 1e6
        lines += [f"File: {size:.0f} MB. Bound: our import ≤ {BOUND:g} × PostgreSQL's COPY of"
                  " the same file into a table keyed as the directory (the limit measured just"
                  " before and just after each import, the larger taken).", "",
                  "| figure | seconds | keyed COPY before / after | ratio | bound |",
                  "|---|---|---|---|---|"]
        unkeyed = copy_seconds(path, keyed=False)
        with scratch_database() as url:
            env = layout_env(tmp, url, "redis://127.0.0.1:6379/14", 25, free_port())
            for name in ("first import (empty directory)", "re-import of the same file"):
                limit_before = copy_seconds(path, keyed=True)
                took = import_seconds(path, env)
                limit_after = copy_seconds(path, keyed=True)
                ratio = took / max(limit_before, limit_after)
                met = "✓" if ratio <= BOUND else "✗"
                lines.append(f"| {name} | {took:.1f} | {limit_before:.1f} / {limit_after:.1f}"
                             f" | {ratio:.2f} | ≤ {BOUND:g} {met} |")
        lines += ["", f"PostgreSQL's COPY into a table without keys or index: {unkeyed:.1f} s.", ""]
        served = service_during_import(path, tmp, seconds_before=15)
    took = served["import"]
    lines += [f"The service during a re-import ({took[0]:.1f} s; {took[10]:.1f} s under"
              f" `nice -n 10`), `web` and `worker` of the Procfile, {CLIENTS} closed-loop"
              " clients registering, bcrypt cost 4:", "",
              "| window | registrations | p50 ms | p99 ms | errors |", "|---|---|---|---|---|"]
    for name, (window, errors) in served["windows"].items():
        lines.append(f"| {name} | {len(window)} | {percentile(window, 0.5) * 1000:.0f} |"
                     f" {percentile(window, 0.99) * 1000:.0f} | {errors} |")
    write_report(lines, args.output)


if __name__ == "__main__":
    main()
