"""Every auditor page of the console in every state passes axe-core's WCAG 2.1 A and AA rules in
Chromium, with the structure checks of the support pages (axe_walk.py's `console_audit`):
empty, refused (error shown), results, and the refusals of the other role's pages.

The walk names the pages it must reach (AUDIT_PAGES); test_console_accessibility.py counts
them as audited elsewhere, so that its check that every console page is audited holds.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from playwright.sync_api import Response

from adapters.mail_french import PARIS
from tests.browser.axe_walk import Audit, console_audit
from tests.browser.conftest import Portal
from tests.helpers import FEED, OWN_PASSWORD, bearer, drain, feed_item, open_account, settle

AUDITOR = "Dominique Leroy"
AUDIT_PAGES = {
    "console.audit_home", "console.audit_search", "console.audit_account",
    "console.audit_state", "console.audit_changes", "console.audit_feed",
    "console.audit_verification",
}
STATUSES = {200, 400, 403, 404, 422}


def minute(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


def a_closed_account_and_a_reimbursement(p: Portal, clock) -> tuple[str, datetime]:
    member = open_account(p.client, p.services)
    opened = clock.now
    claims = bearer(p.services.staff_tokens.create("flux", "claims"))
    assert p.client.post(FEED, json=feed_item(), headers=claims).status_code == 202
    clock.advance(minutes=5)
    asked = p.client.post("/api/v1/me/closure", json={"password": OWN_PASSWORD},
                          headers=member.headers)
    token = p.services.staff_tokens.create("alice", "support")
    decided = p.client.post(f"/api/v1/support/requests/{asked.json['request_id']}/decision",
                            json={"decision": "accept", "note": ""}, headers=bearer(token))
    assert decided.status_code == 200, decided.get_json()
    drain(p.services)
    settle(p.services)
    clock.advance(minutes=5)
    return member.identifier, opened


def clicked(p: Portal, name: str | re.Pattern[str]) -> Response:
    with p.page.expect_navigation() as navigation:
        p.page.get_by_role("link", name=name).first.click()
    return navigation.value


def walk(audit: Audit, clock, monkeypatch: pytest.MonkeyPatch) -> None:
    p = audit.portal
    identifier, opened = a_closed_account_and_a_reimbursement(p, clock)
    p.goto("/support/")
    p.fill({"Jeton d'accès": p.services.staff_tokens.create(AUDITOR, "auditor")})
    audit(p.submit("Se connecter"), "accueil de l'audit, aucune vérification")

    p.fill({"Rechercher un compte": "abc!"})
    audit(p.submit("Rechercher"), "recherche invalide (422)", "fields")
    p.fill({"Rechercher un compte": "00000000"})
    audit(p.submit("Rechercher"), "aucun compte (404)", "alert")
    p.fill({"Rechercher un compte": identifier})
    audit(p.submit("Rechercher"), "historique d'un compte clôturé, avec un remboursement")
    audit(p.goto("/support/audit/accounts/00000000"), "compte inconnu (404)", "alert")

    state = f"/support/audit/accounts/{identifier}/state"
    audit(p.goto(state), "état : formulaire vide")
    audit(p.submit("Afficher l'état"), "état : instant absent (422)", "fields")
    p.fill({"Date et heure": "2001-01-01T10:00"})
    audit(p.submit("Afficher l'état"), "état : compte pas encore ouvert (404)", "alert")
    p.fill({"Date et heure": minute(opened)})
    audit(p.submit("Afficher l'état"), "état à un instant")

    audit(clicked(p, "Comparer avec un autre instant"), "comparaison : un instant prérempli")
    p.fill({"Premier instant": minute(clock.now), "Second instant": minute(opened)})
    audit(p.submit("Comparer"), "comparaison : instants dans le désordre (422)", "fields")
    p.fill({"Premier instant": minute(opened), "Second instant": minute(clock.now)})
    audit(p.submit("Comparer"), "comparaison : ce qui a changé")
    p.fill({"Premier instant": minute(clock.now), "Second instant": minute(clock.now)})
    audit(p.submit("Comparer"), "comparaison : mêmes instants (422)", "fields")

    with monkeypatch.context() as patched:
        from adapters.http.console import audit_pages

        patched.setattr(audit_pages, "FEED_PAGE", 5)
        audit(p.goto("/support/audit/events"), "journal : première page")
        audit(clicked(p, "Page suivante"), "journal : page suivante")
        audit(clicked(p, "Page précédente"), "journal : page précédente")
    audit(p.goto("/support/audit/events?after=999999"), "journal : après la fin")
    audit(p.goto("/support/audit/events?after=-1"), "journal : lien invalide (400)", "alert")

    audit(p.goto("/support/audit/verification"), "vérification : aucune")
    p.services.audit_proofs.publish(p.services.clock())
    assert p.app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0
    audit(p.goto("/support/audit/verification"), "vérification : tout concorde")
    audit(p.goto("/support/audit"), "accueil de l'audit, vérification faite")
    with p.services.database.transaction() as cursor:
        cursor.execute("UPDATE support_queue_items SET summary = 'falsifié'")
    assert p.app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 1
    audit(p.goto("/support/audit/verification"), "vérification : problèmes")

    audit(p.goto("/support/queue"), "page du support refusée (403)", "alert")


def test_every_audit_page_in_every_state_passes_axe_and_the_structure_checks(
    portal: Portal, app, clock, monkeypatch: pytest.MonkeyPatch
):
    portal.app = app  # the walk runs `audit verify` as an operator would
    with console_audit(portal, app).listing("audit") as audit:
        walk(audit, clock, monkeypatch)
    assert AUDIT_PAGES - audit.endpoints == set(), "audit pages this walk did not audit"
    assert STATUSES - audit.statuses == set()
    assert audit.problems == [], "\n".join(audit.problems)


def test_an_agent_refused_an_audit_page_sees_an_accessible_page(portal: Portal, app):
    audit = console_audit(portal, app)
    portal.goto("/support/")
    portal.fill({"Jeton d'accès": portal.services.staff_tokens.create("Camille", "support")})
    portal.submit("Se connecter")
    audit(portal.goto("/support/audit/events"), "page d'audit refusée (403)", "alert")
    assert audit.problems == [], "\n".join(audit.problems)
