"""The support console in a real Chromium (Debian's, via Playwright) against a real server: an
agent decides one item of every kind, finds accounts by both keys, re-sends credentials and
unlocks, by the contract's accessible names; some journeys with the keyboard only."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import Portal
from tests.helpers import HELENE, OWN_PASSWORD, lock, open_account, settle

AGENT = "Camille Martin"
REVIEW = {**HELENE, "last_name": "Dupre Lefevre", "first_name": "Hélèna"}
LOUISE = {"kind": "other", "last_name": "Martin", "first_name": "Louise",
          "email": "louise@example.org", "message": "Je ne reçois pas mes codes d'accès."}
FOCUS_SHOWN = """(element) => {
  const style = getComputedStyle(element);
  return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
}"""


def signed_in(portal: Portal) -> Page:
    token = portal.services.staff_tokens.create(AGENT, "support")
    portal.goto("/support/")
    portal.fill({"Jeton d'accès": token})
    portal.submit("Se connecter")
    expect(portal.page.get_by_text(f"Connecté(e) : {AGENT}")).to_be_visible()
    return portal.page


def tab_to(page: Page, target: Locator, limit: int = 40) -> None:
    """Tab until `target` has the focus, which must then be visible (WCAG 2.4.7)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            assert target.evaluate(FOCUS_SHOWN), "the focus is not visible"
            return
    raise AssertionError(f"{target} is not reachable with Tab")


def keyed(page: Page, target: Locator) -> None:
    """Tabs to `target` and presses Enter on it; waits for the page it leads to."""
    tab_to(page, target)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def opened(portal: Portal, tab: str, summary: str) -> None:
    """Opens the item of the queue's `tab` whose summary matches."""
    page = portal.page
    portal.goto("/support/queue")
    page.get_by_role("navigation", name="Types de demandes").get_by_role(
        "link", name=re.compile(f"^{tab}")
    ).click()
    page.get_by_role("row", name=re.compile(summary)).get_by_role("link", name="Ouvrir").click()


def test_an_agent_approves_an_identity_review_in_the_browser(portal: Portal, tmp_path: Path):
    created = portal.client.post("/api/v1/registrations", json=REVIEW)
    assert created.json["status"] == "identity_review"
    settle(portal.services)
    page = signed_in(portal)
    expect(page.get_by_role("link", name=re.compile("Vérifications d'identité 1"))).to_be_visible()
    opened(portal, "Vérifications d'identité", "Hélèna")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Vérification d'identité")
    table = page.get_by_role("table")
    expect(table.get_by_role("columnheader")).to_have_text(
        ["Donnée", "Saisi par la personne", "Annuaire"]
    )
    expect(table.get_by_role("row", name=re.compile("^Nom")).get_by_role("cell")).to_have_text(
        ["Dupre Lefevre", "Dupré-Lefèvre"]
    )
    expect(table.get_by_role("row", name=re.compile("^Prénom")).get_by_role("cell")).to_have_text(
        ["Hélèna", "Hélène"]
    )
    expect(table.get_by_role("row", name=re.compile("^Date de naissance")).get_by_role("cell")
           ).to_have_text(["12/04/1978", "12/04/1978"])
    expect(table.get_by_role("row", name=re.compile("^Adresse e-mail")).get_by_role("cell")
           ).to_have_text([HELENE["email"], "Non renseignée dans l'annuaire"])
    portal.field("Motif").select_option(label="Identité confirmée par téléphone")
    portal.fill({"Note": "Faute de frappe sur le prénom, confirmée par téléphone."})
    page.screenshot(path=tmp_path / "identity-review.png", full_page=True)

    portal.submit("Approuver")
    portal.notice("Demande approuvée")
    expect(page.get_by_text("Aucune demande en attente dans cette file.")).to_be_visible()
    identifier, _ = portal.credentials(HELENE["email"])
    assert re.fullmatch(r"\d{8}", identifier)


