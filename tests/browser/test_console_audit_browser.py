"""The auditor's console in a real Chromium (Debian's, via Playwright) against a real server, on
SQLite and PostgreSQL: an auditor walks a closed account's timeline and compares two instants,
by the pages' accessible names; an auditor cannot open a support page, nor an agent an audit
page."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from adapters.mail_french import PARIS
from tests.browser.conftest import Portal
from tests.helpers import OWN_PASSWORD, bearer, drain, open_account, settle

AUDITOR = "Dominique Leroy"
AGENT = "Camille Martin"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both stores: the audit pages read the log, the projections and the verify runs."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'accounts.sqlite3'}"
    return request.getfixturevalue("postgres_url")


def minute(moment: datetime) -> str:
    """As a datetime-local field holds it: Paris time, to the minute."""
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


def closed_account(portal: Portal, clock) -> tuple[str, datetime, datetime]:
    """Hélène opens her account, asks for closure five minutes later and support
    accepts it (the API's flow, tests/api/test_erasure.py): (identifier, an instant while it
    was open, an instant after its closure)."""
    member = open_account(portal.client, portal.services)
    while_open = clock.now
    clock.advance(minutes=5)
    asked = portal.client.post("/api/v1/me/closure", json={"password": OWN_PASSWORD},
                               headers=member.headers)
    assert asked.status_code == 202, asked.get_json()
    clock.advance(minutes=5)
    token = portal.services.staff_tokens.create("alice", "support")
    decided = portal.client.post(
        f"/api/v1/support/requests/{asked.json['request_id']}/decision",
        json={"decision": "accept", "note": "Clôture confirmée."}, headers=bearer(token),
    )
    assert decided.status_code == 200, decided.get_json()
    drain(portal.services)
    settle(portal.services)
    clock.advance(minutes=5)
    return member.identifier, while_open, clock.now


def signed_in(portal: Portal, role: str, name: str) -> Page:
    portal.goto("/support/")
    portal.fill({"Jeton d'accès": portal.services.staff_tokens.create(name, role)})
    portal.submit("Se connecter")
    expect(portal.page.get_by_text(f"Connecté(e) : {name}")).to_be_visible()
    return portal.page


def test_an_auditor_walks_a_closed_accounts_timeline_and_compares_two_instants(
    portal: Portal, clock
):
    identifier, while_open, after_closure = closed_account(portal, clock)
    page = signed_in(portal, "auditor", AUDITOR)
    expect(page).to_have_url(re.compile(r"/support/audit$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit des comptes")
    menu = page.get_by_role("navigation", name="Menu de la console")
    expect(menu.get_by_role("link")).to_have_text(
        ["Comptes", "Journal de tous les événements", "Dernière vérification"]
    )

    portal.fill({"Rechercher un compte": identifier})
    portal.submit("Rechercher")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Historique du compte {identifier}")
    picture = page.get_by_role("img", name=f"Frise chronologique du compte {identifier}")
    expect(picture).to_be_visible()
    events = page.locator("ol.events > li")
    expect(events.first).to_contain_text("Inscription demandée")
    for label in ("Compte ouvert", "Fermeture du compte demandée",
                  "Demande acceptée par le support", "Compte clôturé",
                  "Données personnelles effacées"):
        expect(events.filter(has_text=label).first).to_be_visible()
    closed = events.filter(has_text="Compte clôturé").first
    expect(closed).to_contain_text("par Support (alice)")
    expect(page.locator("main")).not_to_contain_text("helene@example.org")  # erased

    # The state just after the closure, from the event's own link.
    closed.get_by_role("link", name=re.compile("^État du compte le")).click()
    facts = page.locator("dl.facts")
    expect(facts.locator("dt", has_text="Statut").locator("xpath=following-sibling::dd[1]")
           ).to_have_text("Clôturé")

    page.get_by_role("link", name=re.compile("Historique du compte")).click()
    page.get_by_role("link", name="Comparer deux instants").click()
    portal.fill({"Premier instant": minute(after_closure),
                 "Second instant": minute(while_open)})
    portal.submit("Comparer")
    expect(page.get_by_role("alert").first).to_contain_text(
        "Le second instant doit suivre le premier.")
    portal.fill({"Premier instant": minute(while_open), "Second instant": minute(after_closure)})
    portal.submit("Comparer")
    table = page.get_by_role("table")
    status = table.get_by_role("row", name=re.compile("^Statut"))
    expect(status.get_by_role("cell")).to_have_text(["Ouvert", "→ Clôturé"])
    expect(page.locator("ol.between")).to_contain_text("Compte clôturé")


def test_an_auditor_cannot_decide_and_an_agent_cannot_audit(portal: Portal, new_page):
    page = signed_in(portal, "auditor", AUDITOR)
    refused = portal.goto("/support/queue")
    assert refused.status == 403
    expect(page.get_by_role("alert")).to_contain_text("réservée au support")
    expect(page.get_by_role("button", name="Approuver")).to_have_count(0)

    agent = Portal(new_page(), portal.base_url, portal.services, portal.client)
    signed_in(agent, "support", AGENT)
    for path in ("/support/audit", "/support/audit/events", "/support/audit/verification"):
        assert agent.goto(path).status == 403, path
        expect(agent.page.get_by_role("alert")).to_contain_text("réservée aux auditeurs")
