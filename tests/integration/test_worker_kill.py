"""A dramatiq worker process killed with SIGKILL in the middle of sending credentials e-mails
(a slow mail server holds each message for a second): a new worker takes over and every member
still gets an e-mail. Unacknowledged messages of a dead worker return to the queue once its
heartbeat is stale (dramatiq's Redis broker, about a minute), hence `slow`. Duplicates, when the
kill lands after the mail server accepted a message but before it was acknowledged, are
counted and printed: the later e-mail's password is the one that works."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.helpers import directory_csv, free_port, generated_members, make_settings
from tests.processes import service_env, start, stop

MEMBERS = 6


class SlowHandler:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.accepted: list[str] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.started.append(envelope.rcpt_tos[0])
        await asyncio.sleep(1.0)
        self.accepted.append(envelope.rcpt_tos[0])
        return "250 OK"


@pytest.mark.slow
def test_a_worker_killed_mid_send_leaves_no_member_without_an_e_mail(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    from app import create_app

    handler = SlowHandler()
    smtp = Controller(handler, hostname="127.0.0.1", port=free_port())
    smtp.start()
    mail_url = f"smtp://127.0.0.1:{smtp.port}"
    app = create_app(make_settings(tmp_path, postgres_url, ACCOUNTS_REDIS_URL=redis_url,
                                   ACCOUNTS_MAIL_URL=mail_url))
    services = app.extensions["accounts"]
    members = generated_members(MEMBERS, "W")
    services.directory.import_csv(directory_csv(members))
    env = service_env(postgres_url, mail_url, redis_url)
    command = [sys.executable, "-m", "dramatiq", "--skip-logging", "workers.main",
               "--processes", "1", "--threads", "2"]
    first = start(command, env, tmp_path / "worker-1.log")
    second = None
    try:
        client = app.test_client()
        for number, last, first_name, born in members:
            assert client.post("/api/v1/registrations", json={
                "member_number": number, "last_name": last, "first_name": first_name,
                "birth_date": born.isoformat(), "email": f"{number.lower()}@example.org",
            }).status_code == 201
        deadline = time.monotonic() + 30
        while not handler.started:
            assert first.alive() and time.monotonic() < deadline, first.log()
            time.sleep(0.02)
        os.killpg(first.process.pid, signal.SIGKILL)  # mid-send: the server holds the message
        first.process.wait(timeout=10)
        second = start(command, env, tmp_path / "worker-2.log")
        wanted = {f"{m[0].lower()}@example.org" for m in members}
        deadline = time.monotonic() + 180
        while set(handler.accepted) != wanted:
            assert second.alive(), second.log()
            assert time.monotonic() < deadline, (sorted(handler.accepted), second.log()[-2000:])
            time.sleep(0.2)
        counts = Counter(handler.accepted)
        duplicates = sum(counts.values()) - len(counts)
        print(f"\nworker SIGKILLed mid-send: {len(counts)}/{MEMBERS} members mailed, "
              f"{duplicates} duplicate(s), {len(handler.started)} SMTP transactions begun")
    finally:
        if second is not None:
            stop(second.process)
        services.close()
        smtp.stop()
