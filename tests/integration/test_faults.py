"""Faults injected into real servers: PostgreSQL cut off in the middle of a burst of
registrations (through a TCP proxy the test controls, never the shared server itself), and a
mail server refusing for a while. Each prints what it observed, for docs/reliability.md."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from tests.helpers import directory_csv, drain, generated_members, read_mail

BURST = 80
CUT_SECONDS = 8.0  # past what a request waits out (the library retries, the pool waits to connect)


def test_postgresql_cut_off_during_a_burst_loses_no_acknowledged_registration(
    proxied_app,
) -> None:
    app, proxy = proxied_app
    services = app.extensions["accounts"]
    members = generated_members(BURST, "F")
    services.directory.import_csv(directory_csv(members))
    answers: dict[str, tuple[int, Any]] = {}
    answered = threading.Semaphore(0)

    def register(member: tuple) -> None:
        number, last, first, born = member
        response = app.test_client().post("/api/v1/registrations", json={
            "member_number": number, "last_name": last, "first_name": first,
            "birth_date": born.isoformat(), "email": f"{number.lower()}@example.org",
        })
        answers[number] = (response.status_code, response.get_json())
        answered.release()

    def cut_midway() -> None:
        for _ in range(BURST // 4):
            answered.acquire()
        proxy.cut()
        time.sleep(CUT_SECONDS)
        proxy.restore()

    cutter = threading.Thread(target=cut_midway)
    cutter.start()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(register, members))
    cutter.join()

    statuses = Counter(status for status, _ in answers.values())
    print(f"\nPostgreSQL cut for {CUT_SECONDS} s during {BURST} registrations: {dict(statuses)}")
    assert set(statuses) <= {201, 503}, statuses
    assert statuses[503] > 0 and statuses[201] > 0, "the cut must land inside the burst"
    for status, body in answers.values():
        if status == 503:
            assert body["code"] == "service_unavailable"
    # Every acknowledged registration is in the store, and gets its e-mail.
    accepted = {n: body for n, (status, body) in answers.items() if status == 201}
    for body in accepted.values():
        registration = services.use_cases.registration
        assert registration.get_registration(UUID(body["registration_id"])).status == "accepted"
    # The service recovered by itself: the refused ones register now.
    client = app.test_client()
    for number, last, first, born in members:
        if answers[number][0] == 503:
            again = client.post("/api/v1/registrations", json={
                "member_number": number, "last_name": last, "first_name": first,
                "birth_date": born.isoformat(), "email": f"{number.lower()}@example.org",
            })
            assert again.status_code == 201, again.get_json()
    drain(services)
    sent = Counter(m["To"] for m in read_mail(services.settings.mail.directory))
    assert set(sent) == {f"{m[0].lower()}@example.org" for m in members}
    print(f"e-mails: {sum(sent.values())} for {len(members)} members,"
          f" duplicates {sum(sent.values()) - len(sent)}")


class RefusingHandler:
    """A mail server that answers 451 (try again later) to the first `refusals` messages."""

    def __init__(self, refusals: int):
        self.refusals, self.accepted, self.refused = refusals, [], 0

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refused < self.refusals:
            self.refused += 1
            return "451 4.3.0 Try again later"
        self.accepted.append(envelope.rcpt_tos[0])
        return "250 OK"


def refusing_app(tmp_path, database_url, clock, refusals: int):
    from aiosmtpd.controller import Controller

    from app import create_app
    from tests.helpers import DEMO_CSV, free_port, make_settings

    handler = RefusingHandler(refusals)
    smtp = Controller(handler, hostname="127.0.0.1", port=free_port())
    smtp.start()
    app = create_app(make_settings(tmp_path, database_url,
                                   ACCOUNTS_MAIL_URL=f"smtp://127.0.0.1:{smtp.port}"), clock)
    app.extensions["accounts"].directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
    return app, handler, smtp


def test_a_mail_server_refusing_for_a_while_delays_the_e_mail_and_loses_nothing(
    tmp_path, database_url, clock
) -> None:
    from tests.helpers import HELENE, event_types

    app, handler, smtp = refusing_app(tmp_path, database_url, clock, refusals=1)
    services = app.extensions["accounts"]
    try:
        assert app.test_client().post("/api/v1/registrations", json=HELENE).status_code == 201
        deadline = time.monotonic() + 60
        while not handler.accepted:
            assert time.monotonic() < deadline, "no retry within 60 s"
            time.sleep(0.1)
        assert handler.accepted == [HELENE["email"]] and handler.refused == 1
        types = event_types(services)
        assert types.count("CredentialsEmailFailed") == 1
        deadline = time.monotonic() + 10
        while "CredentialsEmailSent" not in event_types(services):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        print(f"\nSMTP refused once: 1 retry, e-mail sent, {len(handler.accepted)} accepted")
    finally:
        services.close()
        smtp.stop()


def test_a_mail_server_refusing_for_an_hour_puts_the_account_in_the_support_queue(
    tmp_path, database_url, clock
) -> None:
    from tests.helpers import HELENE, settle
    from workers.checks import flag_overdue_credentials

    app, handler, smtp = refusing_app(tmp_path, database_url, clock, refusals=10**6)
    services = app.extensions["accounts"]
    try:
        assert app.test_client().post("/api/v1/registrations", json=HELENE).status_code == 201
        deadline = time.monotonic() + 30
        while handler.refused == 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        settle(services)
        clock.advance(minutes=61)
        assert flag_overdue_credentials(
            services.use_cases.mail, services.support_queue, services.clock
        ) == 1
        settle(services)
        items, _ = services.support_queue.list_items("undelivered_email", "open", 10, None)
        assert len(items) == 1 and handler.accepted == []
    finally:
        services.close()
        smtp.stop()
