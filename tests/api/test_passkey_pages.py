"""Passkeys, recovery codes and re-authentication on the portal's pages (CONTRACT.md, "Members
in control"): the Sécurité page's « Clés d'accès » and /connexion's ways in without a password,
answered by the software authenticator as passkeys.js would post its answers, on both stores."""

from __future__ import annotations

import html
import json
import re

import pytest

from adapters.http.errors import MESSAGES
from tests.api.page_browser import (
    CSRF,
    HTML,
    SIGN_IN,
    SPACE,
    Browser,
    stored,
    text,
    went_to,
)
from tests.helpers import OWN_PASSWORD, event_types, inbox, make_settings
from tests.soft_authenticator import SoftAuthenticator

ORIGIN, RP_ID = "http://localhost:5000", "localhost"  # the test settings' ACCOUNTS_PORTAL_URL
SECURITY = "/mon-espace/securite"
ADD, REMOVE = f"{SECURITY}/cle", f"{SECURITY}/cle/suppression"
REQUIRE, NEW_CODES = f"{SECURITY}/cle/exigence", f"{SECURITY}/codes-de-secours"
CONFIRM = f"{SECURITY}/confirmation"
CONFIRM_OPTIONS = f"{CONFIRM}/options"
PASSKEY, PASSKEY_OPTIONS = "/connexion/cle-d-acces", "/connexion/cle-d-acces/options"
WITH_CODE = "/connexion/code-de-secours"
CODES = re.compile(r"<li><code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})</code></li>")
NOT_RECOGNISED = "La clé d'accès n'a pas été reconnue."


@pytest.fixture
def settings(tmp_path, database_url, request):
    """conftest's settings, with a test's own environment (indirect parametrization)."""
    return make_settings(tmp_path, database_url, **getattr(request, "param", {}))


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(ORIGIN, RP_ID)


def posted(browser: Browser, path: str, page: str, **fields: str):
    """A form posted with the CSRF token of `page` as already shown (no new GET: a GET of the
    Sécurité page hands out new options)."""
    token = CSRF.search(page)
    assert token, "no csrf_token"
    return browser.client.post(path, data={"csrf_token": token.group(1), **fields},
                               headers={"Accept": HTML})


def options_fetched(browser: Browser, path: str, page: str) -> str:
    """What passkeys.js fetches on the click: the options, with the CSRF header."""
    answer = browser.client.post(path, headers={"X-CSRFToken": CSRF.search(page).group(1),
                                                "Accept": "application/json"})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    return json.dumps(answer.json)


def add_passkey(browser: Browser, authenticator: SoftAuthenticator, name="Mon téléphone"):
    page = browser.get(SECURITY).get_data(as_text=True)
    embedded = re.search(r'data-passkey="create" data-options="([^"]+)"', page)
    assert embedded, "no passkey form on the page"
    credential = authenticator.create(html.unescape(embedded.group(1)))
    return posted(browser, ADD, page, name=name, credential=json.dumps(credential))


def passkey_id(page: str, name: str) -> str:
    for form in re.findall(r'<form method="post" action="[^"]+">(.*?)</form>', page, re.S):
        described = re.search(r'aria-describedby="([^"]+)"', form)
        if described and re.search(rf'id="{described.group(1)}">{re.escape(name)}<', page):
            return re.search(r'name="passkey_id" value="([^"]+)"', form)[1]
    raise AssertionError(f"no Supprimer for {name}")


def passkey_sign_in(browser: Browser, authenticator: SoftAuthenticator, **forge):
    page = browser.get(SIGN_IN).get_data(as_text=True)
    answer = authenticator.get(options_fetched(browser, PASSKEY_OPTIONS, page), **forge)
    return posted(browser, PASSKEY, page, credential=json.dumps(answer))


def with_code(browser: Browser, identifier: str, code: str):
    return browser.post(WITH_CODE, identifier=identifier, recovery_code=code)


