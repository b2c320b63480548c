"""The production layout, as the Procfile starts it: gunicorn with 2 workers, dramatiq with 2
processes, an active projection runner and a standby, on PostgreSQL, Redis and a real SMTP
server (aiosmtpd). Members register over HTTP; every credentials e-mail must arrive; then the
active runner is killed and the standby must take over and catch up.

Each Procfile line is started as a process of its own (not under honcho, which stops every
process when one dies: the point here is to kill one).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bootstrap import bootstrap
from tests.helpers import directory_csv, free_port, generated_members, make_settings, text_of
from tests.processes import ROOT, Child, service_env, start, stop

DEADLINE = 60.0
IDENTIFIER = re.compile(r"^Identifiant : (\d{8})\r?$", re.M)


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


@pytest.fixture
def layout(
    tmp_path: Path, postgres_url: str, redis_url: str, smtp_server
) -> Iterator[tuple[dict[str, Child], Callable[[str], Child], int]]:
    """Starts a Procfile entry by name; every process is stopped at teardown."""
    port = free_port()
    env = service_env(postgres_url, smtp_server.url, redis_url)
    (tmp_path / "metrics").mkdir()
    env.update(PORT=str(port), WEB_WORKERS="2", MAIL_PROCESSES="2",
               PATH=f"{Path(sys.executable).parent}:{env['PATH']}",
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    commands = procfile()
    running: dict[str, Child] = {}

    def launch(name: str, **extra_env: str) -> Child:
        running[name] = start(["bash", "-c", f"exec {commands[name]}"], {**env, **extra_env},
                              tmp_path / f"{name}.log")
        return running[name]

    try:
        yield running, launch, port
    finally:
        for child in running.values():
            stop(child.process, timeout=20)


def wait_until(what: str, condition: Callable[[], bool], *watched: Child) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        for child in watched:
            if not child.alive():
                pytest.fail(f"{child.log_path.name} exited before {what}:\n{child.log()}")
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {c.log_path.name}\n{c.log()[-3000:]}" for c in watched)
            pytest.fail(f"no {what} within {DEADLINE:.0f} s\n{logs}")
        time.sleep(0.05)


def post(port: int, path: str, body: dict[str, str]) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def register_all(port: int, members: list[tuple]) -> list[tuple[int, dict[str, str]]]:
    def one(member: tuple) -> tuple[int, dict[str, str]]:
        number, last, first, born = member
        return post(port, "/api/v1/registrations", {
            "member_number": number, "last_name": last, "first_name": first,
            "birth_date": born.isoformat(), "email": f"{number.lower()}@example.org",
        })

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, members))


def test_the_production_layout_registers_sends_every_email_and_survives_a_runner_death(
    tmp_path: Path, postgres_url: str, smtp_server, layout
) -> None:
    running, launch, port = layout
    members = generated_members(60, "P")
    services = bootstrap(make_settings(tmp_path, postgres_url))  # to read the database
    try:
        services.directory.import_csv(directory_csv(members))
        web, worker = launch("web"), launch("worker")
        first = launch("projections")
        wait_until("the first runner to be active", lambda: "active:" in first.log(), first)
        standby = launch("standby")
        wait_until("the second runner to stand by", lambda: "standby:" in standby.log(), standby)
        wait_until("the API", lambda: healthy(port), web)

        answers = register_all(port, members[:40])
        assert [status for status, _ in answers] == [201] * 40, answers
        assert {body["status"] for _, body in answers} == {"accepted"}

        def mailed() -> set[str]:
            return {
                r.rcpt_tos[0] for r in smtp_server.handler.snapshot()
                if IDENTIFIER.search(text_of(r.message))
            }

        wait_until("every credentials e-mail", lambda: len(mailed()) == 40, web, worker)
        assert mailed() == {f"{m[0].lower()}@example.org" for m in members[:40]}

        def position() -> int:
            return services.support_queue.max_tracking_id("support_queue") or 0

        def head() -> int:
            return services.lifecycle.recorder.max_notification_id() or 0

        wait_until("the active runner's catch-up", lambda: position() == head(), first)
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)

        assert [s for s, _ in register_all(port, members[40:])] == [201] * 20
        wait_until("the standby to take over", lambda: "active:" in standby.log(), standby)
        wait_until("the standby's catch-up", lambda: position() == head(), standby)
        wait_until("the later e-mails", lambda: len(mailed()) == 60, worker)
        for name in ("web", "worker", "standby"):
            assert running[name].alive(), running[name].log()
        assert_json_logs_with_request_ids(running)
        assert_metrics_add_up_across_processes(port)
    finally:
        services.close()


def assert_json_logs_with_request_ids(running: dict[str, Child]) -> None:
    """Every line of every process is a JSON object; each credentials e-mail job logs the id
    of the registration request that caused it."""
    records = {
        name: [json.loads(line) for line in child.log().splitlines()]
        for name, child in running.items()
    }
    registrations = {
        r["request_id"] for r in records["web"]
        if r.get("path") == "/api/v1/registrations" and r.get("status") == 201
    }
    jobs = [r for r in records["worker"] if r["event"] == "e-mail sent"]
    assert len(registrations) == 60 and len(jobs) == 60
    assert {r["request_id"] for r in jobs} == registrations


def assert_metrics_add_up_across_processes(port: int) -> None:
    """Whichever gunicorn worker answers, /metrics adds up both API workers' requests and the
    dramatiq processes' e-mails (prometheus-client's multiprocess mode)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()

    def value(series: str) -> float:
        found = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
        assert found, (series, text[:3000])
        return float(found.group(1))

    assert value('accounts_registrations_total{outcome="accepted"}') == 60
    assert value('accounts_emails_total{mail="credentials",result="sent"}') == 60
    assert value('accounts_email_delay_seconds_count{mail="credentials"}') == 60
    assert value('accounts_http_requests_total{endpoint="/api/v1/registrations",'
                 'method="POST",status="201"}') == 60