def test_an_agent_rejects_a_review_with_the_keyboard_after_confirming(portal: Portal):
    portal.client.post("/api/v1/registrations", json=REVIEW)
    settle(portal.services)
    token = portal.services.staff_tokens.create(AGENT, "support")
    page = portal.page
    portal.goto("/support/")
    tab_to(page, page.get_by_role("link", name="Aller au contenu"))
    page.keyboard.press("Enter")
    tab_to(page, portal.field("Jeton d'accès"))
    page.keyboard.type(token)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    keyed(page, page.get_by_role("row", name=re.compile("Hélèna")).get_by_role("link"))
    reason = portal.field("Motif")
    tab_to(page, reason)
    for _ in range(7):  # past the empty choice and the reasons to approve
        page.keyboard.press("ArrowDown")
    expect(reason).to_have_value("not_the_member")
    tab_to(page, portal.field("Note"))
    page.keyboard.type("Homonyme : la date de naissance ne suffit pas.")
    keyed(page, page.get_by_role("button", name="Rejeter"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Rejeter cette demande d'inscription ?"
    )
    keyed(page, page.get_by_role("button", name="Rejeter"))
    portal.notice("Demande rejetée : la personne en est informée par e-mail.")
    assert any("rejetée" in body for body in portal.mail(HELENE["email"]))


def test_an_agent_accepts_an_email_update_with_a_corrected_address(portal: Portal):
    member = open_account(portal.client, portal.services)
    portal.client.post("/api/v1/support-requests", json={
        "kind": "email_update", "last_name": "Dupré-Lefèvre", "first_name": "Hélène",
        "identifier": member.identifier, "new_email": "helene.neuve@exemple.org",
        "message": "Je n'ai plus accès à mon ancienne adresse.",
    })
    settle(portal.services)
    page = signed_in(portal)
    portal.mail("helene.neuve@exemple.org")  # the acknowledgement
    opened(portal, "Changements d'adresse", "Hélène")
    address = portal.field("Nouvelle adresse e-mail")
    expect(address).to_have_value("helene.neuve@exemple.org")
    address.fill("pas-une-adresse")
    portal.field("Motif").select_option("requested_by_member")
    assert portal.submit("Accepter").status == 422
    expect(page).to_have_title(re.compile("^Erreur : "))
    expect(address).to_have_attribute("aria-invalid", "true")
    expect(address).to_have_accessible_description(re.compile("Adresse e-mail invalide"))
    address.fill("helene.neuve@example.org")
    portal.fill({"Note": "Identité vérifiée par téléphone."})
    portal.submit("Accepter")
    portal.notice("l'adresse e-mail du compte est modifiée")
    identifier, _ = portal.credentials("helene.neuve@example.org")
    assert identifier == member.identifier


def test_an_agent_accepts_a_closure_after_reading_what_follows(portal: Portal):
    member = open_account(portal.client, portal.services)
    asked = portal.client.post("/api/v1/me/closure", json={"password": OWN_PASSWORD},
                               headers=member.headers)
    assert asked.status_code == 202
    settle(portal.services)
    page = signed_in(portal)
    opened(portal, "Clôtures", "Hélène")
    portal.field("Motif").select_option("requested_by_member")
    portal.fill({"Note": "Demande faite depuis l'Espace Client."})
    portal.submit("Accepter")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Clôturer le compte {member.identifier} ?"
    )
    expect(page.get_by_role("main")).to_contain_text("ne pourront pas être récupérées")
    portal.submit("Accepter")
    portal.notice("le compte est clôturé")
    assert portal.client.get("/api/v1/me", headers=member.headers).status_code == 401
    portal.fill({"Rechercher un compte": member.identifier})
    portal.submit("Rechercher")
    expect(page.get_by_role("main")).to_contain_text("État fermé")


def test_an_agent_answers_another_request_with_a_reply(portal: Portal):
    portal.client.post("/api/v1/support-requests", json=LOUISE)
    settle(portal.services)
    signed_in(portal)
    portal.mail(LOUISE["email"])  # the acknowledgement
    opened(portal, "Autres", "Louise")
    portal.field("Motif").select_option("credentials_resent")
    portal.fill({"Note": "E-mail relancé.",
                 "Réponse envoyée au demandeur": "Bonjour, vos codes sont repartis ce jour."})
    portal.submit("Accepter")
    portal.notice("La réponse part par e-mail au demandeur.")
    [body] = portal.mail(LOUISE["email"])
    assert "vos codes sont repartis ce jour." in body


def test_an_agent_finds_an_account_by_both_keys_resends_and_unlocks_with_the_keyboard(
    portal: Portal,
):
    member = open_account(portal.client, portal.services)
    lock(portal.client, member.identifier)
    page = signed_in(portal)
    for typed in ("M1000001", member.identifier):
        portal.goto("/support/queue")
        tab_to(page, portal.field("Rechercher un compte"))
        page.keyboard.type(typed)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Compte {member.identifier}")
    expect(page.get_by_role("main")).to_contain_text(re.compile(r"verrouillé jusqu'à \d\d:\d\d"))

    keyed(page, page.get_by_role("button", name="Débloquer le compte"))
    portal.notice("Le compte est débloqué")
    expect(page.get_by_role("main")).to_contain_text("État ouvert")
    assert portal.client.post("/api/v1/sessions", json={
        "identifier": member.identifier, "password": OWN_PASSWORD,
    }).status_code == 201

    portal.mail(HELENE["email"])  # the lock's notice
    keyed(page, page.get_by_role("button", name="Renvoyer les identifiants"))
    portal.notice("Un nouveau mot de passe temporaire part par e-mail")
    identifier, _ = portal.credentials(HELENE["email"])
    assert identifier == member.identifier