def test_the_first_passkey_shows_ten_codes_once_and_is_listed(signed_in, authenticator):
    added = add_passkey(signed_in, authenticator)

    assert added.status_code == 200, text(added)[:500]
    page = text(added)
    assert '<ul class="codes" aria-label="Codes de secours">' in page
    codes = CODES.findall(page)
    assert len(set(codes)) == 10
    assert "La clé d'accès « Mon téléphone » est ajoutée." in page
    assert "<title>Vos codes de secours – Espace Client</title>" in page
    assert "à part de votre téléphone" in page and "une seule fois" in page

    shown = text(signed_in.get(SECURITY))
    assert not any(code in shown for code in codes) and "Codes de secours\">" not in shown
    assert '<h3 id="cle-1">Mon téléphone</h3>' in shown and "Pas encore utilisée" in shown
    assert re.search(r'aria-describedby="cle-1">Supprimer</button>', shown)
    assert ">Exiger une clé d'accès pour me connecter</label>" in shown
    assert "Il vous reste 10 codes de secours sur 10." in shown
    assert not any(code in url for code in codes for url in signed_in.urls)

    second = add_passkey(signed_in, SoftAuthenticator(ORIGIN, RP_ID), "Ordinateur du bureau")
    went_to(second, SECURITY)
    page = text(signed_in.get(SECURITY))
    assert "La clé d'accès « Ordinateur du bureau » est ajoutée." in page
    assert re.findall(r'aria-describedby="(cle-\d)">Supprimer<', page) == ["cle-1", "cle-2"]


def test_sign_in_offers_the_passkey_and_the_recovery_code(browser, member, authenticator):
    page = text(browser.get(SIGN_IN))
    assert ">Se connecter avec une clé d'accès</button>" in page
    assert re.search(r'data-passkey="get"[^>]* hidden>', page)  # until passkeys.js shows it
    assert f'<a href="{WITH_CODE}">Utiliser un code de secours</a>' in page
    assert '<script src="/assets/passkeys.js" defer></script>' in page
    form = text(browser.get(WITH_CODE))
    assert '<label for="identifier">Identifiant</label>' in form
    assert '<label for="recovery_code">Code de secours</label>' in form
    assert ">Se connecter</button>" in form


def test_a_passkey_signs_in_alone_and_a_refused_one_says_so(app, signed_in, member,
                                                            authenticator, services):
    add_passkey(signed_in, authenticator)
    other = Browser(app.test_client())

    went_to(passkey_sign_in(other, authenticator), SPACE)
    assert other.get(SPACE).status_code == 200

    inbox(services)
    before = event_types(services)
    stranger = Browser(app.test_client())
    page = text(stranger.get(SIGN_IN))
    replayed = posted(stranger, PASSKEY, page, credential=json.dumps(authenticator.replay()))
    assert replayed.status_code == 401
    refusal = text(replayed)
    assert re.search(rf'role="alert"[^>]*>\s*<h2 class="error-title">{NOT_RECOGNISED}</h2>',
                     refusal)
    assert "<title>Erreur\u00a0: Se connecter – Espace Client</title>" in refusal
    assert posted(stranger, PASSKEY, page, credential="pas du JSON").status_code == 401
    assert event_types(services) == before
    went_to(stranger.get(SPACE), SIGN_IN)


def test_removing_a_passkey(signed_in, authenticator):
    add_passkey(signed_in, authenticator)
    page = text(signed_in.get(SECURITY))

    went_to(posted(signed_in, REMOVE, page, passkey_id=passkey_id(page, "Mon téléphone")),
            SECURITY)

    page = text(signed_in.get(SECURITY))
    assert "La clé d'accès « Mon téléphone » est supprimée." in page
    assert "Vous n'avez pas encore de clé d'accès." in page
    went_to(posted(signed_in, REMOVE, page, passkey_id="aucune-cle"), SECURITY)
    assert "Cette clé d'accès était déjà supprimée." in text(signed_in.get(SECURITY))


def test_requiring_a_passkey_refuses_the_password_and_a_code_signs_in_once(
    app, signed_in, member, authenticator
):
    codes = CODES.findall(text(add_passkey(signed_in, authenticator)))
    page = text(signed_in.get(SECURITY))

    went_to(posted(signed_in, REQUIRE, page, required="on"), SECURITY)
    page = text(signed_in.get(SECURITY))
    assert "Une clé d'accès est désormais exigée pour vous connecter" in page
    assert re.search(r'id="exiger" name="required" checked', page)

    other = Browser(app.test_client())
    refused = other.sign_in(member.identifier, OWN_PASSWORD)
    assert refused.status_code == 401 and 'role="alert"' in text(refused)

    went_to(with_code(other, member.identifier, codes[0].lower()), SPACE)
    again = with_code(Browser(app.test_client()), member.identifier, codes[0])
    assert again.status_code == 401
    refusal = text(again)
    assert "Identifiant ou mot de passe incorrect." in refusal
    assert 'aria-describedby="recovery_code-hint recovery_code-error"' in refusal
    assert codes[0] not in refusal  # never written back into the page

    went_to(posted(signed_in, REQUIRE, page), SECURITY)  # unticked
    assert "Votre mot de passe suffit de nouveau" in text(signed_in.get(SECURITY))
    went_to(Browser(app.test_client()).sign_in(member.identifier, OWN_PASSWORD), SPACE)


