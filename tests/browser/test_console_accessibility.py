"""Every support console page in every state passes axe-core's WCAG 2.1 A and AA rules in
Chromium, with one <h1>, lang="fr", a <title>, a skip link to the content, a label for every
field and no inline style; where input is refused, a role="alert" summary linking to existing
fields, each invalid field tied (aria-describedby) to its own message, the <title> saying
"Erreur :".

Two walks go through the states, each listing what it checked and proving it reached the pages
it names; a third test proves those names cover every route of the "console" blueprint, so that
a new console page nobody audits fails here. Problems are collected, not raised at the first,
so that one run names them all.
"""

from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Response

from tests.browser.axe_walk import Audit, console_audit
from tests.browser.conftest import Portal
from tests.helpers import HELENE, OWN_PASSWORD, bearer, lock, open_account, recorded, settle

AGENT = "Camille Martin"
MARC = {"member_number": "M1000010", "last_name": "Saint-Exupéry", "first_name": "Marc-Antoine",
        "birth_date": "1948-07-04", "email": "marc@example.org"}
GWEN = {"member_number": "M1000021", "last_name": "Le Goff", "first_name": "Gwenola",
        "birth_date": "1979-10-02", "email": "gwen@example.org"}  # Gwénaëlle: a review
MAEL = {"member_number": "M1000024", "last_name": "Petit-Jean", "first_name": "Maëlle",
        "birth_date": "1999-12-12", "email": "mael@example.org"}  # Maël: a review
LOUISE = {"kind": "other", "last_name": "Martin", "first_name": "Louise",
          "email": "louise@example.org", "message": "Je ne reçois pas mes codes d'accès."}


def sign_in(audit: Audit) -> None:
    p = audit.portal
    audit(p.goto("/support/"), "connexion")
    audit(p.submit("Se connecter"), "jeton absent (401)", "fields")
    p.fill({"Jeton d'accès": "pas-un-jeton"})
    audit(p.submit("Se connecter"), "jeton inconnu (401)", "fields")
    p.page.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    audit(p.submit("Se connecter"), "formulaire expiré (400)", "alert")
    p.goto("/support/")
    p.fill({"Jeton d'accès": p.services.staff_tokens.create(AGENT, "support")})
    audit(p.submit("Se connecter"), "file après connexion")


def opened(p: Portal, kind: str, status: str = "open", row: int = 0) -> Response:
    p.goto(f"/support/queue?kind={kind}&status={status}")
    link = p.page.get_by_role("link", name="Ouvrir").nth(row)
    with p.page.expect_navigation() as navigation:
        link.click()
    return navigation.value


def queue_and_decisions(audit: Audit, monkeypatch: pytest.MonkeyPatch) -> None:
    p = audit.portal
    items_of_every_kind(p, monkeypatch)
    sign_in(audit)
    for kind in ("identity_review", "undelivered_email", "email_update", "closure", "other"):
        audit(p.goto(f"/support/queue?kind={kind}"), f"{kind} à traiter")
    audit(p.goto("/support/queue?kind=closure&status=closed"), "clôtures traitées, vide")
    with monkeypatch.context() as patched:
        from adapters.http.console import queue

        patched.setattr(queue, "PAGE_SIZE", 1)
        p.goto("/support/queue")
        with p.page.expect_navigation() as navigation:
            p.page.get_by_role("link", name="Suivant »").click()
        audit(navigation.value, "page suivante")
    audit(p.goto("/support/queue?cursor=abc"), "lien de page invalide (400)", "alert")
    audit(p.goto("/support/queue?kind=tout"), "file inconnue (404)", "alert")
    audit(p.goto("/support/items/inconnu"), "élément inconnu (404)", "alert")

    audit(opened(p, "identity_review"), "vérification d'identité")
    p.fill({"Note": "vu\u202eau téléphone"})  # and no reason chosen
    audit(p.submit("Approuver"), "note invalide et motif absent (422)", "fields")
    p.field("Motif").select_option("not_the_member")
    p.fill({"Note": "Homonyme probable."})
    audit(p.submit("Rejeter"), "confirmation du rejet")
    audit(p.submit("Rejeter"), "rejet enregistré")
    review = opened(p, "identity_review")
    decided_elsewhere(p, review)
    p.field("Motif").select_option("usage_name")
    audit(p.submit("Approuver"), "déjà traitée (409)", "alert")
    audit(opened(p, "identity_review", "closed"), "vérification traitée")
    audit(opened(p, "undelivered_email"), "e-mail non remis")

    audit(opened(p, "email_update"), "changement d'adresse")
    p.fill({"Nouvelle adresse e-mail": "pas-une-adresse"})
    audit(p.submit("Accepter"), "adresse invalide (422)", "fields")
    p.fill({"Nouvelle adresse e-mail": "marc.nouveau@example.org"})
    p.field("Motif").select_option("requested_by_member")
    audit(p.submit("Accepter"), "changement accepté")
    audit(opened(p, "email_update"), "changement sans compte")

    audit(opened(p, "other"), "autre demande")
    p.fill({"Réponse envoyée au demandeur": "Bonjour\u202e"})
    audit(p.submit("Accepter"), "réponse invalide (422)", "fields")
    p.fill({"Réponse envoyée au demandeur": "Bonjour, c'est réglé."})
    p.field("Motif").select_option("out_of_scope")
    audit(p.submit("Refuser"), "autre demande refusée")
    audit(opened(p, "other", "closed"), "autre demande traitée")

    audit(opened(p, "closure"), "clôture")
    p.field("Motif").select_option("requested_by_member")
    audit(p.submit("Accepter"), "confirmation de la clôture")
    audit(p.submit("Accepter"), "clôture acceptée")
    audit(p.goto("/support/queue?kind=closure&status=closed"), "clôtures traitées")


