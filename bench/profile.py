"""Where a registration's and a sign-in's time goes: pyinstrument over a few hundred of each,
in-process (Flask's test client) on PostgreSQL with Redis as the broker, as in production.

    python -m bench.profile [--output-dir bench/results]

Writes profile-registration.txt and profile-sign-in.txt (cost 4, so the hash does not hide
the rest). `make bench` runs it after bench/run.py; bench/results/latest.md says what was
changed because of them.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import redis
from pyinstrument import Profiler

from adapters.hashing import BcryptHasher
from app import create_app
from bench import bulk
from bench.common import bench_settings
from bench.layout import ROOT, scratch_database

REDIS = "redis://127.0.0.1:6379/13"
PASSWORD = "Où sont passées les clés du château ?"
TIMES = 400


def profiled(operation: Callable[[int], None], warm_up: int) -> str:
    for n in range(warm_up):
        operation(n)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for n in range(warm_up, warm_up + TIMES):
        operation(n)
    profiler.stop()
    return profiler.output_text(unicode=False, color=False, show_all=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output-dir", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args()
    output = Path(args.output_dir)
    redis.Redis.from_url(REDIS).flushdb()
    with tempfile.TemporaryDirectory() as tmp, scratch_database() as url:
        settings = bench_settings(tmp, url, ACCOUNTS_REDIS_URL=REDIS)
        app = create_app(settings)
        services = app.extensions["accounts"]
        identifiers = bulk.generate(settings, url, 100, BcryptHasher(4).hash(PASSWORD))
        bulk.add_members(url, range(50_000_000, 50_000_000 + TIMES + 50))
        client = app.test_client()

        def register(n: int) -> None:
            number = 50_000_000 + n
            response = client.post("/api/v1/registrations", json={
                "member_number": bulk.member_number(number), "last_name": f"Bench{number}",
                "first_name": "Camille", "birth_date": bulk.BIRTH.isoformat(),
                "email": f"b{number}@example.org",
            })
            assert response.status_code == 201, response.json

        def sign_in(n: int) -> None:
            response = client.post("/api/v1/sessions", json={
                "identifier": identifiers[n % len(identifiers)], "password": PASSWORD,
            })
            assert response.status_code == 201, response.json

        texts = {
            "registration": profiled(register, warm_up=50),
            "sign-in": profiled(sign_in, warm_up=len(identifiers)),
        }
        services.close()
    redis.Redis.from_url(REDIS).flushdb()
    output.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (output / f"profile-{name}.txt").write_text(
            f"{TIMES} in-process {name}s on PostgreSQL, Redis as the broker"
            f" (python -m bench.profile)\n{text}", encoding="utf-8")
        print(f"wrote {output / f'profile-{name}.txt'}")


if __name__ == "__main__":
    main()