def test_new_codes_replace_the_old_ones(app, signed_in, member, authenticator):
    old = CODES.findall(text(add_passkey(signed_in, authenticator)))
    page = text(signed_in.get(SECURITY))

    renewed = posted(signed_in, NEW_CODES, page)

    assert renewed.status_code == 200
    new = CODES.findall(text(renewed))
    assert len(new) == 10 and not set(new) & set(old)
    assert "Vos anciens codes de secours ne fonctionnent plus." in text(renewed)
    assert with_code(Browser(app.test_client()), member.identifier, old[1]).status_code == 401
    went_to(with_code(Browser(app.test_client()), member.identifier, new[1]), SPACE)


def test_after_five_minutes_the_changes_ask_for_the_password_first(
    signed_in, clock, authenticator
):
    add_passkey(signed_in, authenticator)
    clock.advance(minutes=5, seconds=1)
    page = text(signed_in.get(SECURITY))

    assert '<label for="confirmation-password">Mot de passe</label>' in page
    assert ">Confirmer</button>" in page and ">Confirmer avec une clé d'accès</button>" in page
    assert "Ajouter une clé d'accès</button>" not in page and ">Supprimer<" not in page
    assert "data-options=" not in page  # no registration challenge handed out

    # A form shown before the five minutes were up leads back to the confirmation.
    stale = posted(signed_in, NEW_CODES, page)
    went_to(stale, SECURITY)
    assert "confirmez d'abord votre identité" in text(signed_in.get(SECURITY))

    wrong = posted(signed_in, CONFIRM, page, password="pas le bon")
    assert wrong.status_code == 422
    assert "Mot de passe incorrect." in text(wrong)
    assert 'aria-invalid="true"' in text(wrong)

    went_to(posted(signed_in, CONFIRM, page, password=OWN_PASSWORD), SECURITY)
    page = text(signed_in.get(SECURITY))
    assert "Votre identité est confirmée" in page and ">Supprimer<" in page
    went_to(posted(signed_in, REMOVE, page, passkey_id=passkey_id(page, "Mon téléphone")),
            SECURITY)


def test_a_passkey_confirms_the_identity_too(signed_in, clock, authenticator):
    add_passkey(signed_in, authenticator)
    clock.advance(minutes=6)
    page = text(signed_in.get(SECURITY))
    answer = authenticator.get(options_fetched(signed_in, CONFIRM_OPTIONS, page))

    went_to(posted(signed_in, CONFIRM, page, credential=json.dumps(answer)), SECURITY)
    assert ">Générer de nouveaux codes de secours</button>" in text(signed_in.get(SECURITY))

    clock.advance(minutes=6)
    replayed = posted(signed_in, CONFIRM, page, credential=json.dumps(authenticator.replay()))
    assert replayed.status_code == 422 and NOT_RECOGNISED in text(replayed)


def test_a_recovery_code_confirms_the_identity_once(signed_in, clock, authenticator,
                                                    services):
    codes = CODES.findall(text(add_passkey(signed_in, authenticator)))
    clock.advance(minutes=6)
    page = text(signed_in.get(SECURITY))
    assert '<label for="confirmation-recovery_code">Code de secours</label>' in page
    assert ">Confirmer avec un code de secours</button>" in page
    inbox(services)
    before = event_types(services)

    wrong = posted(signed_in, CONFIRM, page, recovery_code="ZZ7Q-4KXW-9RTM-HV3P")
    assert wrong.status_code == 422
    refusal = text(wrong)
    assert re.search(r'<a href="#confirmation-recovery_code">Code de secours\s: '
                     r'Code de secours incorrect ou déjà utilisé.</a>', refusal)
    assert 'aria-invalid="true"' in refusal and "ZZ7Q-4KXW-9RTM-HV3P" not in refusal
    # Counted toward the lockout; no code spent, no confirmation: the page still asks.
    assert event_types(services) == [*before, "SignInFailed"]
    assert ">Confirmer avec un code de secours</button>" in text(signed_in.get(SECURITY))

    went_to(posted(signed_in, CONFIRM, page, recovery_code=codes[0].lower()), SECURITY)
    page = text(signed_in.get(SECURITY))
    assert "Votre identité est confirmée" in page
    assert "Il vous reste 9 codes de secours sur 10." in page

    clock.advance(minutes=6)
    page = text(signed_in.get(SECURITY))
    spent = posted(signed_in, CONFIRM, page, recovery_code=codes[0])
    assert spent.status_code == 422 and "Code de secours incorrect ou déjà utilisé." in text(spent)
    nothing = posted(signed_in, CONFIRM, page, recovery_code="")
    assert nothing.status_code == 422 and "Champ obligatoire." in text(nothing)


