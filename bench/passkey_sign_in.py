"""Passkey sign-ins per second against password sign-ins at bcrypt cost 12, in the same run
(issue 20).

    python -m bench.passkey_sign_in [--quick]      (PostgreSQL, Redis)

The Procfile's web process (gunicorn, 4 gthread workers × 2 threads) on a scratch PostgreSQL
database at ACCOUNTS_BCRYPT_ROUNDS=12. 8 members (bench/bulk.py accounts with an own password)
each add a passkey through the API, answered by the software authenticator of the tests
(tests/soft_authenticator.py: an ES256 key per credential, attestation "none"). Then 8 client
threads in a closed loop, one member each: password sign-ins (POST /api/v1/sessions), passkey
sign-ins, password sign-ins again, so that drift of the machine shows between the two password
figures. A passkey sign-in is what a browser does, nothing precomputed: POST
/api/v1/sessions/passkey/options, sign the challenge received, POST /api/v1/sessions/passkey.

Each load starts with a ramp that is not counted (at cost 12 a sign-in takes about a second of
wall time under 8 clients: a window counted from the start would miss its first second), then
counts the sign-ins completed within its window. The client is Python (wrk cannot sign a
challenge): the cores it uses are reported beside the service's (gunicorn and PostgreSQL).
Writes bench/results/passkey-sign-in.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import redis
import requests

from adapters.hashing import BcryptHasher
from bench import bulk
from bench.common import bench_settings
from bench.layout import (
    ROOT,
    Layout,
    free_port,
    layout_env,
    percentile,
    postgres_cpu_seconds,
    scratch_database,
    web_processes,
)
from bench.limits import CORES, PASSWORD
from bench.report import machine
from bootstrap import bootstrap
from tests.soft_authenticator import SoftAuthenticator

RESULTS = ROOT / "bench" / "results" / "passkey-sign-in.md"
REDIS = "redis://127.0.0.1:6379/10"  # benches use 10 to 15
ORIGIN, RP_ID = "http://localhost:5000", "localhost"  # the relying party the server is told
COST = 12
CLIENTS = 8
FIRST = 40_000_000  # bulk member numbers of this bench's own
# Seconds of ramp (not counted) and of window (counted) of each load, by --quick.
TIMES = {False: (5.0, 30.0), True: (2.0, 5.0)}


@dataclass
class Member:
    """One client thread's member: its identifier, its authenticator, its HTTP connection."""

    identifier: str
    authenticator: SoftAuthenticator
    http: requests.Session


@dataclass
class Load:
    kind: str
    window: float
    latencies: list[float] = field(default_factory=list)  # ms, of the sign-ins in the window
    failed: int = 0
    service_cpu: float = 0.0  # seconds, gunicorn and PostgreSQL, over the window
    client_cpu: float = 0.0  # seconds, this process (the 8 client threads), over the window

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.window

    @property
    def cpu_ms(self) -> float:
        return self.service_cpu * 1000 / max(1, len(self.latencies))


def enrolled(url: str, identifier: str) -> Member:
    """The member signs in with the password and adds a passkey, as on a new phone."""
    http = requests.Session()
    opened = http.post(f"{url}/api/v1/sessions",
                       json={"identifier": identifier, "password": PASSWORD})
    assert opened.status_code == 201 and not opened.json()["must_change_password"], opened.text
    bearer = {"Authorization": f"Bearer {opened.json()['token']}"}
    options = http.post(f"{url}/api/v1/me/passkeys/options", headers=bearer)
    assert options.status_code == 200, options.text
    authenticator = SoftAuthenticator(ORIGIN, RP_ID)
    created = authenticator.create(json.dumps(options.json()["options"]))
    added = http.post(f"{url}/api/v1/me/passkeys", headers=bearer,
                      json={"name": "Téléphone du banc d'essai", "credential": created})
    assert added.status_code == 201, added.text
    http.delete(f"{url}/api/v1/sessions/current", headers=bearer)
    return Member(identifier, authenticator, http)


def password_sign_in(url: str, member: Member) -> bool:
    return member.http.post(f"{url}/api/v1/sessions", json={
        "identifier": member.identifier, "password": PASSWORD}).status_code == 201


def passkey_sign_in(url: str, member: Member) -> bool:
    options = member.http.post(f"{url}/api/v1/sessions/passkey/options")
    if options.status_code != 200:
        return False
    credential = member.authenticator.get(json.dumps(options.json()["options"]))
    return member.http.post(f"{url}/api/v1/sessions/passkey",
                            json={"credential": credential}).status_code == 201


