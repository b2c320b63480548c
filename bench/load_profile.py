"""Where a registration's and a sign-in's CPU goes under load (issue 21, item 1): the CPU of
every process of the Procfile's layout per request, and py-spy's samples of each Python process
while 4 closed-loop clients drive it.

    python -m bench.load_profile [--seconds 20]

Two loads on a scratch PostgreSQL database, Redis and an SMTP sink:
- registrations at cost 4 (web, worker, projections): each e-mail sent before the CPU is read;
- sign-ins at cost 12 (web): bcrypt included, so what is left beside it shows.
Each load runs twice: first alone, for the CPU per request of each process (from /proc, and
PostgreSQL's backends), then under py-spy (`--gil`: only the thread holding the GIL is sampled,
so the samples are Python's CPU, not its waits on the database). Each process kind's samples
are given by package (the innermost frame's) and by our own functions (inclusive), each as
milliseconds of that process's CPU per request. Writes bench/results/profile-under-load.md.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from threading import Thread

import redis

from adapters.hashing import BcryptHasher
from bench import bulk
from bench.closed_loop import CLIENTS, SmtpSink, closed_loop, register, sign_in
from bench.common import bench_settings
from bench.layout import ROOT, Layout, free_port, layout_env, postgres_cpu_seconds, scratch_database
from bench.limits import PASSWORD
from bench.report import machine
from bench.sections import REDIS
from bootstrap import bootstrap

RESULTS = ROOT / "bench" / "results" / "profile-under-load.md"
PY_SPY = Path(sys.executable).parent / "py-spy"
OURS = ("domain/", "adapters/", "projections/", "workers/", "app.py", "bootstrap/")
FIRST_MEMBER = 50_000_000
FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*?)(?::\d+)?\)$")


def process_cpu(layout: Layout, entries: tuple[str, ...]) -> dict[str, float]:
    found = {entry: layout.cpu_seconds(entry) for entry in entries}
    found["postgresql"] = postgres_cpu_seconds()
    return found


def sampled(layout: Layout, entries: tuple[str, ...], seconds: int) -> dict[str, list[str]]:
    """py-spy on every process of each entry at once; the folded stacks of each entry."""
    runs = []
    for entry in entries:
        for pid in layout.pids(entry):
            out = Path(layout.tmp) / f"spy-{entry}-{pid}.txt"
            runs.append((entry, out, subprocess.Popen(
                [str(PY_SPY), "record", "--gil", "--nonblocking", "-r", "200", "-d",
                 str(seconds), "-f", "raw", "-o", str(out), "-p", str(pid)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    stacks: dict[str, list[str]] = collections.defaultdict(list)
    for entry, out, run in runs:
        run.wait()
        if out.exists():  # a process with no Python samples writes nothing
            stacks[entry] += out.read_text().splitlines()
    return stacks


def package(path: str) -> str:
    if path.startswith(OURS):
        return path.split("/", maxsplit=1)[0] if "/" in path else path
    return path.split("/", maxsplit=1)[0].removesuffix(".py") if "/" in path else f"{path} (stdlib)"


def breakdown(lines: list[str]) -> tuple[int, collections.Counter, collections.Counter]:
    by_package, ours, total = collections.Counter(), collections.Counter(), 0
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [FRAME.match(f) for f in stack.split(";")]
        frames = [f for f in frames if f]
        if not frames:
            continue
        by_package[package(frames[-1]["path"])] += n
        seen = set()
        for frame in frames:
            if frame["path"].startswith(OURS):
                key = f"{frame['function']} ({frame['path']})"
                if key not in seen:
                    seen.add(key)
                    ours[key] += n
    return total, by_package, ours


def section(title: str, cpu: dict[str, float], count: int, stacks: dict[str, list[str]],
            hashed_ms: float = 0.0) -> list[str]:
    """hashed_ms: the web process's CPU per request in bcrypt, which releases the GIL and so
    is not in the samples: they stand for the rest."""
    lines = [f"## {title}", "", "| process | CPU ms per request |", "|---|---|"]
    lines += [f"| {entry} | {seconds * 1000 / count:.2f} |" for entry, seconds in cpu.items()]
    lines.append(f"| all | {sum(cpu.values()) * 1000 / count:.2f} |")
    if hashed_ms:
        lines += ["", f"Of the web process's, {hashed_ms:.1f} ms are one bcrypt verification"
                  " (timed in this process); the samples below share out the rest."]
    for entry, found in stacks.items():
        total, by_package, ours = breakdown(found)
        if total < 50:
            continue
        sampled_ms = cpu[entry] * 1000 / count - (hashed_ms if entry == "web" else 0.0)
        per = sampled_ms / total
        lines += ["", f"### {entry}: {total:,} samples, by the innermost frame's package", "",
                  "| package | share | ms per request |", "|---|---|---|"]
        lines += [f"| {name} | {n / total:.1%} | {n * per:.2f} |"
                  for name, n in by_package.most_common(14)]
        lines += ["", f"### {entry}: our functions, inclusive", "",
                  "| function | share | ms per request |", "|---|---|---|"]
        lines += [f"| `{name}` | {n / total:.1%} | {n * per:.2f} |"
                  for name, n in ours.most_common(25)]
    return [*lines, ""]


def measured(layout: Layout, entries: tuple[str, ...], request, seconds: int,
             done=lambda ok: None) -> tuple[dict[str, float], int]:
    layout.settle()
    before = process_cpu(layout, entries)
    load = closed_loop(layout.port, request, seconds)
    done(load.ok)
    layout.settle()
    after = process_cpu(layout, entries)
    return {k: after[k] - before[k] for k in before}, load.ok


def registrations(tmp: str, seconds: int) -> list[str]:
    entries = ("web", "worker", "projections")
    with SmtpSink() as smtp, scratch_database() as url:
        bootstrap(bench_settings(tmp, url)).close()
        bulk.add_members(url, range(FIRST_MEMBER, FIRST_MEMBER + 40_000))
        redis.Redis.from_url(REDIS).flushdb()
        env = layout_env(tmp, url, REDIS, smtp.port, free_port(), ACCOUNTS_BCRYPT_ROUNDS="4")
        with Layout(tmp, env, entries) as layout:
            sent = [closed_loop(layout.port, register(FIRST_MEMBER), 3).ok]
            smtp.wait_for(sent[0])

            def mailed(ok: int) -> None:
                sent[0] += ok
                smtp.wait_for(sent[0])

            cpu, ok = measured(layout, entries, register(FIRST_MEMBER + 10_000), seconds,
                               mailed)
            later = register(FIRST_MEMBER + 25_000)
            profiling = Thread(target=closed_loop, args=(layout.port, later, seconds))
            profiling.start()
            time.sleep(2)
            stacks = sampled(layout, entries, seconds - 4)
            profiling.join()
    return section(f"A registration at cost 4 ({ok} in {seconds} s, {CLIENTS} clients, e-mails"
                   " sent)", cpu, ok, stacks)


def sign_ins(tmp: str, seconds: int) -> list[str]:
    with scratch_database() as url:
        settings = bench_settings(tmp, url)
        bootstrap(settings).close()
        identifiers = bulk.generate(settings, url, 1_000, BcryptHasher(12).hash(PASSWORD))
        redis.Redis.from_url(REDIS).flushdb()
        env = layout_env(tmp, url, REDIS, free_port(), free_port(), ACCOUNTS_BCRYPT_ROUNDS="12")
        with Layout(tmp, env, ("web",)) as layout:
            request = sign_in(identifiers, PASSWORD)
            closed_loop(layout.port, request, 3)
            cpu, ok = measured(layout, ("web",), request, seconds)
            profiling = Thread(target=closed_loop, args=(layout.port, request, seconds))
            profiling.start()
            time.sleep(2)
            stacks = sampled(layout, ("web",), seconds - 4)
            profiling.join()
    return section(f"A sign-in at cost 12 ({ok} in {seconds} s, {CLIENTS} clients)", cpu, ok,
                   stacks, hashed_ms=verification_ms(12))


def verification_ms(cost: int, times: int = 20) -> float:
    hasher = BcryptHasher(cost)
    stored = hasher.hash(PASSWORD)
    started = time.process_time()
    for _ in range(times):
        hasher.verify(PASSWORD, stored)
    return (time.process_time() - started) * 1000 / times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-profile-")
    started = time.perf_counter()
    body = registrations(tmp, args.seconds) + sign_ins(tmp, args.seconds)
    head = [
        "# Where a registration's and a sign-in's CPU goes under load",
        "",
        "`python -m bench.load_profile`",
        "",
        *machine(),
        f"- the Procfile's processes on a scratch PostgreSQL database; whole run"
        f" {time.perf_counter() - started:.0f} s",
        "- CPU per request from /proc over a load without py-spy; the shares from a second load"
        " under py-spy --gil (200 samples/s per process), applied to that CPU",
        "",
    ]
    RESULTS.write_text("\n".join(head + body), encoding="utf-8")
    print("\n".join(head + body))


if __name__ == "__main__":
    main()
