"""The page « Sécurité » in each of its states passes axe-core's WCAG 2.1 A and AA rules in
Chromium, with the structure checks of the portal's other pages (axe_walk.py's
`portal_audit`); its buttons have the contract's names exactly, each one's device
as its description; and the download is a file named after the identifier. A second walk does
the same for the passkey pages (the Sécurité page's « Clés d'accès », the recovery codes, the
confirmation of identity, and the ways in without a password from /connexion), with a CDP
virtual authenticator, the server reached as localhost (WebAuthn takes no IP address)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.api.test_member_sessions import IPHONE, WINDOWS
from tests.browser.axe_walk import Audit, portal_audit
from tests.browser.conftest import Portal
from tests.browser.test_passkeys_browser import (  # noqa: F401  (the localhost server)
    base_url,
    portal_port,
    settings,
    virtual_authenticator,
)
from tests.helpers import OWN_PASSWORD

# The endpoints this walk audits, for the portal's coverage test to count as audited.
SECURITY_PAGES = {
    "pages.security", "pages.end_session", "pages.end_other_sessions", "pages.my_data",
}
# The same for the passkey walk: the options are fetched by the script, the rest are pages.
PASSKEY_PAGES = {
    "pages.add_passkey", "pages.remove_passkey", "pages.require_passkey",
    "pages.new_recovery_codes", "pages.reauthenticate", "pages.reauthentication_options",
    "pages.passkey_sign_in_options", "pages.passkey_sign_in", "pages.recovery_code_sign_in",
}
SECURITY = "/mon-espace/securite"
WITH_PASSKEY = "Se connecter avec une clé d'accès"
END_ONE, END_OTHERS = "Déconnecter cet appareil", "Déconnecter tous les autres appareils"


def another_device(portal: Portal, identifier: str, user_agent: str) -> None:
    response = portal.client.post(
        "/api/v1/sessions", json={"identifier": identifier, "password": OWN_PASSWORD},
        headers={"User-Agent": user_agent},
    )
    assert response.status_code == 201


def security_states(audit: Audit) -> None:
    p = audit.portal
    member = p.signed_in()
    another_device(p, member.identifier, IPHONE)
    audit(p.goto(SECURITY), "plusieurs appareils")
    ends = p.page.get_by_role("button", name=END_ONE, exact=True)
    expect(ends).to_have_count(3)  # open_account's two sessions, and the phone
    phone = p.page.get_by_role("listitem").filter(has_text="Safari sur iPhone")
    expect(phone.get_by_role("button")).to_have_accessible_description("Safari sur iPhone")
    expect(p.page.get_by_text("Cet appareil", exact=True)).to_be_visible()

    with p.page.expect_navigation() as navigation:
        phone.get_by_role("button", name=END_ONE, exact=True).click()
    audit(navigation.value, "un appareil déconnecté")
    p.notice("L'appareil « Safari sur iPhone » est déconnecté.")

    another_device(p, member.identifier, WINDOWS)
    audit(p.submit(END_OTHERS), "tous les autres appareils déconnectés")
    p.notice("Vos autres appareils sont déconnectés.")
    audit(p.goto(SECURITY), "un seul appareil")
    expect(p.page.get_by_role("button", name=END_ONE, exact=True)).to_have_count(0)

    with p.page.expect_download() as download:
        p.page.get_by_role("link", name="Télécharger mes données", exact=True).click()
    assert download.value.suggested_filename == f"mes-donnees-{member.identifier}.json"
    audit.endpoints.add("pages.my_data")  # a file, not a page: nothing for axe to read


def test_the_security_page_in_every_state_passes_axe_and_the_structure_checks(
    portal: Portal, app
):
    with portal_audit(portal, app).listing() as audit:
        security_states(audit)
    assert SECURITY_PAGES - audit.endpoints == set(), "pages this walk did not audit"
    assert audit.problems == [], "\n".join(audit.problems)


def passkey_states(audit: Audit, clock) -> None:
    p = audit.portal
    cdp, authenticator = virtual_authenticator(p.page)
    member = p.signed_in()
    audit(p.goto(SECURITY), "sans clé d'accès")
    p.fill({"Nom de la clé": "Mon ordinateur"})
    audit(p.submit("Ajouter une clé d'accès"), "première clé : les codes de secours")
    codes = p.page.get_by_role("list", name="Codes de secours").get_by_role("listitem")
    expect(codes).to_have_count(10)
    audit(p.goto(SECURITY), "une clé d'accès")
    p.page.get_by_label("Exiger une clé d'accès pour me connecter", exact=True).check()
    audit(p.submit("Enregistrer ce choix"), "clé exigée")
    audit(p.submit("Générer de nouveaux codes de secours"), "nouveaux codes de secours")
    code = codes.first.inner_text().strip()

    clock.advance(minutes=5, seconds=1)
    audit(p.goto(SECURITY), "confirmation demandée")
    p.fill({"Mot de passe": "pas le bon"})
    audit(p.submit("Confirmer"), "mot de passe incorrect", "fields")
    audit(p.submit("Confirmer avec une clé d'accès"), "identité confirmée par la clé")
    audit.endpoints.add("pages.reauthentication_options")  # fetched by the script

    p.submit("Se déconnecter")
    audit(p.goto("/connexion"), "bouton de la clé d'accès")
    audit(p.submit(WITH_PASSKEY), "connecté(e) par la clé")
    audit.endpoints.add("pages.passkey_sign_in_options")  # fetched by the script
    p.submit("Se déconnecter")
    audit(p.goto("/connexion/code-de-secours"), "vide")
    audit(p.submit("Se connecter"), "formulaire vide envoyé", "fields")
    p.fill({"Identifiant": member.identifier, "Code de secours": "ABCD-EFGH-JKMN-PQRS"})
    audit(p.submit("Se connecter"), "code de secours faux", "fields")
    p.fill({"Identifiant": member.identifier, "Code de secours": code})
    audit(p.submit("Se connecter"), "connecté(e) par un code de secours")

    card = p.page.get_by_role("listitem").filter(has_text="Mon ordinateur")
    p.goto(SECURITY)
    audit(p.submit("Supprimer", within=card), "clé supprimée")
    p.submit("Se déconnecter")
    audit(p.submit(WITH_PASSKEY), "clé d'accès supprimée : refusée", "alert")

    cdp.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator})
    shown = p.goto("/connexion")
    p.page.get_by_role("button", name=WITH_PASSKEY, exact=True).click()
    expect(p.page.get_by_role("alert")).to_have_text(
        "La clé d'accès n'a pas été reconnue. Réessayez ou utilisez votre mot de passe.")
    audit(shown, "aucune clé sur l'appareil", "alert")


def test_the_passkey_pages_in_every_state_pass_axe_and_the_structure_checks(
    portal: Portal, app, clock
):
    with portal_audit(portal, app).listing() as audit:
        passkey_states(audit, clock)
    assert PASSKEY_PAGES - audit.endpoints == set(), "pages this walk did not audit"
    assert audit.problems == [], "\n".join(audit.problems)