def items_of_every_kind(p: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    """One open item of each kind; MARC's credentials e-mail is an hour overdue, his mail
    server refusing it."""
    from workers.checks import flag_overdue_credentials

    client, services = p.client, p.services
    send = services.mailer.send

    def refused_for_marc(message: EmailMessage) -> None:
        if message["To"] == MARC["email"]:
            raise ConnectionRefusedError("the mail server is down")
        send(message)

    monkeypatch.setattr(services.mailer, "send", refused_for_marc)
    for member in (MARC, GWEN, MAEL):
        client.post("/api/v1/registrations", json=member)
    [opened_account] = recorded(services, "AccountOpened")
    identifier = opened_account.identifier
    for kind in ("email_update", "closure"):
        client.post("/api/v1/support-requests", json={
            "kind": kind, "last_name": MARC["last_name"], "first_name": MARC["first_name"],
            "identifier": identifier, "message": "Demande faite par courrier.",
            **({"new_email": "marc.neuf@example.org"} if kind == "email_update" else {}),
        })
    client.post("/api/v1/support-requests", json={
        "kind": "email_update", "last_name": "Inconnu", "first_name": "Paul",
        "new_email": "paul@example.org", "message": "Changez mon adresse.",
    })
    client.post("/api/v1/support-requests", json=LOUISE)
    settle(services)
    p.services.clock.advance(minutes=61)
    assert flag_overdue_credentials(services.use_cases.mail, services.support_queue,
                                    services.clock) == 1
    settle(services)


def decided_elsewhere(p: Portal, review: Response) -> None:
    """Another agent decides the review shown, through the API."""
    item = urlsplit(review.url).path.rsplit("/", 1)[1]
    token = p.services.staff_tokens.create("alice", "support")
    [row] = [r for r in p.client.get("/api/v1/support/queue", headers=bearer(token)).json[
        "items"] if r["item_id"] == item]
    answer = p.client.post(f"/api/v1/support/registrations/{row['registration_id']}/decision",
                           json={"decision": "approve", "note": "Vu"}, headers=bearer(token))
    assert answer.status_code == 200, answer.get_json()


def accounts(audit: Audit, monkeypatch: pytest.MonkeyPatch) -> None:
    p = audit.portal
    member = open_account(p.client, p.services)
    p.client.post("/api/v1/support-requests", json={
        "kind": "other", "last_name": HELENE["last_name"], "first_name": HELENE["first_name"],
        "identifier": member.identifier, "message": "Question sur mes remboursements.",
    })
    lock(p.client, member.identifier)
    settle(p.services)
    sign_in(audit)
    p.fill({"Rechercher un compte": "abc!"})
    audit(p.submit("Rechercher"), "recherche invalide (422)", "fields")
    p.fill({"Rechercher un compte": "M9999999"})
    audit(p.submit("Rechercher"), "aucun compte (404)", "alert")
    p.fill({"Rechercher un compte": "M1000001"})
    audit(p.submit("Rechercher"), "compte verrouillé, demande en cours")
    audit(p.submit("Débloquer le compte"), "compte débloqué")
    audit(p.submit("Renvoyer les identifiants"), "identifiants renvoyés")
    closed_meanwhile(p, member)
    audit(p.submit("Renvoyer les identifiants"), "compte clôturé entre-temps (409)", "alert")
    audit(p.goto(f"/support/accounts/{member.identifier}"), "compte clôturé")
    audit(p.goto("/support/accounts/00000000"), "compte inconnu (404)", "alert")
    audit(p.submit("Se déconnecter"), "déconnecté(e)")
    audit(p.goto("/support/queue"), "connexion demandée")


def closed_meanwhile(p: Portal, member) -> None:
    """The member asks for closure and another agent accepts it, through the API."""
    asked = p.client.post("/api/v1/me/closure", json={"password": OWN_PASSWORD},
                          headers=member.headers)
    token = p.services.staff_tokens.create("alice", "support")
    answer = p.client.post(f"/api/v1/support/requests/{asked.json['request_id']}/decision",
                           json={"decision": "accept", "note": ""}, headers=bearer(token))
    assert answer.status_code == 200, answer.get_json()
    settle(p.services)


# Two walks through the states: each must reach the pages it names and see the answers it
# names, and together they must name every page of the console (the last test).
GROUPS = {
    "queue-and-decisions": (queue_and_decisions, {
        "console.sign_in", "console.queue", "console.item", "console.decide_registration",
        "console.decide_request",
    }, {200, 400, 401, 404, 409, 422}),
    "accounts": (accounts, {
        "console.sign_in", "console.search", "console.account", "console.unlock",
        "console.resend", "console.sign_out", "console.queue",
    }, {200, 401, 404, 409, 422}),
}
# Console pages audited by a walk of their own (the auditor's, when they come).
# The auditor's pages: tests/browser/test_console_audit_accessibility.py walks them.
AUDITED_ELSEWHERE: set[str] = {
    "console.audit_home", "console.audit_search", "console.audit_account", "console.audit_state",
    "console.audit_changes", "console.audit_feed", "console.audit_verification",
    # Not a page: the member's data as a JSON file (tests/api/test_member_export.py).
    "console.export_data",
}


@pytest.mark.parametrize("group", GROUPS)
def test_every_console_page_in_every_state_passes_axe_and_the_structure_checks(
    portal: Portal, app, monkeypatch: pytest.MonkeyPatch, group: str
):
    walk, pages, statuses = GROUPS[group]
    with console_audit(portal, app).listing(group) as audit:
        walk(audit, monkeypatch)
    assert pages - audit.endpoints == set(), "pages this walk did not audit"
    assert statuses - audit.statuses == set()
    assert audit.problems == [], "\n".join(audit.problems)


def test_the_walks_cover_every_page_of_the_console(app):
    pages = {rule.endpoint for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("console.")}
    audited = set().union(*(group_pages for _, group_pages, _ in GROUPS.values()))
    assert pages - audited - AUDITED_ELSEWHERE == set(), "console pages no walk audits"


def test_the_audit_sees_what_is_wrong(portal: Portal, app):
    """A control: the same checks on a page spoilt on purpose report each problem."""
    audit = console_audit(portal, app)
    response = portal.goto("/support/")
    portal.page.evaluate("""() => {
        document.documentElement.lang = 'en';
        document.querySelector('.skip-link').remove();
        document.querySelector('main').insertAdjacentHTML('beforeend',
            '<h1 style="color: #eee">Deux</h1><img src="/assets/console.css">'
            + '<input aria-invalid="true" id="x">');
    }""")
    audit(response, "abîmée", "fields")
    found = "\n".join(audit.problems)
    # The inline style is not applied (the policy allows none), but it is found.
    for expected in ["axe label", "axe image-alt", "2 <h1>", 'lang="en"', "skip link",
                     "inline style", "a field without its <label>", "no error summary",
                     "#x: no message"]:
        assert expected in found, (expected, found)
