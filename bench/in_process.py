"""Registrations in process, beside the bare appends they are measured against (issue 21:
"registrations ≥ 0.3 of bare appends in process"): the registration use case as the API calls
it, on PostgreSQL with Redis as the broker (the services that `bootstrap` wires for the web
process, the credentials job enqueued after each commit), one process per core as the bare
appends are; no HTTP. Each process registers members of its own stretch of numbers, already in
the directory.

    python -m bench.in_process [--seconds 8]

`make bench` runs it as its own section (`in_process`), beside issue 8's registrations
through the API, which also divides by the bare appends.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time

import redis

from bench import bulk
from bench.common import bench_settings
from bench.layout import scratch_database
from bench.limits import CORES, bare_appends_per_second
from bench.sections import Bench, Figure
from bootstrap import bootstrap

REDIS = "redis://127.0.0.1:6379/12"
FIRST_MEMBER = 60_000_000
STRIDE = 1_000_000  # each process's stretch of member numbers


def registrations_per_second(url: str, seconds: float, first: int, per_process: int) -> float:
    """Registrations per second over `seconds`, one process per core, for members first..
    (each process its own stretch of `per_process` members, added to the directory here)."""
    stretches = [first + n * STRIDE for n in range(CORES)]
    redis.Redis.from_url(REDIS).flushdb()
    with tempfile.TemporaryDirectory() as tmp:
        bootstrap(_settings(tmp, url)).close()  # the tables, before the processes race for them
        for start in stretches:
            bulk.add_members(url, range(start, start + per_process))
        with multiprocessing.Pool(CORES) as pool:
            counts = pool.starmap(
                _register_for, [(url, seconds, start, per_process) for start in stretches]
            )
    return sum(counts) / seconds


def _settings(tmp: str, url: str):
    return bench_settings(tmp, url, ACCOUNTS_REDIS_URL=REDIS, ACCOUNTS_BCRYPT_ROUNDS="4")


def _register_for(url: str, seconds: float, start: int, per_process: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        services = bootstrap(_settings(tmp, url))
        register = services.use_cases.registration.register
        done, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds and done < per_process:
            n = start + done
            view = register(bulk.registration_request(n))
            if view.status != "accepted":
                raise RuntimeError(f"registration {n}: {view.status} ({view.reason})")
            done += 1
        services.close()
    return done * seconds / elapsed


def around(seconds: float) -> tuple[float, float, float]:
    """Bare appends just before, registrations, bare appends just after (the machine drifts),
    on a scratch database."""
    with scratch_database() as url:
        before = bare_appends_per_second(url, seconds)
        registered = registrations_per_second(
            url, seconds, FIRST_MEMBER, per_process=int(seconds * 1500))
        after = bare_appends_per_second(url, seconds)
    return before, registered, after


def in_process(bench: Bench) -> None:
    before, registered, after = around(bench.seconds(8))
    limit = (before + after) / 2
    bench.figures.append(Figure(
        "registrations per second in process (the use case, one process per core)",
        registered, "/s", "bare appends per second, just before and just after it", limit,
        "≥ 0.3", registered / limit >= 0.3,
    ))
    bench.notes.append(f"registrations in process: {registered:.0f}/s, bare appends"
                       f" {before:.0f}/s before and {after:.0f}/s after")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args()
    before, registered, after = around(args.seconds)
    limit = (before + after) / 2
    print(f"bare appends {before:.0f}/s before, {after:.0f}/s after; registrations in process"
          f" {registered:.0f}/s: {registered / limit:.3f} of bare appends")


if __name__ == "__main__":
    main()