def closed_loop(
    layout: Layout, members: list[Member], kind: str, sign_in: Callable[[str, Member], bool],
    ramp: float, window: float,
) -> Load:
    """Each member's thread signs in again as soon as answered; counts the window only."""
    load = Load(kind, window)
    lock = threading.Lock()
    started = time.monotonic()
    opens, closes = started + ramp, started + ramp + window

    def client(member: Member) -> None:
        while (begun := time.monotonic()) < closes:
            ok = sign_in(layout.url, member)
            ended = time.monotonic()
            if opens <= ended < closes:
                with lock:
                    if ok:
                        load.latencies.append((ended - begun) * 1000)
                    else:
                        load.failed += 1

    def cpu() -> tuple[float, float]:
        return layout.cpu_seconds() + postgres_cpu_seconds(), time.process_time()

    with ThreadPoolExecutor(len(members)) as pool:
        running = [pool.submit(client, m) for m in members]
        time.sleep(max(0.0, opens - time.monotonic()))
        service, own = cpu()
        time.sleep(max(0.0, closes - time.monotonic()))
        service_after, own_after = cpu()
        for future in running:
            future.result()
    load.service_cpu, load.client_cpu = service_after - service, own_after - own
    assert load.failed == 0, f"{load.failed} {kind} sign-ins refused"
    return load


def measure(quick: bool) -> tuple[list[Load], float]:
    """The three loads, password, passkey, password; and the set-up's seconds."""
    ramp, window = TIMES[quick]
    redis.Redis.from_url(REDIS).flushdb()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, scratch_database() as url:
        settings = bench_settings(tmp, url)
        bootstrap(settings).close()  # the tables
        identifiers = bulk.generate(settings, url, CLIENTS, BcryptHasher(COST).hash(PASSWORD),
                                    first=FIRST)
        env = layout_env(tmp, url, REDIS, free_port(), free_port(),
                         ACCOUNTS_BCRYPT_ROUNDS=str(COST), ACCOUNTS_PORTAL_URL=ORIGIN)
        with Layout(tmp, env, ("web",)) as layout:
            with ThreadPoolExecutor(CLIENTS) as pool:
                members = list(pool.map(lambda i: enrolled(layout.url, i), identifiers))
            layout.settle()
            prepared = time.monotonic() - started
            loads = []
            for kind, sign_in in (("password", password_sign_in), ("passkey", passkey_sign_in),
                                  ("password", password_sign_in)):
                loads.append(closed_loop(layout, members, kind, sign_in, ramp, window))
                layout.settle()
    return loads, prepared


def report(loads: list[Load], quick: bool, prepared: float, elapsed: float) -> str:
    before, passkey, after = loads
    passwords = (before.per_second + after.per_second) / 2
    rows = [
        f"| {n} | {load.kind} | {len(load.latencies):,} | {load.per_second:,.2f} |"
        f" {percentile(load.latencies, 0.5):,.1f} | {percentile(load.latencies, 0.99):,.1f} |"
        f" {load.cpu_ms:,.1f} | {load.service_cpu / load.window:.2f} /"
        f" {load.client_cpu / load.window:.2f} |"
        for n, load in enumerate(loads, 1)
    ]
    ramp, window = TIMES[quick]
    return "\n".join([
        f"# Passkey sign-ins against password sign-ins at cost {COST} in the same run", "",
        "`python -m bench.passkey_sign_in" + (" --quick" if quick else "") + "`", "",
        *machine(),
        f"- gunicorn (the Procfile's web: {web_processes()}) on a scratch PostgreSQL"
        f" database, ACCOUNTS_BCRYPT_ROUNDS={COST}; {CLIENTS} Python client threads in a closed"
        f" loop, one member each; each load a {ramp:g} s ramp, then a {window:g} s window"
        f" counted (set-up {prepared:.0f} s, whole run {elapsed:.0f} s)",
        "- a passkey sign-in is two requests (the options, then the signed answer) and the"
        " client's ECDSA signature; a password sign-in is one request and the server's bcrypt",
        f"- CPU ms per sign-in: gunicorn and PostgreSQL over the window; cores (of {CORES}) used"
        " by the service and by the Python client",
        "", "| load | sign-in | in the window | per second | p50 ms | p99 ms |"
        " CPU ms each | cores: service / client |",
        "|---|---|---|---|---|---|---|---|", *rows, "",
        f"Passkey sign-ins per second against password sign-ins per second at cost {COST}:"
        f" **{ratio(passkey, passwords):,.1f}** × the mean of the two password loads"
        f" ({ratio(passkey, before.per_second):,.1f} × the first,"
        f" {ratio(passkey, after.per_second):,.1f} × the second; the second password load"
        f" is {ratio(after, before.per_second):.2f} × the first).",
        *(["", "`--quick`: a check that the bench runs; at cost 12 a few password sign-ins fit"
           " in its windows, so its ratios are not figures to keep."] if quick else []),
    ])


def ratio(load: Load, other: float) -> float:
    return load.per_second / other if other else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="3-second windows: a check that it runs, not figures to keep")
    args = parser.parse_args()
    started = time.monotonic()
    loads, prepared = measure(args.quick)
    text = report(loads, args.quick, prepared, time.monotonic() - started)
    RESULTS.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
