"""Every portal page in every state passes axe-core's WCAG 2.1 A and AA rules in Chromium, with
one <h1>, lang="fr", a <title>, and, where input is refused, a role="alert" summary linking to
existing fields, each invalid field tied (aria-describedby) to its own message.

Two tests walk through the states, side by side, each listing what it checked and proving it
reached the pages it names; a third proves those names cover every route of the "pages"
blueprint, so that a new page nobody audits fails here. Problems are collected, not raised at
the first, so that one run names them all.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Response

from tests.browser.axe_walk import Audit, portal_audit
from tests.browser.conftest import CODE, ELOISE, Portal
from tests.helpers import HELENE, OTHER, OWN_PASSWORD, bearer

MARC = {"member_number": "M1000010", "last_name": "Saint-Exupéry", "first_name": "Marc-Antoine",
        "birth_date": "1948-07-04", "email": "marc@example.org"}
GWEN = {"member_number": "M1000021", "last_name": "Le Goff", "first_name": "Gwenola",
        "birth_date": "1979-10-02", "email": "gwen@example.org"}  # Gwénaëlle: a review
MAEL = {"member_number": "M1000024", "last_name": "Petit-Jean", "first_name": "Maëlle",
        "birth_date": "1999-12-12", "email": "mael@example.org"}  # Maël: a review
MARIA = {"member_number": "M1000019", "last_name": "Garcia y Ruiz", "first_name": "María José",
         "birth_date": "1966-03-14", "email": "maria@example.org"}


def before_sign_in(audit: Audit) -> None:
    public_forms(audit)
    registration_outcomes(audit)


def signed_in(audit: Audit) -> None:
    forced_change(audit)
    member_pages(audit)


# Two walks through the states, run side by side: each must reach the pages it names and see
# the answers it names, and together they must name every page (the last test).
GROUPS = {
    "before-sign-in": (before_sign_in, {
        "pages.home", "pages.register", "pages.registration", "pages.sign_in", "pages.recovery",
        "pages.verify_email", "pages.contact",
    }, {200, 400, 404, 422, 429}),
    "signed-in": (signed_in, {
        "pages.new_password", "pages.space", "pages.reimbursements", "pages.infos",
        "pages.change_email", "pages.change_password", "pages.change_question",
        "pages.change_alerts", "pages.closure", "pages.sign_out", "pages.verify_email",
    }, {200, 401, 403, 422}),
}


@pytest.mark.parametrize("group", GROUPS)
def test_every_page_in_every_state_passes_axe_and_the_structure_checks(
    portal: Portal, app, group: str
):
    walk, pages, statuses = GROUPS[group]
    with portal_audit(portal, app).listing(group) as audit:
        walk(audit)
    assert pages - audit.endpoints == set(), "pages this walk did not audit"
    assert statuses - audit.statuses == set()
    assert audit.problems == [], "\n".join(audit.problems)


def test_the_walks_cover_every_page_of_the_portal(app):
    pages = {rule.endpoint for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("pages.") and rule.endpoint != "pages.static"}
    # The Sécurité page and the passkey pages have walks of their own, in that module.
    from tests.browser.test_security_page_accessibility import PASSKEY_PAGES, SECURITY_PAGES

    audited = set().union(*(group_pages for _, group_pages, _ in GROUPS.values()),
                          SECURITY_PAGES, PASSKEY_PAGES)
    assert pages - audited == set(), "pages no walk audits: add their states to one"


def public_forms(audit: Audit) -> None:
    p = audit.portal
    audit(p.goto("/"), "accueil")
    for path, button in [("/activer", "Activer mon compte"), ("/connexion", "Se connecter"),
                         ("/codes-oublies", "Recevoir mes codes"),
                         ("/verification-email", "Confirmer"), ("/contact", "Envoyer")]:
        audit(p.goto(path), "vide")
        audit(p.submit(button), "formulaire vide envoyé", "fields")
    p.goto("/activer")
    p.fill(p.identity(HELENE, email="pas-une-adresse"))
    p.fill({"Date de naissance": "31/02/1978", "Numéro d'adhérent": "1000001"})
    audit(p.submit("Activer mon compte"), "saisie invalide", "fields")
    p.goto("/contact")
    p.fill({"Nom": "Martin", "Prénom": "Louise", "Message": "Bonjour", "Adresse e-mail": "x@"})
    audit(p.submit("Envoyer"), "adresse e-mail invalide", "fields")
    p.fill({"Adresse e-mail": "louise@example.org"})
    audit(p.submit("Envoyer"), "demande transmise")
    p.goto("/codes-oublies")
    p.fill(p.identity(MARIA, new_email="pas-une-adresse"))
    audit(p.submit("Recevoir mes codes"), "nouvelle adresse invalide", "fields")
    p.fill(p.identity(MARIA, new_email=""))
    audit(p.submit("Recevoir mes codes"), "demande envoyée")
    p.goto("/verification-email")
    p.fill({"Code de vérification": "ABCD-EFGH-JKMN-PQRS"})
    audit(p.submit("Confirmer"), "code inconnu (404)", "fields")
    audit(p.goto("/page-inexistante"), "page introuvable (404)", "alert")
    audit(p.goto("/activer/suivi/inconnue"), "demande introuvable (404)", "alert")
    p.goto("/connexion")
    p.page.locator("form:not([data-passkey]) input[name=csrf_token]").evaluate(
        "input => input.remove()")
    p.fill({"Identifiant": "12345678", "Mot de passe": OTHER})
    audit(p.submit("Se connecter"), "formulaire expiré (400)", "alert")


def registration_outcomes(audit: Audit) -> None:
    p = audit.portal
    audit(p.register(MARC), "compte activé")
    review = p.register(GWEN)
    audit(review, "vérification d'identité")
    audit(decided(p, review, "reject"), "demande rejetée")
    audit(decided(p, p.register(MAEL), "approve"), "identité validée")
    for member, reason in [({**MARIA, "birth_date": "1966-03-15"}, "unknown_member"),
                           ({**HELENE, "member_number": "M1000003", "first_name": "Zoé",
                             "birth_date": "2009-02-17"}, "not_principal_member"),
                           ({**HELENE, "member_number": "M1000012", "last_name": "Martin",
                             "first_name": "Louise", "birth_date": "1995-05-05"},
                            "not_eligible")]:
        audit(p.register(member), f"refus {reason}", "alert")
    for _ in range(3):
        p.register(MARIA)
    audit(p.register(MARIA), "plafond de 3 e-mails (429)", "alert")


def decided(p: Portal, review: Response, decision: str) -> Response:
    """A support agent decides on the identity review shown; then its status page again."""
    path = urlsplit(review.url).path
    token = p.services.staff_tokens.create("alice", "support")
    answer = p.client.post(f"/api/v1/support/registrations/{path.rsplit('/', 1)[1]}/decision",
                           json={"decision": decision, "note": "Vu"}, headers=bearer(token))
    assert answer.status_code == 200, answer.get_json()
    return p.goto(path)


def forced_change(audit: Audit) -> None:
    p = audit.portal
    p.register(MARC)
    identifier, temporary = p.credentials(MARC["email"])
    audit(p.sign_in(identifier, temporary), "mot de passe temporaire")
    audit(p.submit("Changer mon mot de passe"), "formulaire vide envoyé", "fields")
    audit(p.choose_password(temporary, "motdepasse"), "mot de passe faible", "fields")
    audit(p.choose_password(OTHER, OWN_PASSWORD), "mot de passe actuel faux", "fields")
    audit(p.choose_password(temporary, OWN_PASSWORD), "bienvenue (retraité, santé)")
    audit(p.goto("/"), "accueil connecté")
    p.submit("Se déconnecter")


def member_pages(audit: Audit) -> None:
    p = audit.portal
    p.signed_in(HELENE)
    audit(p.goto("/mon-espace"), "adhérente principale, bénéficiaires")
    audit(p.goto("/mon-espace/remboursements"), "aucun remboursement")
    p.reimburse()
    audit(p.goto("/mon-espace/remboursements"), "avec remboursements")
    audit(p.submit("Activer les alertes"), "alertes activées")
    infos_forms(audit)
    audit(p.goto("/mon-espace/fermeture"), "vide")
    audit(p.submit("Fermer mon compte"), "formulaire vide envoyé", "fields")
    p.fill({"Mot de passe": "Ce n'est pas le bon mot de passe"})
    audit(p.submit("Fermer mon compte"), "mot de passe faux", "fields")
    p.fill({"Mot de passe": OTHER})
    audit(p.submit("Fermer mon compte"), "demande transmise")
    copied = p.page.context.cookies()
    audit(p.submit("Se déconnecter"), "déconnecté(e)")
    audit(p.goto("/mon-espace"), "connexion demandée")
    p.page.context.add_cookies(copied)
    audit(p.goto("/mon-espace"), "session terminée")
    audit(p.register(HELENE), "refus already_registered", "alert")
    audit(p.sign_in("12345678", OTHER), "identifiant inconnu (401)", "fields")
    p.signed_in(ELOISE)
    audit(p.goto("/mon-espace"), "sans rubrique santé")
    audit(p.goto("/mon-espace/remboursements"), "sans rubrique santé (403)", "alert")


def infos_forms(audit: Audit) -> None:
    p = audit.portal
    audit(p.goto("/mon-espace/infos"), "vide")
    for section, button in [("Adresse e-mail", "Modifier mon adresse e-mail"),
                            ("Mot de passe", "Changer mon mot de passe"),
                            ("Question secrète", "Enregistrer ma question secrète")]:
        audit(p.submit(button, p.region(section)), f"{section} : vide", "fields")
    p.fill({"Nouvelle adresse e-mail": "neuve@example.org", "Mot de passe": OTHER},
           p.region("Adresse e-mail"))
    audit(p.submit("Modifier mon adresse e-mail"), "Adresse e-mail : mot de passe faux", "fields")
    p.fill({"Nouvelle adresse e-mail": "neuve@example.org", "Mot de passe": OWN_PASSWORD},
           p.region("Adresse e-mail"))
    audit(p.submit("Modifier mon adresse e-mail"), "Adresse e-mail : code envoyé")
    [body] = p.mail("neuve@example.org")
    p.goto("/verification-email")
    p.fill({"Code de vérification": CODE.search(body).group(1)})
    audit(p.submit("Confirmer"), "adresse confirmée")
    p.goto("/mon-espace/infos")
    password = p.region("Mot de passe")
    p.fill({"Mot de passe actuel": OWN_PASSWORD, "Nouveau mot de passe": "motdepasse"}, password)
    audit(p.submit("Changer mon mot de passe", password), "Mot de passe : faible", "fields")
    p.fill({"Mot de passe actuel": OWN_PASSWORD, "Nouveau mot de passe": OTHER}, password)
    audit(p.submit("Changer mon mot de passe", password), "Mot de passe : modifié")
    question = p.region("Question secrète")
    p.fill({"Question secrète": "Mon chien ?", "Réponse secrète": "Médor",
            "Mot de passe": OTHER}, question)
    audit(p.submit("Enregistrer ma question secrète", question), "Question secrète : enregistrée")
    p.page.get_by_label("Recevoir un e-mail à chaque remboursement santé").uncheck()
    audit(p.submit("Enregistrer mes alertes"), "Alertes e-mail : désactivées")


def test_the_audit_sees_what_is_wrong(portal: Portal, app):
    """A control: the same checks on a page spoilt on purpose report each problem."""
    audit = portal_audit(portal, app)
    response = portal.goto("/")
    portal.page.evaluate("""() => {
        document.documentElement.lang = 'en';
        document.querySelector('main').insertAdjacentHTML('beforeend',
            '<h1>Deux</h1><img src="/assets/portal.css"><input aria-invalid="true" id="x">');
    }""")
    audit(response, "abîmée", "fields")
    found = "\n".join(audit.problems)
    for expected in ["axe image-alt", "axe label", "2 <h1>",
                     'lang="en"', "no error summary", "#x: no message"]:
        assert expected in found, (expected, found)
