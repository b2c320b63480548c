"""Issue 21: the resident memory of every process of the layout over a long steady load.

    python -m bench.memory_soak [--minutes 30] [--rate 24] [--output bench/results/memory-soak.md]

Starts the Procfile's `web` (gunicorn, 4 workers), `worker` (dramatiq, 2 processes) and
`projections` on a scratch PostgreSQL database with Redis and an aiosmtpd server (bcrypt cost
4: the load is the service's own work, not the hash), then for `--minutes`:
- registrations of new members paced at `--rate` per second (each gets its credentials
  e-mail: the worker's and the projections' share of the work too);
- reads of `GET /api/v1/me` by 1,000 signed-in members from wrk's 2 closed-loop connections;
and samples the resident memory (RSS) of every process each 10 seconds. The bound: over the
last two thirds of the run, each process's RSS stays within ± 5 % of its mean there.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import redis

from adapters.hashing import BcryptHasher
from bench import bulk, wrk
from bench.closed_loop import SmtpSink
from bench.common import bench_settings, write_report
from bench.layout import (
    ROOT,
    Layout,
    free_port,
    import_directory,
    layout_env,
    scratch_database,
)
from bench.limits import PASSWORD
from bench.sections import sign_in_token
from bootstrap import bootstrap

ENTRIES = ("web", "worker", "projections")
SAMPLE_EVERY = 10.0
BOUND = 0.05


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def process_name(entry: str, pid: int, root: int) -> str:
    if pid == root:
        return f"{entry} (main)"
    return f"{entry} {pid}"


def sample(layout: Layout, samples: dict[str, list[tuple[float, float]]], started: float,
           running: threading.Event) -> None:
    while running.is_set():
        now = time.monotonic() - started
        for entry in ENTRIES:
            pids = layout.pids(entry)
            for pid in pids:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes() if Path(
                    f"/proc/{pid}/cmdline").exists() else b""
                if b"bash" in cmdline.split(b"\0")[0]:
                    continue  # the Procfile's shell, exec'd away or waiting
                samples.setdefault(process_name(entry, pid, pids[0]), []).append(
                    (now, rss_mb(pid)))
        running.wait(SAMPLE_EVERY)


def register(url: str, member: tuple) -> int:
    number, last, first, born = member
    request = urllib.request.Request(
        f"{url}/api/v1/registrations", method="POST",
        headers={"Content-Type": "application/json"},
        data=json.dumps({"member_number": number, "last_name": last, "first_name": first,
                         "birth_date": born.isoformat(),
                         "email": f"{number.lower()}@example.org"}).encode())
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except OSError:
        return 0


def paced_registrations(url: str, members: list[tuple], rate: float, seconds: float) -> list[int]:
    started = time.monotonic()
    statuses: list[int] = []
    with ThreadPoolExecutor(8) as pool:
        futures = []
        for n, member in enumerate(members):
            due = started + n / rate
            if due - started >= seconds:
                break
            time.sleep(max(0.0, due - time.monotonic()))
            futures.append(pool.submit(register, url, member))
        statuses = [f.result() for f in futures]
    return statuses


def plateau(points: list[tuple[float, float]], seconds: float) -> tuple[float, float, float]:
    """Mean, and the lowest and highest relative to it, over the last two thirds."""
    kept = [mb for at, mb in points if at >= seconds / 3]
    mean = sum(kept) / len(kept)
    return mean, min(kept) / mean - 1, max(kept) / mean - 1


def report_lines(args: argparse.Namespace, statuses: list[int], load: wrk.Load,
                 samples: dict[str, list[tuple[float, float]]]) -> list[str]:
    seconds = args.minutes * 60
    ok = statuses.count(201)
    lines = [
        f"# Memory soak, {args.minutes:g} minutes ({date.today()})", "",
        f"`python -m bench.memory_soak --minutes {args.minutes:g} --rate {args.rate:g}`:"
        f" {ok} registrations answered 201 of {len(statuses)} ({ok / seconds:.1f}/s),"
        f" {load.requests - load.non_2xx} reads of `/me` ({load.ok_per_second:.0f}/s,"
        f" {load.non_2xx} not 2xx, {load.socket_errors} socket errors).", "",
        f"Bound: each process's RSS within ± {BOUND:.0%} of its mean over the last two"
        " thirds of the run.", "",
        "| process | RSS at start MB | at a third | at the end | mean of the last two thirds"
        " | lowest / highest there | bound |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, points in sorted(samples.items()):
        if len(points) < 3:
            continue
        mean, low, high = plateau(points, seconds)
        third = next(mb for at, mb in points if at >= seconds / 3)
        met = "✓" if low >= -BOUND and high <= BOUND else "✗"
        lines.append(f"| {name} | {points[0][1]:.0f} | {third:.0f} | {points[-1][1]:.0f} |"
                     f" {mean:.0f} | {low:+.1%} / {high:+.1%} | {met} |")
    marks = [seconds * k / 6 for k in range(7)]
    lines += ["", "RSS in MB every sixth of the run:", "",
              "| process | " + " | ".join(f"{m / 60:.0f} min" for m in marks) + " |",
              "|---|" + "---|" * len(marks)]
    for name, points in sorted(samples.items()):
        row = [min(points, key=lambda p, m=m: abs(p[0] - m))[1] for m in marks]
        lines.append(f"| {name} | " + " | ".join(f"{mb:.0f}" for mb in row) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=24)
    parser.add_argument("--output", default=str(ROOT / "bench/results/memory-soak.md"))
    args = parser.parse_args()
    seconds = args.minutes * 60
    redis_url = "redis://127.0.0.1:6379/13"
    redis.Redis.from_url(redis_url).flushdb()
    count = int(args.rate * seconds * 1.05) + 10
    members = [(f"S{n:07d}", f"Soak{n}", "Camille", date(1940, 1, 1) + timedelta(days=n % 20000))
               for n in range(count)]
    samples: dict[str, list[tuple[float, float]]] = {}
    with SmtpSink() as smtp, tempfile.TemporaryDirectory() as tmp, scratch_database() as url:
        settings = bench_settings(tmp, url)
        bootstrap(settings).close()  # the tables
        readers = bulk.generate(settings, url, 1000, BcryptHasher(4).hash(PASSWORD))
        env = layout_env(tmp, url, redis_url, smtp.port, free_port(),
                         ACCOUNTS_BCRYPT_ROUNDS="4")
        import_directory(tmp, env, members)
        with Layout(tmp, env, ENTRIES) as layout:
            tokens = [sign_in_token(layout.url, i) for i in readers]
            running = threading.Event()
            running.set()
            started = time.monotonic()
            sampler = threading.Thread(
                target=sample, args=(layout, samples, started, running), daemon=True)
            sampler.start()
            reads: list[wrk.Load] = []
            reader = threading.Thread(target=lambda: reads.append(wrk.run(
                layout.url, "me", int(seconds), connections=2, lines=tokens)))
            reader.start()
            statuses = paced_registrations(layout.url, members, args.rate, seconds)
            reader.join()
            running.clear()
            sampler.join()
    [load] = reads
    write_report(report_lines(args, statuses, load, samples), args.output)


if __name__ == "__main__":
    main()