def test_sigterm_lets_the_api_finish_the_requests_in_flight(
    tmp_path: Path, postgres_url: str, layout
) -> None:
    """gunicorn's graceful stop: a sign-in (about a second at bcrypt cost 14) in a worker's
    hands when SIGTERM comes still gets its answer, then the server exits cleanly. One worker,
    known to be up: a connection no worker has accepted yet is refused once the listener
    closes, which is not what this checks."""
    _, launch, port = layout
    services = bootstrap(make_settings(tmp_path, postgres_url))
    services.close()  # the tables exist before the server starts
    web = launch("web", ACCOUNTS_BCRYPT_ROUNDS="14", WEB_WORKERS="1")
    wait_until("the API", lambda: healthy(port), web)
    body = {"identifier": "12345678", "password": "Quelconque-2026"}  # an unknown identifier
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(post, port, "/api/v1/sessions", body)
        time.sleep(0.4)  # accepted by the worker, hashing, not answered yet
        assert not future.done()
        web.process.send_signal(signal.SIGTERM)
        status, answer = future.result()
    assert (status, answer["code"]) == (401, "invalid_credentials")
    assert web.process.wait(timeout=40) == 0, web.log()
    assert not healthy(port)


def test_processes_starting_together_on_a_fresh_database_all_come_up(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    """Every process creates the tables it needs at start; eight at once on an empty database
    must not trip over each other in PostgreSQL's catalogue ("tuple concurrently updated")."""
    env = service_env(postgres_url, f"file://{tmp_path / 'mail'}", redis_url)
    code = ("from adapters.settings import Settings; from bootstrap import bootstrap; "
            "bootstrap(Settings.from_env()).close(); print('up')")
    children = [start([sys.executable, "-c", code], env, tmp_path / f"start-{n}.log")
                for n in range(8)]
    for child in children:
        assert child.process.wait(timeout=60) == 0, child.log()
        assert child.log().rstrip().endswith("up"), child.log()
