"""The support console in a real Chromium (Debian's, via Playwright) against a real server."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.helpers import drain, read_mail, settle, text_of

REVIEW = {
    "member_number": "M1000001", "last_name": "Dupre Lefevre", "first_name": "Hélèna",
    "birth_date": "1978-04-12", "email": "helene@example.org",
}


def test_an_agent_approves_an_identity_review_in_the_browser(
    page: Page, base_url: str, services, tmp_path: Path
):
    token = services.staff_tokens.create("Camille Martin", "support")
    created = page.request.post(f"{base_url}/api/v1/registrations", data=REVIEW)
    assert created.status == 201 and created.json()["status"] == "identity_review"
    settle(services)

    page.goto(f"{base_url}/support/")
    page.get_by_label("Jeton d'accès").fill(token)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("Connecté(e) : Camille Martin")).to_be_visible()

    page.get_by_role("link", name="Vérifications d'identité").click()
    page.screenshot(path=tmp_path / "queue.png", full_page=True)
    page.get_by_role("row", name=re.compile("Hélèna")).get_by_role("link", name="Ouvrir").click()
    expect(page.get_by_role("heading", name=re.compile("Vérification d'identité"))).to_be_visible()
    table = page.get_by_role("table")
    expect(table.get_by_role("columnheader")).to_have_text(
        ["", "Saisi par la personne", "Annuaire"]
    )
    expect(table.get_by_role("row", name=re.compile("^Nom")).get_by_role("cell")).to_have_text(
        ["Dupre Lefevre", "Dupré-Lefèvre"]
    )
    expect(table.get_by_role("row", name=re.compile("^Prénom")).get_by_role("cell")).to_have_text(
        ["Hélèna", "Hélène"]
    )
    expect(page.get_by_text("M1000001")).to_be_visible()
    page.get_by_label("Note").fill("Faute de frappe sur le prénom, confirmée par téléphone.")
    page.screenshot(path=tmp_path / "identity-review.png", full_page=True)

    page.get_by_role("button", name="Approuver").click()
    expect(page.get_by_role("status").filter(has_text="Demande approuvée")).to_be_visible()
    expect(page.get_by_text("Aucune demande en attente dans cette file.")).to_be_visible()
    page.screenshot(path=tmp_path / "after-approval.png", full_page=True)

    drain(services)
    [message] = [m for m in read_mail(services.settings.mail.directory)
                 if m["To"] == "helene@example.org"]
    body = text_of(message)
    assert re.search(r"^Identifiant : \d{8}$", body, re.M)
    assert re.search(r"^Mot de passe temporaire : [A-Za-z0-9]{10}$", body, re.M)
