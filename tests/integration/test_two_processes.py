"""Two real API processes (gunicorn, one worker each) sharing one PostgreSQL database.

Sessions and the lockout counter live in the shared database, so a token opened on one process
works on the other, a logout on one ends it on both, and failures on both count toward one lockout.
No Redis: each process sends its own e-mails in-process, as .eml files into one directory.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import DEMO_CSV, free_port, read_mail, text_of
from tests.processes import service_env, start, stop

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 30.0  # seconds: start-up of a process, or one e-mail delivery, with a wide margin
HELENE = {
    "member_number": "M1000001",
    "last_name": "Dupré-Lefèvre",
    "first_name": "Hélène",
    "birth_date": "1978-04-12",
    "email": "helene@example.org",
}
IDENTIFIER = re.compile(r"^Identifiant : (\d{8})\r?$", re.M)
PASSWORD = re.compile(r"^Mot de passe temporaire : ([A-Za-z0-9]{10})\r?$", re.M)


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> Response:
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(
            self.base + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=DEADLINE) as reply:
                status, raw, reply_headers = reply.status, reply.read(), dict(reply.headers)
        except urllib.error.HTTPError as error:
            status, raw, reply_headers = error.code, error.read(), dict(error.headers)
        return Response(status, json.loads(raw) if raw else None, reply_headers)


def wait_until(what: str, condition: Callable[[], Any], servers: list[Server]) -> Any:
    """Poll until `condition()` is truthy; fail early, with the logs, if a process died."""
    deadline = time.monotonic() + DEADLINE
    while True:
        with suppress(OSError):
            result = condition()
            if result:
                return result
        for server in servers:
            if not server.alive():
                pytest.fail(
                    f"API process {server.name} exited ({server.process.returncode}) before"
                    f" {what}:\n{server.log()}"
                )
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {s.name}:\n{s.log()}" for s in servers)
            pytest.fail(f"no {what} within {DEADLINE:.0f} s\n{logs}")
        time.sleep(0.1)


@contextmanager
def api_process(name: str, tmp_path: Path, env: dict[str, str]) -> Iterator[Server]:
    port = free_port()
    child = start(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "app:create_app()"],
        env,
        tmp_path / f"gunicorn-{name}.log",
    )
    try:
        yield Server(name, child.process, port, child.log_path)
    finally:
        stop(child.process)


@pytest.fixture
def two_servers(tmp_path: Path, postgres_url: str) -> Iterator[tuple[Server, Server, Path]]:
    mail_dir = tmp_path / "mail"
    env = service_env(postgres_url, f"file://{mail_dir}")
    imported = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "directory", "import", str(DEMO_CSV)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert imported.returncode == 0, imported.stdout + imported.stderr
    with ExitStack() as stack:
        a = stack.enter_context(api_process("A", tmp_path, env))
        b = stack.enter_context(api_process("B", tmp_path, env))
        for server in (a, b):
            wait_until(
                f"/healthz on {server.name}",
                lambda server=server: server.request("GET", "/healthz").status == 200,
                [a, b],
            )
        yield a, b, mail_dir


def credentials_from(mail_dir: Path, servers: list[Server]) -> tuple[str, str]:
    def delivered() -> list[Any]:
        return [m for m in read_mail(mail_dir) if IDENTIFIER.search(text_of(m))]

    [message] = wait_until("credentials e-mail", delivered, servers)
    assert message["To"] == HELENE["email"]
    body = text_of(message)
    return IDENTIFIER.search(body).group(1), PASSWORD.search(body).group(1)


def sign_in(server: Server, identifier: str, password: str) -> Response:
    return server.request(
        "POST", "/api/v1/sessions", {"identifier": identifier, "password": password}
    )


def test_a_session_opened_on_one_process_works_and_ends_on_the_other_and_lockout_is_shared(
    two_servers: tuple[Server, Server, Path],
) -> None:
    a, b, mail_dir = two_servers
    servers = [a, b]

    registered = a.request("POST", "/api/v1/registrations", HELENE)
    assert registered.status == 201, registered.body
    assert registered.body["status"] == "accepted"
    identifier, password = credentials_from(mail_dir, servers)

    # A session opened on A is known to B, and a logout on B ends it on A.
    opened = sign_in(a, identifier, password)
    assert opened.status == 201, opened.body
    assert opened.body["must_change_password"] is True
    token = opened.body["token"]
    me = b.request("GET", "/api/v1/me", token=token)
    assert me.status == 200, me.body
    assert me.body["identifier"] == identifier
    assert a.request("GET", "/api/v1/me", token=token).status == 200
    assert b.request("DELETE", "/api/v1/sessions/current", token=token).status == 204
    after_logout = a.request("GET", "/api/v1/me", token=token)
    assert after_logout.status == 401
    assert after_logout.body["code"] == "authentication_required"

    # Failures on both processes count toward one lockout: 3 on A and 2 on B lock the account.
    for server in (a, a, a, b, b):
        failed = sign_in(server, identifier, "wrong-password-1")
        assert failed.status == 401, (server.name, failed.body)
        assert failed.body["code"] == "invalid_credentials"
    for server in servers:
        locked = sign_in(server, identifier, password)
        assert locked.status == 401, (server.name, locked.body)
        assert locked.body["code"] == "invalid_credentials"

    # The lock notice is e-mailed, by whichever process recorded the fifth failure.
    def notices() -> list[Any]:
        return [m for m in read_mail(mail_dir) if not IDENTIFIER.search(text_of(m))]

    [notice] = wait_until("lockout notice", notices, servers)
    assert notice["To"] == HELENE["email"]
