"""The limits `make bench` measures the service against, in the same run: bcrypt
verifications per second on every core, and bare appends (an eventsourcing Application saving
a one-event aggregate per transaction, one process per core)."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from adapters.database import eventsourcing_env
from adapters.hashing import BcryptHasher
from bench.common import bench_settings

# Every bench account's: the bcrypt limit verifies the same password the sign-ins do.
PASSWORD = "Où sont passées les clés du château ?"
CORES = os.cpu_count() or 1


def bcrypt_per_second(cost: int, seconds: float) -> float:
    """Verifications per second on every core: one process per core, each for `seconds`."""
    with multiprocessing.Pool(CORES) as pool:
        counts = pool.starmap(_verify_for, [(cost, seconds)] * CORES)
    return sum(counts) / seconds


def _verify_for(cost: int, seconds: float) -> float:
    hasher = BcryptHasher(cost)
    stored = hasher.hash(PASSWORD)
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        hasher.verify(PASSWORD, stored)
        done += 1
    return done * seconds / elapsed


class Thing(Aggregate):
    """One event, one aggregate, one transaction: the floor under every write."""


def bare_appends_per_second(url: str, seconds: float) -> float:
    Application(env=_pg_env(url)).close()  # the tables, before the processes race to make them
    with multiprocessing.Pool(CORES) as pool:
        counts = pool.starmap(_append_for, [(url, seconds)] * CORES)
    return sum(counts) / seconds


def _pg_env(url: str) -> dict[str, str]:
    """The service's own settings of the library (pool, insert function, recorder)."""
    return eventsourcing_env(bench_settings(tempfile.gettempdir(), url))


def _append_for(url: str, seconds: float) -> float:
    application = Application(env={**_pg_env(url), "CREATE_TABLE": "n"})
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        application.save(Thing())
        done += 1
    application.close()
    return done * seconds / elapsed
