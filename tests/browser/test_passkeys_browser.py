"""Passkeys in a real Chromium (Debian's, via Playwright) with a CDP virtual authenticator,
against a real server, on SQLite and PostgreSQL (issue 20, "What it must show"): add a passkey,
sign out, sign in with it, require it, fail a password-only sign-in, use a recovery code,
remove the passkey; by the pages' accessible names, through static/passkeys.js.

WebAuthn wants a domain name: the relying party is the host of ACCOUNTS_PORTAL_URL and an IP
address cannot be one, so the server is reached at http://localhost:<port> (a secure context
for Chromium, like https).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Portal
from tests.helpers import OWN_PASSWORD, free_port, make_settings
from tests.served import served

SECURITY = "/mon-espace/securite"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "portal"
AUTHENTICATOR = {
    "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
    "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True,
}


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both stores: passkeys, challenges and recovery codes live in each."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'accounts.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def portal_port() -> int:
    return free_port()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, portal_port: int):
    return make_settings(tmp_path, database_url,
                         ACCOUNTS_PORTAL_URL=f"http://localhost:{portal_port}")


@pytest.fixture
def base_url(app, portal_port: int) -> Iterator[str]:
    """The app on the loopback at the port its settings name, reached as localhost."""
    with served(app, portal_port, host="localhost") as url:
        yield url


def virtual_authenticator(page: Page) -> tuple[Any, str]:
    """A platform authenticator in this page's browser that says yes by itself."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    return cdp, added["authenticatorId"]


def add_passkey(p: Portal, name: str) -> list[str]:
    """Adds a passkey from the Sécurité page; the recovery codes shown, if any."""
    p.goto(SECURITY)
    p.fill({"Nom de la clé": name})
    response = p.submit("Ajouter une clé d'accès")
    assert response.status == 200
    codes = p.page.get_by_role("list", name="Codes de secours")
    return [code.strip() for code in codes.get_by_role("listitem").all_inner_texts()]


def sign_out(p: Portal) -> None:
    p.submit("Se déconnecter")
    expect(p.page).to_have_url(f"{p.base_url}/connexion")


def screenshot(p: Portal, name: str, database_url: str) -> None:
    # Only when asked (DOCS_SCREENSHOTS=1): a test run must not rewrite the documentation.
    if os.environ.get("DOCS_SCREENSHOTS") and database_url.startswith("sqlite"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        p.page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_a_member_adds_a_passkey_signs_in_with_it_requires_it_and_recovers_with_a_code(
    portal: Portal, database_url: str
):
    p = portal
    cdp, authenticator = virtual_authenticator(p.page)
    member = p.signed_in()

    codes = add_passkey(p, "Mon ordinateur")
    assert len(codes) == 10 and len(set(codes)) == 10
    expect(p.page.get_by_role("heading", level=1)).to_have_text("Vos codes de secours")
    screenshot(p, "codes-de-secours.png", database_url)
    [stored] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})[
        "credentials"]
    assert stored["isResidentCredential"] and stored["rpId"] == "localhost"

    p.goto(SECURITY)
    card = p.page.get_by_role("listitem").filter(has_text="Mon ordinateur")
    remove = card.get_by_role("button", name="Supprimer", exact=True)
    expect(remove).to_have_accessible_description("Mon ordinateur")
    expect(p.page.get_by_role("list", name="Codes de secours")).to_have_count(0)  # once only
    screenshot(p, "securite.png", database_url)

    sign_out(p)
    passkey = p.page.get_by_role("button", name="Se connecter avec une clé d'accès", exact=True)
    expect(passkey).to_be_visible()
    screenshot(p, "connexion-cle.png", database_url)
    with p.page.expect_navigation(url=f"{p.base_url}/mon-espace"):
        passkey.click()

    p.goto(SECURITY)
    p.page.get_by_label("Exiger une clé d'accès pour me connecter", exact=True).check()
    p.submit("Enregistrer ce choix")
    p.notice("Une clé d'accès est désormais exigée pour vous connecter")
    expect(p.page.get_by_text("Dernière utilisation")).to_be_visible()
    sign_out(p)

    refused = p.sign_in(member.identifier, OWN_PASSWORD)
    assert refused.status == 401
    expect(p.page.get_by_role("alert").first).to_contain_text(
        "Identifiant ou mot de passe incorrect.")

    p.page.get_by_role("link", name="Utiliser un code de secours", exact=True).click()
    p.fill({"Identifiant": member.identifier, "Code de secours": codes[0]})
    p.submit("Se connecter")
    expect(p.page).to_have_url(f"{p.base_url}/mon-espace")

    p.goto(SECURITY)
    expect(p.page.get_by_text("Il vous reste 9 codes de secours sur 10.")).to_be_visible()
    p.submit("Supprimer", within=p.page.get_by_role("listitem").filter(has_text="Mon ordinateur"))
    p.notice("La clé d'accès « Mon ordinateur » est supprimée.")
    expect(p.page.get_by_text("Vous n'avez pas encore de clé d'accès.")).to_be_visible()

    # The passkey still on the device no longer opens anything, and the password does again.
    sign_out(p)
    refused = p.submit("Se connecter avec une clé d'accès")
    assert refused.status == 401
    expect(p.page.get_by_role("alert").first).to_contain_text(
        "La clé d'accès n'a pas été reconnue.")
    assert p.sign_in(member.identifier, OWN_PASSWORD).url.endswith("/mon-espace")


def test_without_webauthn_the_passkey_buttons_stay_hidden(portal: Portal, browser):
    context = browser.new_context(locale="fr-FR", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{portal.base_url}/connexion")
        button = page.get_by_role("button", name="Se connecter avec une clé d'accès")
        expect(button).to_be_hidden()
        expect(page.get_by_role("link", name="Utiliser un code de secours")).to_be_visible()
    finally:
        context.close()
