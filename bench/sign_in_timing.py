"""Does a failed sign-in tell an existing identifier from an unknown one by its time? Issue 15.

    .venv/bin/python -m bench.sign_in_timing [--rounds 12] [--n 120] [--stores sqlite,postgresql]

For each store, accounts are made in-process (registration, credentials, an own password),
then the Procfile's `web` is started on that store as the benches start it (SQLite: the
embedded default, one gunicorn worker, no Redis; PostgreSQL: two workers beside Redis). One
client then sends, in a random order each round, a wrong password for: an existing identifier
(each account takes 4, so none is locked: each one is recorded, SignInFailed); an account that
also holds a live temporary password (after a recovery); a locked account (nothing recorded);
an identifier nobody has (nothing recorded). Half the wrong passwords have a temporary
password's shape. Prints each kind's median, its ratio to the unknown identifier's with a 95%
bootstrap interval, and the median difference within a round. The requirement (issue 15):
existing against unknown within 1.05 at cost 12 on both stores. At cost 4, where bcrypt is a
millisecond, the differences are what the rest of a sign-in costs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4

from adapters.hashing import BcryptHasher
from bench.common import bench_settings, give_own_password
from bench.layout import COLUMNS, Layout, free_port, layout_env, scratch_database
from bootstrap import Services, bootstrap
from domain.account_credentials import FAILURES_BEFORE_LOCK
from domain.errors import InvalidCredentialsError
from domain.lifecycle import retried
from domain.use_cases.views import RegistrationRequest

REDIS = "redis://127.0.0.1:6379/12"
OWN = "Où sont passées les clés du château ?"
# A wrong password of each shape: a phrase like an own one, and 9 letters and a digit like a
# temporary one (the shape decides which hash a sign-in checks).
WRONG = ("Pas le bon mot de passe, hélas", "Kqzwmxvbn7")
WRONG_PER_ACCOUNT = 4  # the fifth would lock it
BIRTH = date(1970, 1, 1)
KINDS = ("existing", "recovering", "locked", "unknown")
BOUND = 1.05
RESAMPLES = 2000


@contextmanager
def store_url(store: str, tmp: str) -> Iterator[str]:
    if store == "sqlite":
        yield f"sqlite:///{tmp}/timing.sqlite3"
    else:
        with scratch_database() as url:
            yield url


def members_csv(count: int) -> str:
    rows = [f"T{n:07d},Temps{n},Camille,{BIRTH.isoformat()},,,,,,contributor"
            for n in range(count)]
    return "\n".join([COLUMNS, *rows]) + "\n"


def make_account(services: Services, n: int, own_hash: str, recovering: bool) -> str:
    """An account as after its first password change; `recovering`: then a recovery whose
    temporary password is live. The mail worker's part is run here, without e-mails."""
    cases = services.use_cases
    view = cases.registration.register(RegistrationRequest(
        member_number=f"T{n:07d}", last_name=f"Temps{n}", first_name="Camille",
        birth_date=BIRTH, email=f"t{n}@example.org",
    ))
    assert view.status == "accepted", view
    account_id = services.lifecycle.enrollment(view.registration_id).account_id
    for request_id in cases.mail.pending_credentials_requests(account_id):
        cases.mail.issue_temporary_password(account_id, request_id)
        cases.mail.record_credentials_email(account_id, request_id)
    give_own_password(services, account_id, own_hash)
    if recovering:
        request_id = str(uuid4())
        request_recovery(services, account_id, request_id)
        cases.mail.issue_temporary_password(account_id, request_id)
        assert services.lifecycle.account(account_id).usable_temporary_hash(services.clock())
    return services.lifecycle.account(account_id).identifier


@retried  # the in-process mail worker may be recording an e-mail of the account meanwhile
def request_recovery(services: Services, account_id: UUID, request_id: str) -> None:
    account = services.lifecycle.account(account_id)
    account.request_credentials(request_id, "recovery", "system:recovery", services.clock())
    services.lifecycle.save(account)


def prepare(settings, accounts: int, rounds: int) -> dict[str, list[str]]:
    services = bootstrap(settings)
    try:
        services.directory.import_csv(members_csv(2 * accounts + 2))
        own_hash = BcryptHasher(rounds).hash(OWN)
        existing = [make_account(services, n, own_hash, False) for n in range(accounts)]
        recovering = [make_account(services, accounts + n, own_hash, True)
                      for n in range(accounts)]
        spare = make_account(services, 2 * accounts, own_hash, False)
        locked = make_account(services, 2 * accounts + 1, own_hash, False)
        for _ in range(FAILURES_BEFORE_LOCK):
            with suppress(InvalidCredentialsError):
                services.use_cases.sign_in.sign_in(locked, WRONG[0])
        assert services.lifecycle.account_by_identifier(locked).is_locked(services.clock())
    finally:
        services.close()
    taken = {*existing, *recovering, spare, locked}
    unknown: list[str] = []
    while len(unknown) < accounts * WRONG_PER_ACCOUNT + 1:
        candidate = str(random.randint(10_000_000, 99_999_999))
        if candidate not in taken and candidate not in unknown:
            unknown.append(candidate)
    return {"existing": existing, "recovering": recovering, "locked": [locked],
            "unknown": unknown, "spare": [spare]}


