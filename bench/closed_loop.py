"""Issue 21's outside-in figures for `make bench`: what a front-end sees from 4 closed-loop
clients (each sends its next request when the last is answered, over one kept-alive
connection), with the CPU every process of ours, PostgreSQL and Redis spent per request; the
bcrypt bound measured just before and just after each figure it divides (the machine drifts
between minutes), the larger of the two taken."""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller

from bench.layout import Inbox, free_port, named_cpu_seconds, postgres_cpu_seconds
from bench.limits import CORES, bcrypt_per_second

CLIENTS = 4


@dataclass
class Loop:
    ok: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


# request(connection, n): sends the n-th request on the client's connection; True when it
# was answered as it should be.
Request = Callable[[http.client.HTTPConnection, int], bool]


def closed_loop(port: int, request: Request, seconds: float, clients: int = CLIENTS) -> Loop:
    loop, lock, numbers = Loop(), threading.Lock(), itertools.count()
    deadline = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                ok = request(connection, next(numbers))
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                ok = False
            with lock:
                loop.latencies.append(time.perf_counter() - started)
                loop.ok += ok
                loop.errors += not ok
        connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    loop.seconds = time.monotonic() - started
    return loop


def post(connection: http.client.HTTPConnection, path: str, body: dict) -> tuple[int, bytes]:
    connection.request("POST", path, body=json.dumps(body),
                       headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, response.read()


def sign_in(identifiers: list[str], password: str) -> Request:
    def request(connection: http.client.HTTPConnection, n: int) -> bool:
        status, _ = post(connection, "/api/v1/sessions", {
            "identifier": identifiers[n % len(identifiers)], "password": password,
        })
        return status == 201
    return request


def register(first: int) -> Request:
    """As bench/wrk.py's registrations: members bulk.add_members put in the directory."""
    def request(connection: http.client.HTTPConnection, n: int) -> bool:
        number = first + n
        status, body = post(connection, "/api/v1/registrations", {
            "member_number": f"B{number:08d}", "last_name": f"Bench{number}",
            "first_name": "Camille", "birth_date": "1960-01-01",
            "email": f"b{number:08d}@example.org",
        })
        # A member missing from the directory is answered 201 too, refused: not a registration.
        return status == 201 and json.loads(body)["status"] == "accepted"
    return request


def all_cpu_seconds(layout_cpu: Callable[[], float]) -> float:
    """Our processes' (the layout's), PostgreSQL's and Redis's CPU: the driver's own and the
    SMTP sink's, in this process, are left out."""
    return layout_cpu() + postgres_cpu_seconds() + named_cpu_seconds("redis-server")


class BoundAround:
    """The bcrypt bound at a cost, measured just before and just after a figure."""

    def __init__(self, cost: int, seconds: float):
        self.cost, self.seconds = cost, seconds
        self.before = bcrypt_per_second(cost, seconds)
        self.after = 0.0

    def __enter__(self) -> BoundAround:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.after = bcrypt_per_second(self.cost, self.seconds)

    @property
    def limit(self) -> float:
        return max(self.before, self.after)

    @property
    def cpu_ms_per_hash(self) -> float:
        """CPU ms of one verification: every core busy at the bound."""
        return 1000 * CORES / self.limit

    def said(self) -> str:
        return f"{self.before:.2f}/s before, {self.after:.2f}/s after"


class SmtpSink:
    """aiosmtpd on a free port, counting the recipients' first messages."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=free_port())

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port

    def wait_for(self, count: int, timeout: float = 300) -> int:
        deadline = time.monotonic() + timeout
        while len(self.inbox.arrived) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        return len(self.inbox.arrived)