def test_the_forms_without_their_csrf_token_record_nothing(app, signed_in, member,
                                                          authenticator, services):
    add_passkey(signed_in, authenticator)
    page = text(signed_in.get(SECURITY))
    fields = {"name": "Clé volée", "passkey_id": passkey_id(page, "Mon téléphone"),
              "required": "on", "password": OWN_PASSWORD, "identifier": member.identifier,
              "recovery_code": "ABCD-EFGH-JKMN-PQRS", "credential": "{}"}
    inbox(services)  # the passkey's notice e-mail, recorded as sent once its job has run
    before = stored(services)
    paths = (ADD, REMOVE, REQUIRE, NEW_CODES, CONFIRM, CONFIRM_OPTIONS, PASSKEY,
             PASSKEY_OPTIONS, WITH_CODE)
    for path in paths:
        for token in (None, "pas-un-jeton"):
            data = fields if token is None else {**fields, "csrf_token": token}
            refused = signed_in.client.post(path, data=data, headers={"Accept": HTML})
            assert refused.status_code == 400, (path, refused.status_code)
            assert "Le formulaire a expiré" in text(refused), path
    assert stored(services) == before


def test_a_refused_addition_says_why_and_records_nothing(signed_in, authenticator, services):
    inbox(services)
    before = stored(services)
    page = text(signed_in.get(SECURITY))
    nameless = add_passkey(signed_in, authenticator, name="")
    assert nameless.status_code == 422
    refusal = text(nameless)
    assert re.search(r'<a href="#cle-name">Nom de la clé\s: ', refusal)
    assert 'id="cle-name"' in refusal and 'aria-invalid="true"' in refusal
    garbled = posted(signed_in, ADD, page, name="Mon téléphone", credential="[1, 2]")
    assert garbled.status_code == 422
    assert "La clé d'accès n'a pas pu être ajoutée. Réessayez." in text(garbled)
    forged = SoftAuthenticator("http://localhost:5001", RP_ID)  # another origin
    page = signed_in.get(SECURITY).get_data(as_text=True)
    options = html.unescape(re.search(r'data-options="([^"]+)"', page).group(1))
    answer = json.dumps(forged.create(options))
    refused = posted(signed_in, ADD, page, name="Mon téléphone", credential=answer)
    assert refused.status_code == 422 and "n'a pas pu être ajoutée" in text(refused)
    assert stored(services) == before
    assert "Vous n'avez pas encore de clé d'accès." in text(signed_in.get(SECURITY))


@pytest.mark.parametrize("settings", [{"ACCOUNTS_RATE_LIMITS": "sessions=3/minute"}],
                         indirect=True)
def test_the_ways_in_without_a_password_share_the_sign_in_limit(app):
    """The options, the passkey and the recovery code count with the API's sign-ins: a page
    is no way around the limit, nor a way to fill the challenges' table."""
    api, browser = app.test_client(), Browser(app.test_client())
    page = browser.get(SIGN_IN).get_data(as_text=True)
    assert browser.client.post(PASSKEY_OPTIONS, headers={
        "X-CSRFToken": CSRF.search(page).group(1)}).status_code == 200
    assert api.post("/api/v1/sessions/passkey/options").status_code == 200
    assert with_code(browser, "12345678", "ABCD-EFGH-JKMN-PQRS").status_code == 401
    for path, fields in ((PASSKEY, {"credential": "{}"}), (WITH_CODE, {}),
                         (PASSKEY_OPTIONS, {})):
        limited = posted(browser, path, page, **fields)
        assert limited.status_code == 429, path
        assert MESSAGES["rate_limited"] in text(limited)
