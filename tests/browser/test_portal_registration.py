"""Activation through the pages, in Chromium against a real server (issue 17): each outcome of
a registration (accepted, identity review, every refusal reason, an interrupted registration
accepted again until the 3-e-mail cap), and a whole activation with the keyboard only."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Portal
from tests.helpers import HELENE

# Registration outcomes.


def test_a_name_spelt_otherwise_waits_for_an_identity_review(portal: Portal):
    review = portal.register(HELENE, first_name="Hélèna")
    assert review.status == 200 and "/activer/suivi/" in review.url
    portal.notice("votre demande est transmise au support technique pour vérification")
    expect(portal.page.get_by_role("main")).to_contain_text("Un problème de saisie")
    assert portal.mail(HELENE["email"]) == []


@pytest.mark.parametrize(("changes", "reason"), [
    ({"birth_date": "1978-04-13"}, "Aucun adhérent ne correspond à ce numéro"),
    ({"member_number": "M1000003", "first_name": "Zoé", "birth_date": "2009-02-17"},
     "doit être effectuée par l'adhérent principal du contrat santé"),
    ({"member_number": "M1000012", "last_name": "Martin", "first_name": "Louise",
      "birth_date": "1995-05-05"}, "L'Espace Client est réservé aux assurés santé"),
    ({}, "Un compte existe déjà pour cet adhérent."),
], ids=["unknown_member", "not_principal_member", "not_eligible", "already_registered"])
def test_each_refusal_shows_its_reason_on_the_form(portal: Portal, changes, reason):
    if not changes:
        portal.signed_in()
        portal.submit("Se déconnecter")
    refused = portal.register({**HELENE, **changes})
    assert refused.status == 200 and refused.url.endswith("/activer")
    alert = portal.page.get_by_role("alert")
    expect(alert.get_by_role("heading")).to_have_text("Votre compte n'a pas pu être activé")
    expect(alert).to_contain_text(reason)
    expect(portal.field("Numéro d'adhérent")).to_have_value(changes.get("member_number",
                                                                       "M1000001"))
    if not changes:
        with portal.page.expect_navigation():
            alert.get_by_role("link", name="Codes d'accès oubliés ?").click()
        assert portal.page.url.endswith("/codes-oublies")
    assert portal.mail(HELENE["email"]) == []


def test_an_interrupted_registration_is_accepted_again_until_the_email_cap(portal: Portal):
    issued = []
    for _ in range(3):
        assert "/activer/suivi/" in portal.register().url
        portal.notice("Votre compte est activé.")
        issued.append(portal.credentials(HELENE["email"]))
    assert len({identifier for identifier, _ in issued}) == 1, "the same identifier each time"
    assert len({password for _, password in issued}) == 3, "fresh credentials each time"

    capped = portal.register()
    assert capped.status == 429 and int(capped.headers["retry-after"]) > 0
    expect(portal.page.get_by_role("alert")).to_contain_text(
        "Trois e-mails de codes d'accès sont déjà partis pour ce compte"
    )
    assert portal.mail(HELENE["email"]) == []
    identifier, password = issued[-1]
    assert portal.sign_in(identifier, password).url.endswith("/nouveau-mot-de-passe")


# Keyboard only.


def focused(portal: Portal) -> str:
    """The focused element, as `tag#id` or `tag:text`."""
    return portal.page.evaluate(
        "() => { const e = document.activeElement;"
        " return e.tagName.toLowerCase() + (e.id ? '#' + e.id : ':' + e.textContent.trim()); }"
    )


def test_a_registration_with_the_keyboard_only(portal: Portal):
    keyboard = portal.page.keyboard
    portal.goto("/activer")
    keyboard.press("Tab")
    assert focused(portal) == "a:Aller au contenu", "the skip link is the first Tab stop"
    keyboard.press("Enter")
    assert focused(portal) == "main#contenu"
    typed = {
        "member_number": HELENE["member_number"], "last_name": HELENE["last_name"],
        "first_name": HELENE["first_name"], "birth_date": "12/04/1978",
        "email": HELENE["email"], "secret_question": "", "secret_answer": "",
    }
    for name, text in typed.items():
        keyboard.press("Tab")
        assert focused(portal) == f"input#{name}"
        keyboard.type(text)
    keyboard.press("Tab")
    assert focused(portal) == "button:Activer mon compte"
    keyboard.press("Shift+Tab")
    assert focused(portal) == "input#secret_answer"
    with portal.page.expect_navigation() as navigation:
        keyboard.press("Enter")  # in a field, Enter submits its form
    assert "/activer/suivi/" in navigation.value.url
    portal.notice("Votre compte est activé.")
    portal.credentials(HELENE["email"])
