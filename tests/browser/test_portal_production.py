"""The member's first journey through the pages in the production layout: PostgreSQL, Redis, a
dramatiq worker process that sends the e-mails to an SMTP server (aiosmtpd) and a projection
runner process; the pages are served by this process as gunicorn would serve them.

Activation, the credentials e-mail as the SMTP server received it, the first sign-in, the forced
change, then the reimbursements a claims feed posts, with an alert e-mail.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app import create_app
from tests.browser.conftest import Portal, credentials_in
from tests.helpers import (
    DEMO_CSV,
    HELENE,
    OWN_PASSWORD,
    SmtpServer,
    make_settings,
    settle,
    text_of,
    wait_for,
)
from tests.integration.conftest import smtp_server  # noqa: F401  (the fixture, reused)
from tests.processes import Child, service_env, start, stop
from tests.served import served

DEADLINE = 30.0  # seconds: a worker's start-up and one delivery, with a wide margin


@dataclass
class Layout:
    portal: Portal
    smtp: SmtpServer
    children: list[Child]

    def mail_to(self, address: str, subject: str) -> str:
        """The text of the e-mail to `address` whose subject holds `subject`, once received."""

        def received() -> list[str]:
            for child in self.children:
                assert child.alive(), f"{child.log_path.name} exited:\n{child.log()}"
            return [text_of(r.message).replace("\r\n", "\n")  # SMTP lines end in CRLF
                    for r in self.smtp.handler.snapshot()
                    if address in r.rcpt_tos and subject in str(r.message["Subject"])]

        wait_for(received, DEADLINE, f"an e-mail « {subject} » to {address}")
        [body] = received()
        return body


@pytest.fixture
def layout(
    tmp_path: Path, postgres_url: str, redis_url: str, smtp_server: SmtpServer,  # noqa: F811
    page: Page,
) -> Iterator[Layout]:
    settings = make_settings(tmp_path, postgres_url, ACCOUNTS_REDIS_URL=redis_url,
                             ACCOUNTS_MAIL_URL=smtp_server.url)
    app = create_app(settings)
    services = app.extensions["accounts"]
    services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
    env = service_env(postgres_url, smtp_server.url, redis_url)
    children = [
        start([sys.executable, "-m", "dramatiq", "workers.main", "--processes", "1",
               "--threads", "2"], env, tmp_path / "worker.log"),
        start([sys.executable, "-m", "workers.projections"], env, tmp_path / "projections.log"),
    ]
    try:
        with served(app) as base_url:
            yield Layout(Portal(page, base_url, services, app.test_client()), smtp_server,
                         children)
    finally:
        for child in children:
            child.process.terminate()  # both stop at once, then each is waited for
        for child in children:
            stop(child.process)
        services.close()


def test_activation_to_reimbursements_on_postgres_redis_and_smtp(layout: Layout):
    portal, page = layout.portal, layout.portal.page
    accepted = portal.register()
    assert accepted.status == 200 and "/activer/suivi/" in accepted.url
    portal.notice("Votre compte est activé.")
    identifier, temporary = credentials_in(layout.mail_to(HELENE["email"], "codes d'accès"))

    settle(portal.services, timeout=DEADLINE)  # the runner process keeps the read models
    assert portal.sign_in(identifier, temporary).url.endswith("/mon-espace/nouveau-mot-de-passe")
    home = portal.choose_password(temporary, OWN_PASSWORD)
    assert home.status == 200 and home.url.endswith("/mon-espace")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Hélène Dupré-Lefèvre")

    with page.expect_navigation():
        page.get_by_role("link", name="Votre complémentaire santé").click()
    portal.submit("Activer les alertes")
    portal.notice("Les alertes e-mail de remboursement sont activées.")
    portal.reimburse(amount="42.5")  # waits for the runner process's read models
    alert = layout.mail_to(HELENE["email"], "remboursement")
    assert "42,50\u00a0€" in alert

    page.reload()
    contract = portal.region("Contrat SANTE-IND-001")
    expect(contract.get_by_role("row").nth(1)).to_contain_text("Zoé")
    expect(contract.get_by_role("cell", name="42,50\u00a0€")).to_be_visible()
