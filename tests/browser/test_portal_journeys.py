"""The member's journeys through the portal pages, in Chromium against a real server (issue 17,
"What it must show"): activation, the e-mailed credentials, the forced change, the member's home,
reimbursements and their alerts, "Modifier mes infos", recovery, contact, closure and sign-out.
Fields and buttons are found by the contract's accessible names, exactly."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from domain.support_request import support_reference
from tests.browser.conftest import CODE, Portal
from tests.helpers import ANSWER, HELENE, NEW_EMAIL, OTHER, OWN_PASSWORD, bearer, settle

THIRD = "Le château perd ses clés sous la pluie d'été"
RECOVERED = "helene.retrouvee@example.org"
WEAK_PASSWORD = "Le nouveau mot de passe ne respecte pas les règles de sécurité."


def test_a_member_activates_reads_the_email_and_chooses_a_password(portal: Portal):
    page = portal.page
    portal.goto("/")
    with page.expect_navigation():
        page.get_by_role("main").get_by_role("link", name="Activer mon compte").click()
    portal.fill(portal.identity(HELENE, email=HELENE["email"]))
    accepted = portal.submit("Activer mon compte")
    assert accepted.status == 200 and "/activer/suivi/" in accepted.url
    portal.notice("Votre compte est activé.")
    identifier, temporary = portal.credentials(HELENE["email"])

    assert portal.sign_in(identifier, temporary).url.endswith("/mon-espace/nouveau-mot-de-passe")
    # A temporary password opens the forced change only.
    assert portal.goto("/mon-espace").url.endswith("/mon-espace/nouveau-mot-de-passe")
    weak = portal.choose_password(temporary, "motdepasse")
    assert weak.status == 422
    expect(page.get_by_role("alert").get_by_role("heading")).to_have_text(WEAK_PASSWORD)
    new_password = portal.field("Nouveau mot de passe")
    expect(new_password).to_have_attribute("aria-invalid", "true")
    expect(new_password).to_have_accessible_description(re.compile(
        r"De 12 à 64 caractères.*au moins 12 caractères", re.S
    ))
    expect(portal.field("Mot de passe actuel")).to_have_value("")  # never written back

    home = portal.choose_password(temporary, OWN_PASSWORD)
    assert home.status == 200 and home.url.endswith("/mon-espace")
    portal.notice("Votre mot de passe est enregistré.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Hélène Dupré-Lefèvre")
    expect(page.get_by_role("main")).to_contain_text(identifier)
    expect(page.get_by_role("main")).to_contain_text(HELENE["email"])
    expect(page.get_by_role("heading", level=3)).to_have_text(
        ["Votre complémentaire santé", "Votre relevé de points retraite"]
    )
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_text([
        re.compile("Nom.*Prénom.*Lien"),
        re.compile("Dupré-Lefèvre.*Jean-François.*Conjoint"),
        re.compile("Dupré-Lefèvre.*Zoé.*Enfant"),
        re.compile("Dupré-Lefèvre.*Noël.*Enfant"),
    ])
    expect(page.get_by_role("link", name="Modifier mes infos").first).to_be_visible()
    expect(page.get_by_role("link", name="Fermer mon compte")).to_be_visible()


def test_reimbursements_by_contract_with_alerts_on_then_off(portal: Portal):
    page = portal.page
    portal.signed_in()
    with page.expect_navigation():
        page.get_by_role("link", name="Votre complémentaire santé").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes remboursements santé")
    portal.notice("Aucun remboursement n'a été versé ces 12 derniers mois.")

    portal.reimburse(reimbursement_id="R-1", amount="25")  # alerts off: no e-mail
    assert portal.mail(HELENE["email"]) == []
    portal.submit("Activer les alertes")
    portal.notice("Les alertes e-mail de remboursement sont activées.")
    portal.reimburse(reimbursement_id="R-2", amount="1234.5")
    [alert] = portal.mail(HELENE["email"])
    assert "1\u202f234,50\u00a0€" in alert
    portal.submit("Désactiver les alertes")
    portal.notice("Les alertes e-mail de remboursement sont désactivées.")
    portal.reimburse(reimbursement_id="R-3", amount="7.1")
    assert portal.mail(HELENE["email"]) == []

    portal.page.reload()
    contract = portal.region("Contrat SANTE-IND-001")
    expect(contract.get_by_role("columnheader")).to_have_text(
        ["Versé le", "Bénéficiaire", "Soins", "Date des soins", "Montant"]
    )
    expect(contract.get_by_role("row")).to_have_count(4)
    expect(contract.get_by_role("row").nth(1)).to_contain_text("Zoé")
    expect(contract.get_by_role("cell", name="25,00\u00a0€")).to_be_visible()
    expect(contract.get_by_role("cell", name="7,10\u00a0€")).to_be_visible()


def test_infos_change_email_password_question_then_a_recovery_to_a_new_address(
    portal: Portal,
):
    page = portal.page
    account = portal.signed_in()
    with page.expect_navigation():
        page.get_by_role("main").get_by_role("link", name="Modifier mes infos").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Modifier mes infos")

    email = portal.region("Adresse e-mail")
    portal.fill({"Nouvelle adresse e-mail": NEW_EMAIL, "Mot de passe": OWN_PASSWORD}, email)
    portal.submit("Modifier mon adresse e-mail", email)
    portal.notice("Un code de vérification est envoyé à la nouvelle adresse.")
    [body] = portal.mail(NEW_EMAIL)
    with page.expect_navigation():
        email.get_by_role("link", name=re.compile("confirmer mon adresse e-mail")).click()
    portal.fill({"Code de vérification": CODE.search(body).group(1)})
    portal.submit("Confirmer")
    expect(page.get_by_role("heading", level=1)).to_have_text("Adresse e-mail confirmée")
    expect(page.get_by_role("status")).to_contain_text(NEW_EMAIL)
    assert portal.mail(HELENE["email"]), "the old address is told of the change"

    portal.goto("/mon-espace/infos")
    expect(portal.region("Adresse e-mail")).to_contain_text(NEW_EMAIL)
    password = portal.region("Mot de passe")
    portal.fill({"Mot de passe actuel": OWN_PASSWORD, "Nouveau mot de passe": OTHER}, password)
    portal.submit("Changer mon mot de passe", password)
    portal.notice("Votre mot de passe est modifié.")

    question = portal.region("Question secrète")
    portal.fill({"Question secrète": "Le nom de mon premier chien ?", "Réponse secrète": ANSWER,
                 "Mot de passe": OTHER}, question)
    portal.submit("Enregistrer ma question secrète", question)
    portal.notice("Votre question secrète est enregistrée.")
    expect(question).to_contain_text("Question actuelle : Le nom de mon premier chien ?")
    portal.submit("Se déconnecter")

    # Recovery: the secret answer moves the account to an address the member reads again.
    with page.expect_navigation():
        page.get_by_role("link", name="Codes d'accès oubliés ?").first.click()
    portal.fill(portal.identity(HELENE, new_email=RECOVERED, secret_answer="MEDOR-ZEPHYRIN"))
    sent = portal.submit("Recevoir mes codes")
    assert sent.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Demande de codes d'accès envoyée")
    identifier, temporary = portal.credentials(RECOVERED)
    assert identifier == account.identifier
    portal.sign_in(identifier, temporary)
    assert portal.choose_password(temporary, THIRD).url.endswith("/mon-espace")
    expect(page.get_by_role("main")).to_contain_text(RECOVERED)


def test_contact_closure_then_sign_out_ends_the_session_even_for_a_copied_cookie(
    portal: Portal, new_page
):
    page = portal.page
    account = portal.signed_in()
    with page.expect_navigation():
        page.get_by_role("link", name="Contacter le support technique").click()
    kinds = page.get_by_role("group", name="Objet de votre demande")
    expect(kinds.get_by_role("radio", name=re.compile("^Autre problème"))).to_be_checked()
    kinds.get_by_role("radio", name="Mettre à jour mon adresse e-mail").check()
    portal.fill({"Nom": "Dupré-Lefèvre", "Prénom": "Hélène", "Identifiant": account.identifier,
                 "Nouvelle adresse e-mail": NEW_EMAIL,
                 "Message": "Bonjour,\nmon ancienne adresse est fermée.\nMerci."})
    sent = portal.submit("Envoyer")
    assert sent.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Demande transmise au support")
    expect(page.get_by_role("main")).to_contain_text("Mettre à jour mon adresse e-mail")
    reference = page.locator("dd code").inner_text()
    settle(portal.services)
    support = bearer(portal.services.staff_tokens.create("alice", "support"))
    queue = portal.client.get("/api/v1/support/queue", headers=support).get_json()["items"]
    # The page shows the short reference the acknowledgement e-mail quotes.
    [listed] = [i for i in queue
                if i.get("request_id") and support_reference(i["request_id"]) == reference]
    item = portal.client.get(f"/api/v1/support/queue/{listed['item_id']}", headers=support)
    assert item.get_json()["details"]["message"] == (
        "Bonjour, mon ancienne adresse est fermée. Merci."  # the lines joined by spaces
    )

    portal.goto("/mon-espace")
    with page.expect_navigation():
        page.get_by_role("link", name="Fermer mon compte").click()
    portal.fill({"Mot de passe": OWN_PASSWORD})
    closing = portal.submit("Fermer mon compte")
    assert closing.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Demande de fermeture transmise")
    expect(page.locator("dd code")).to_have_text(re.compile(r"\S{8,}"))

    copied = page.context.cookies()
    signed_out = portal.submit("Se déconnecter")
    assert signed_out.url.endswith("/connexion")
    portal.notice("Vous êtes déconnecté(e).")
    thief = new_page()
    thief.context.add_cookies(copied)
    response = thief.goto(portal.base_url + "/mon-espace")
    assert response is not None and response.url.endswith("/connexion")
    expect(thief.get_by_role("status")).to_contain_text("Votre session a pris fin")


# Sign-in, lockout, revocation.


def test_a_wrong_password_is_refused_with_the_message(portal: Portal):
    account = portal.signed_in()
    portal.submit("Se déconnecter")
    refused = portal.sign_in(account.identifier, OTHER)
    assert refused.status == 401
    expect(portal.page.get_by_role("alert").get_by_role("heading")).to_have_text(
        "Identifiant ou mot de passe incorrect."
    )
    expect(portal.field("Identifiant")).to_have_value(account.identifier)
    expect(portal.field("Mot de passe")).to_have_accessible_description(
        re.compile("Après 5 essais infructueux, le compte est bloqué 15 minutes.")
    )


def test_five_wrong_passwords_lock_and_the_right_one_is_refused_next(portal: Portal):
    account = portal.signed_in()
    portal.submit("Se déconnecter")
    for _ in range(5):
        assert portal.sign_in(account.identifier, OTHER).status == 401
    locked = portal.sign_in(account.identifier, OWN_PASSWORD)
    assert locked.status == 401 and locked.url.endswith("/connexion")
    expect(portal.page.get_by_role("alert")).to_contain_text(
        "Identifiant ou mot de passe incorrect."
    )
    [lock_notice] = portal.mail(HELENE["email"])
    assert "bloqué" in lock_notice


def test_a_password_change_in_one_browser_ends_the_session_of_the_other(
    portal: Portal, new_page
):
    account = portal.signed_in()
    other = Portal(new_page(), portal.base_url, portal.services, portal.client)
    assert other.sign_in(account.identifier, OWN_PASSWORD).url.endswith("/mon-espace")

    portal.goto("/mon-espace/infos")
    password = portal.region("Mot de passe")
    portal.fill({"Mot de passe actuel": OWN_PASSWORD, "Nouveau mot de passe": OTHER}, password)
    portal.submit("Changer mon mot de passe", password)
    portal.notice("Vos autres connexions ont été fermées.")

    assert other.goto("/mon-espace").url.endswith("/connexion")
    other.notice("Votre session a pris fin")
    assert portal.goto("/mon-espace").url.endswith("/mon-espace")


def test_an_unknown_address_gets_a_french_page_not_the_apis_wording(portal: Portal):
    response = portal.goto("/mon-espace/inconnue")
    assert response.status == 404 and "text/html" in response.headers["content-type"]
    expect(portal.page.get_by_role("heading", level=1)).to_have_text("Page introuvable")
    alert = portal.page.get_by_role("alert")
    expect(alert).to_contain_text("page")  # a member looks for a page, not a "ressource"
    expect(alert).not_to_contain_text("Ressource")
    expect(portal.page.get_by_role("link", name="Retour à l'accueil")).to_be_visible()
