"""Races for real: the service under gunicorn, as in production, and client threads that a
barrier releases at the same instant, each on a connection of its own. Used by the tests of
concurrent commands (test_concurrency.py) and of the guards (test_guard_races.py)."""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import bearer, free_port, text_of
from tests.processes import Child, service_env, start, stop

WORKERS = 4  # gunicorn worker processes
THREADS = 13  # request threads in each: every request of a race is inside the application
DEADLINE = 60.0  # seconds: start-up of the workers, or one answer, with a wide margin
BOOTED = "e-mails are written as .eml files"  # logged once by each worker's create_app()


# The service, as gunicorn runs it.


@contextmanager
def api_server(
    tmp_path: Path, database_url: str, workers: int = WORKERS, threads: int = THREADS,
    **settings: str,
) -> Iterator[tuple[Child, int]]:
    """gunicorn with `workers` processes of `threads` threads on the test's database and mail
    directory (the `app` fixture's), yielded once every worker has built its application.
    `settings`: ACCOUNTS_* values of its own (e.g. ACCOUNTS_BCRYPT_ROUNDS)."""
    port = free_port()
    env = {**service_env(database_url, f"file://{tmp_path / 'mail'}"), **settings}
    child = start(
        [sys.executable, "-m", "gunicorn", "-c", "python:adapters.gunicorn_conf",
         "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
         # Other tests may run a gunicorn at the same time: no shared control socket.
         "--no-control-socket", "--bind", f"127.0.0.1:{port}", "app:create_app()"],
        env,
        tmp_path / "gunicorn.log",
    )
    try:
        deadline = time.monotonic() + DEADLINE
        while child.log().count(BOOTED) < workers:
            if not child.alive():
                pytest.fail(f"gunicorn exited ({child.process.returncode}):\n{child.log()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{workers} workers not up within {DEADLINE:.0f} s:\n{child.log()}")
            time.sleep(0.1)
        yield child, port
    finally:
        stop(child.process)


@dataclass(frozen=True)
class Command:
    kind: str  # a key of EXPECTED
    method: str
    path: str
    body: dict[str, str] | None
    token: str
    who: str = ""  # the support agent
    target: str = ""  # the support request decided
    subject: str = ""  # its kind: email_update or closure


@dataclass(frozen=True)
class Answer:
    command: Command
    status: int  # 0: no HTTP answer at all
    body: Any

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def call(port: int, command: Command) -> Answer:
    data = None if command.body is None else json.dumps(command.body).encode("utf-8")
    headers = {"Accept": "application/json", **(bearer(command.token) if command.token else {})}
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{command.path}", data=data, headers=headers,
        method=command.method,
    )
    try:
        with urllib.request.urlopen(request, timeout=DEADLINE) as reply:
            status, raw = reply.status, reply.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except OSError as error:  # reset, refused, timed out: no answer at all
        return Answer(command, 0, f"{type(error).__name__}: {error}")
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    return Answer(command, status, body)


def fire(port: int, commands: list[Command]) -> list[Answer]:
    """Every command from a thread of its own, all released at the same instant."""
    return fire_staggered(port, commands, [0.0] * len(commands))


def fire_staggered(port: int, commands: list[Command], delays: list[float]) -> list[Answer]:
    """Like fire(), but command i leaves `delays[i]` seconds after the common release: to
    spread a burst across the window of a slower command (a bcrypt check, a worker's save)."""
    assert len(delays) == len(commands)
    barrier = threading.Barrier(len(commands))
    answers: list[Answer | None] = [None] * len(commands)

    def run(index: int) -> None:
        barrier.wait(timeout=DEADLINE)
        time.sleep(delays[index])
        answers[index] = call(port, commands[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(commands))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * DEADLINE)
    assert all(a is not None for a in answers), "a client thread never finished"
    return answers  # type: ignore[return-value]


# What a race left behind: the account's events, and the e-mails its workers wrote.


def stream_events(services, identifier: str, after: int = 0) -> list[tuple[int, str, Any]]:
    """(log position, type, event) of the account's stream recorded after position `after`,
    in log order (every process's writes, read back from the shared database)."""
    from uuid import UUID

    account_id = services.use_cases.support.account_for_support(identifier).id
    lifecycle = services.lifecycle
    return [
        (n.id, n.topic.rpartition(".")[2], lifecycle.mapper.to_domain_event(n))
        for n in lifecycle.recorder.select_notifications(start=after + 1, limit=100_000)
        if UUID(str(n.originator_id)) == account_id
    ]


def mail_settled(services, account_id, timeout: float = DEADLINE) -> None:
    """Wait until the service's workers have done the account's mail: no credentials request
    or e-mail change waits for its worker, every password or code drawn went out, and every
    notice is recorded. Then the mail directory holds all the race's e-mails."""
    from domain.mail import mail_due
    from domain.use_cases.mail_delivery import is_owed_an_email

    lifecycle = services.lifecycle

    def done() -> bool:
        account = lifecycle.account(account_id)
        requests = account.credentials_requests
        pending_change = account.email_change
        notices = [
            e.originator_version for e in lifecycle.events.get(account_id)
            if mail_due(e) is not None
        ]
        return (
            not any(is_owed_an_email(account, r.request_id) for r in requests)
            and all(r.sent for r in requests if r.issued)
            and (pending_change is None or pending_change.token_digest is not None)
            and set(notices) <= set(account.notified_versions)
        )

    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"the account's mail still not done after {timeout:.0f} s")
        time.sleep(0.1)


def mail_files(directory: Path) -> list[tuple[str, str]]:
    """(recipient, body) of every .eml file in the mail directory, oldest first."""
    from email import message_from_bytes, policy

    found = []
    for path in sorted(directory.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        found.append((str(message["To"]), text_of(message)))
    return found


@contextmanager
def hammered(port: int, command: Command, threads: int) -> Iterator[list[Answer]]:
    """`threads` clients sending `command` again and again, each as soon as its previous answer
    came, for as long as the block lasts (then the requests in flight finish). Yields the list
    their answers go to, in the order they came."""
    stop = threading.Event()
    answers: list[Answer] = []
    lock = threading.Lock()

    def run() -> None:
        while not stop.is_set():
            answer = call(port, command)
            with lock:
                answers.append(answer)

    clients = [threading.Thread(target=run) for _ in range(threads)]
    for client in clients:
        client.start()
    try:
        yield answers
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=2 * DEADLINE)
    assert not any(c.is_alive() for c in clients), "a client thread never finished"