class Client:
    """One keep-alive connection, as a browser keeps one to the portal."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def sign_in(self, identifier: str, password: str) -> tuple[int, float]:
        body = json.dumps({"identifier": identifier, "password": password})
        started = time.perf_counter()
        self.connection.request("POST", "/api/v1/sessions", body=body,
                                headers={"Content-Type": "application/json"})
        response = self.connection.getresponse()
        response.read()
        return response.status, (time.perf_counter() - started) * 1000


def measure(layout: Layout, identifiers: dict[str, list[str]], n: int) -> dict[str, list[float]]:
    client = Client(layout.port)
    spare = identifiers["spare"][0]
    for _ in range(3):  # warm-up: the pool, the key cache, bcrypt's first run
        assert client.sign_in(spare, OWN)[0] == 201
        assert client.sign_in(identifiers["unknown"][-1], OWN)[0] == 401  # kept for this
    layout.settle()
    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for i in range(n):
        order = list(KINDS)
        random.shuffle(order)
        for kind in order:
            pool = identifiers[kind]
            identifier = pool[i % len(pool)] if kind != "unknown" else pool[i]
            status, ms = client.sign_in(identifier, WRONG[i % 2])
            assert status == 401, (kind, status)
            samples[kind].append(ms)
    return samples


def run_store(store: str, rounds: int, n: int) -> dict[str, list[float]]:
    accounts = -(-n // WRONG_PER_ACCOUNT)
    with tempfile.TemporaryDirectory() as tmp, store_url(store, tmp) as url:
        settings = bench_settings(tmp, url, ACCOUNTS_BCRYPT_ROUNDS=str(rounds))
        identifiers = prepare(settings, accounts, rounds)
        port = free_port()
        env = layout_env(tmp, url, REDIS, free_port(), port, ACCOUNTS_BCRYPT_ROUNDS=str(rounds))
        if store == "sqlite":  # the embedded default: one process, its own queue
            del env["ACCOUNTS_REDIS_URL"]
            env.update(ACCOUNTS_MAIL_URL=f"file://{tmp}/mail", WEB_WORKERS="1")
        try:
            with Layout(tmp, env, ("web",)) as layout:
                layout.settle()
                return measure(layout, identifiers, n)
        except OSError:
            print((Path(tmp) / f"web-{port}.log").read_text()[-3000:])
            raise


def ratio_interval(kind: list[float], unknown: list[float]) -> tuple[float, float]:
    """A 95% bootstrap interval of the ratio of medians: how much of it is noise."""
    ratios = sorted(
        statistics.median(random.choices(kind, k=len(kind)))
        / statistics.median(random.choices(unknown, k=len(unknown)))
        for _ in range(RESAMPLES)
    )
    return ratios[int(RESAMPLES * 0.025)], ratios[int(RESAMPLES * 0.975)]


def difference_interval(paired: list[float]) -> tuple[float, float]:
    """A 95% bootstrap interval of the median difference within a round."""
    medians = sorted(
        statistics.median(random.choices(paired, k=len(paired))) for _ in range(RESAMPLES)
    )
    return medians[int(RESAMPLES * 0.025)], medians[int(RESAMPLES * 0.975)]


def report(store: str, rounds: int, samples: dict[str, list[float]]) -> None:
    n = len(samples["unknown"])
    unknown = statistics.median(samples["unknown"])
    print(f"{store}, bcrypt cost {rounds}, {n} wrong sign-ins of each kind, interleaved,"
          f" through gunicorn (ms; load average {os.getloadavg()[0]:.1f}):")
    worst = 0.0
    for kind in KINDS:
        values = sorted(samples[kind])
        median = statistics.median(values)
        line = (f"  {kind:<11} median {median:6.1f}  p10 {values[n // 10]:6.1f}"
                f"  p90 {values[n * 9 // 10]:6.1f}")
        if kind != "unknown":
            low, high = ratio_interval(samples[kind], samples["unknown"])
            # The same rounds: what the load on the machine did to both.
            paired = [a - b for a, b in zip(samples[kind], samples["unknown"], strict=True)]
            low_d, high_d = difference_interval(paired)
            line += (f"  ratio to unknown {median / unknown:.3f} (95%: {low:.3f}-{high:.3f});"
                     f" per round {statistics.median(paired):+.1f} ms"
                     f" (95%: {low_d:+.1f} to {high_d:+.1f})")
            worst = max(worst, median / unknown)
        print(line)
    print(f"  largest ratio of medians {worst:.3f}:"
          f" {'within' if worst <= BOUND else 'NOT within'} {BOUND}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--n", type=int, default=120, help="sign-ins of each kind per store")
    parser.add_argument("--stores", default="sqlite,postgresql")
    args = parser.parse_args()
    for store in args.stores.split(","):
        report(store, args.rounds, run_store(store, args.rounds, args.n))


if __name__ == "__main__":
    main()
