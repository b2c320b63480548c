"""Fixtures and helpers of the browser tests: Debian's Chromium driven by Playwright against the
application served by a real HTTP server (werkzeug, in a thread of this process), on SQLite.

`Portal` drives the member pages by their accessible names (CONTRACT.md, "Member portal
pages") and reads the e-mails the service sent; the test files import it from here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Response,
    expect,
    sync_playwright,
)

from tests.helpers import (
    FEED,
    HELENE,
    IDENTITY,
    OWN_PASSWORD,
    Member,
    bearer,
    feed_item,
    inbox,
    open_account,
    settle,
    text_of,
)
from tests.served import served

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
CONTEXT = {"locale": "fr-FR", "viewport": {"width": 1100, "height": 800}}
CREDENTIALS = (re.compile(r"^Identifiant : (\d{8})$", re.M),
               re.compile(r"^Mot de passe temporaire : (\S+)$", re.M))
CODE = re.compile(r"^Code de vérification : (\S+)$", re.M)
# A member of the demo directory (demo/members.csv) with no health section.
ELOISE = {"member_number": "M1000008", "last_name": "Cœurdevey", "first_name": "Éloïse",
          "birth_date": "1990-01-15", "email": "eloise@example.org"}
FIELDS = {"member_number": "Numéro d'adhérent", "last_name": "Nom", "first_name": "Prénom",
          "birth_date": "Date de naissance", "email": "Adresse e-mail",
          "new_email": "Nouvelle adresse e-mail", "secret_question": "Question secrète",
          "secret_answer": "Réponse secrète"}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the browser adds nothing a second store would test."""
    return f"sqlite:///{tmp_path / 'accounts.sqlite3'}"


@pytest.fixture
def base_url(app) -> Iterator[str]:
    with served(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module; each test has contexts (cookie jars) of its own. Not one
    per session: Playwright's sync API leaves its event loop marked as running in this thread
    until it stops, and a later test of another module calling asyncio.run() would fail."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (as .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Contexts the test opens (`new_page`), all closed at its end."""
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


@pytest.fixture
def new_page(browser: Browser, contexts: list[BrowserContext]):
    """A page in a fresh context: another browser, with no cookie of the first."""

    def make() -> Page:
        context = browser.new_context(**CONTEXT)
        context.set_default_timeout(10_000)  # a missing element fails in seconds, not 30
        contexts.append(context)
        return context.new_page()

    return make


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


@pytest.fixture
def portal(page: Page, base_url: str, services, app) -> Portal:
    return Portal(page, base_url, services, app.test_client())


def credentials_in(body: str) -> tuple[str, str]:
    """(identifier, temporary password) of a credentials e-mail's text."""
    identifier, password = (pattern.search(body) for pattern in CREDENTIALS)
    assert identifier and password, body
    return identifier.group(1), password.group(1)


def french_day(iso: str) -> str:
    """1978-04-12 as a member types it: 12/04/1978."""
    return date.fromisoformat(iso).strftime("%d/%m/%Y")


@dataclass
class Portal:
    """One member's browser on the portal, and what the service e-mailed."""

    page: Page
    base_url: str
    services: Any
    client: Any  # the Flask test client, for the API calls that set a scene up
    claims_token: str | None = None
    unread: list[EmailMessage] = field(default_factory=list)

    def goto(self, path: str) -> Response:
        response = self.page.goto(self.base_url + path)
        assert response is not None
        return response

    def region(self, name: str) -> Locator:
        """A <section> labelled by its heading: a contract, a part of "Modifier mes infos"."""
        return self.page.get_by_role("region", name=name)

    def field(self, name: str, within: Locator | None = None) -> Locator:
        return (within or self.page).get_by_label(name, exact=True)

    def fill(self, values: dict[str, str], within: Locator | None = None) -> None:
        """Types each value into the field of that accessible name."""
        for name, value in values.items():
            self.field(name, within).fill(value)

    def submit(self, button: str, within: Locator | None = None) -> Response:
        """Clicks a button and returns the answer of the page it leads to (after redirects)."""
        with self.page.expect_navigation() as navigation:
            (within or self.page).get_by_role("button", name=button, exact=True).click()
        return navigation.value

    def notice(self, text: str) -> None:
        """A role="status" notice holding `text` is shown."""
        expect(self.page.get_by_role("status").filter(has_text=text)).to_be_visible()

    def identity(self, member: dict[str, str], **fields: str) -> dict[str, str]:
        """The form values of a member's identity (and `fields`, by API name)."""
        values = {name: member[name] for name in IDENTITY} | fields
        values["birth_date"] = french_day(values["birth_date"])
        return {FIELDS[name]: value for name, value in values.items()}

    def register(self, member: dict[str, str] = HELENE, **fields: str) -> Response:
        self.goto("/activer")
        self.fill(self.identity(member, **{"email": member["email"], **fields}))
        return self.submit("Activer mon compte")

    def sign_in(self, identifier: str, password: str) -> Response:
        self.goto("/connexion")
        self.fill({"Identifiant": identifier, "Mot de passe": password})
        return self.submit("Se connecter")

    def choose_password(self, current: str, new: str) -> Response:
        self.fill({"Mot de passe actuel": current, "Nouveau mot de passe": new})
        return self.submit("Changer mon mot de passe")

    def mail(self, to: str) -> list[str]:
        """The bodies (text part) of the e-mails sent to `to` not read yet, once every queued
        job has run."""
        self.unread += inbox(self.services)
        mine = [m for m in self.unread if m["To"] == to]
        self.unread = [m for m in self.unread if m["To"] != to]
        return [text_of(m) for m in mine]

    def credentials(self, to: str) -> tuple[str, str]:
        """(identifier, temporary password) of the one credentials e-mail just sent to `to`."""
        [body] = [b for b in self.mail(to) if CREDENTIALS[1].search(b)]
        return credentials_in(body)

    def signed_in(self, member: dict[str, str] = HELENE) -> Member:
        """`member` registered (API), chose OWN_PASSWORD and signed in here: at /mon-espace."""
        self.unread += inbox(self.services)  # open_account reads the e-mails it causes
        account = open_account(self.client, self.services, **member)
        assert self.sign_in(account.identifier, OWN_PASSWORD).url.endswith("/mon-espace")
        return account

    def reimburse(self, **changes: object) -> None:
        """The claims feed pays one of Zoé's care (a child on Hélène's contract)."""
        if self.claims_token is None:
            self.claims_token = self.services.staff_tokens.create("flux", "claims")
        response = self.client.post(
            FEED, json=feed_item(**changes), headers=bearer(self.claims_token)
        )
        assert response.status_code == 202, response.get_json()
        settle(self.services)
