"""Accounts in the support console: found by identifier or member number (never once erased),
their page (status, last sign-in, pending requests, recent history in words and Paris time),
and the two actions, re-sending the credentials and unlocking."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from adapters.mail_french import PARIS
from projections.support_queue import item_id
from tests.api.console_pages import AGENT, sign_in, stored, text, title
from tests.helpers import (
    OWN_PASSWORD,
    bearer,
    credentials,
    drain,
    lock,
    open_account,
    read_mail,
    recorded,
    settle,
    text_of,
)
from tests.helpers import sign_in as api_sign_in

STRIPPED = re.compile(r"<[^>]+>")


@pytest.fixture
def signed_in(client, services):
    assert sign_in(client, services.staff_tokens.create(AGENT, "support")).status_code == 302
    return client


@pytest.fixture
def member(client, services):
    return open_account(client, services)


def words(response) -> str:
    """What the page says, tags removed, white space collapsed."""
    return " ".join(STRIPPED.sub(" ", text(response)).split())


def search(client, typed: str):
    return client.get("/support/accounts", query_string={"q": typed})


def act(client, identifier: str, action: str, csrf: bool = True):
    page = client.get(f"/support/accounts/{identifier}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post(f"/support/accounts/{identifier}/{action}",
                       data={"csrf_token": token} if csrf else {})


def close(client, services, member) -> None:
    """The member asks for closure and support accepts it (API)."""
    asked = client.post("/api/v1/me/closure", json={"password": OWN_PASSWORD},
                        headers=member.headers)
    support = bearer(services.staff_tokens.create("alice", "support"))
    decided = client.post(f"/api/v1/support/requests/{asked.json['request_id']}/decision",
                          json={"decision": "accept", "note": ""}, headers=support)
    assert decided.status_code == 200, decided.json
    settle(services)


# Finding an account.


@pytest.mark.parametrize("typed", ["{identifier}", " {identifier} ", "M1000001", " m1000001 "],
                         ids=["identifier", "identifier-pasted", "member-number", "lower-case"])
def test_an_account_is_found_by_identifier_or_member_number(signed_in, member, typed):
    response = search(signed_in, typed.format(identifier=member.identifier))
    assert response.status_code == 302
    assert response.location.endswith(f"/support/accounts/{member.identifier}")


def test_the_account_page_shows_its_status_and_the_member(signed_in, member):
    response = signed_in.get(f"/support/accounts/{member.identifier}")
    assert response.status_code == 200
    page = words(response)
    assert f"Compte {member.identifier}" in page
    assert "État ouvert" in page
    for shown in ("Dupré-Lefèvre", "Hélène", "M1000001", "helene@example.org"):
        assert shown in page, shown
    assert ">Renvoyer les identifiants</button>" in text(response)
    assert ">Débloquer le compte</button>" in text(response)


@pytest.mark.parametrize("typed", ["", "abc-123", "1234567!", "M" * 21])
def test_a_search_for_something_that_is_neither_key_is_refused_on_its_field(signed_in, typed):
    response = search(signed_in, typed)
    assert response.status_code == 422
    page = text(response)
    assert title(response).startswith("Erreur : ")
    assert '<a href="#q">Rechercher un compte : Saisissez un identifiant (8 chiffres)' in page
    assert re.search(r'<input id="q" name="q" type="search"[^>]*aria-invalid="true"', page)
    assert page.count(">Rechercher un compte</label>") == 1  # the header's form steps aside


@pytest.mark.parametrize("typed", ["99999999", "M9999999"])
def test_a_search_that_finds_nothing_says_so(signed_in, member, typed):
    response = search(signed_in, typed)
    assert response.status_code == 404
    assert f"Aucun compte ouvert ne correspond à « {typed} »." in text(response)


def test_a_closed_account_is_found_by_its_identifier_only_and_shows_no_personal_data(
    signed_in, client, services, member
):
    close(client, services, member)
    assert search(signed_in, "M1000001").status_code == 404  # erased: nothing links them
    response = signed_in.get(f"/support/accounts/{member.identifier}")
    assert response.status_code == 200
    page = words(response)
    assert "État fermé" in page and "effacées à la clôture" in page
    for personal in ("Dupré", "Hélène", "M1000001", "helene@example.org"):
        assert personal not in page, personal
    assert "Renvoyer les identifiants" not in page and "Débloquer le compte" not in page
    assert "Compte clôturé" in page and "Support (alice)" in page


def test_an_unknown_identifier_is_a_french_404_page(signed_in):
    response = signed_in.get("/support/accounts/00000000")
    assert response.status_code == 404
    assert "Aucun compte n'a cet identifiant." in text(response)
    for action in ("credentials", "unlock"):
        page = signed_in.get("/support/queue").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        posted = signed_in.post(f"/support/accounts/00000000/{action}", data={"csrf_token": token})
        assert posted.status_code == 404, action


# The account page: last sign-in, pending requests, history, in Paris time.


def test_the_last_sign_in_and_the_history_are_in_words_and_paris_time(
    signed_in, client, services, clock
):
    clock.now = datetime(2026, 12, 3, 13, 5, 42, tzinfo=UTC)
    member = open_account(client, services)  # signs in, sets a password, signs in again
    clock.advance(hours=2)
    page = words(signed_in.get(f"/support/accounts/{member.identifier}"))
    assert "Dernière connexion 03/12/2026 à 14:05" in page
    history = page.split("Historique récent", 1)[1]
    assert "03/12/2026 à 14:05 Connexion Le membre" in history
    assert "Mot de passe modifié Le membre" in history
    assert "Connexion avec le mot de passe temporaire Le membre" in history
    assert "13:05" not in page  # never the UTC time


def test_a_never_used_account_says_so(signed_in, client, services):
    client.post("/api/v1/registrations", json={
        "member_number": "M1000001", "last_name": "Dupré-Lefèvre", "first_name": "Hélène",
        "birth_date": "1978-04-12", "email": "helene@example.org",
    })
    [opened] = recorded(services, "AccountOpened")
    page = words(signed_in.get(f"/support/accounts/{opened.identifier}"))
    assert "Dernière connexion Jamais connecté" in page
    assert "temporaire, à remplacer à la prochaine connexion" in page
    assert "Envoi des codes d'accès demandé (inscription) Le service" in page


def test_the_account_page_lists_its_open_requests(signed_in, client, services, member):
    response = client.post("/api/v1/support-requests", json={
        "kind": "email_update", "last_name": "Dupré-Lefèvre", "first_name": "Hélène",
        "identifier": member.identifier, "new_email": "neuve@example.org",
        "message": "Nouvelle adresse.",
    })
    settle(services)
    item = item_id("email_update", response.json["request_id"])
    page = text(signed_in.get(f"/support/accounts/{member.identifier}"))
    assert f'href="/support/items/{item}"' in page
    assert "Changement d'adresse e-mail" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed_in.post(f"/support/requests/{response.json['request_id']}/decision",
                   data={"decision": "reject", "reason": "duplicate", "csrf_token": token})
    settle(services)
    page = text(signed_in.get(f"/support/accounts/{member.identifier}"))
    assert item not in page and "Aucune demande en cours pour ce compte." in page


# Re-sending the credentials and unlocking.


def test_resending_sends_a_new_temporary_password_with_the_identifier(
    signed_in, client, services, member
):
    response = act(signed_in, member.identifier, "credentials")
    assert response.status_code == 302
    assert response.location.endswith(f"/support/accounts/{member.identifier}")
    shown = words(signed_in.get(response.location))
    assert "Un nouveau mot de passe temporaire part par e-mail" in shown
    assert "Envoi des codes d'accès demandé (renvoi par le support) Support (Camille Martin)" in (
        shown
    )
    [asked] = [e for e in recorded(services, "CredentialsRequested")
               if e.reason == "support_resend"]
    assert asked.actor == f"support:{AGENT}"
    drain(services)
    [message] = [m for m in read_mail(services.settings.mail.directory)
                 if "Mot de passe temporaire" in text_of(m)]
    identifier, temporary = credentials(message)
    assert (message["To"], identifier) == ("helene@example.org", member.identifier)
    assert api_sign_in(client, identifier, temporary).status_code == 201


def test_a_locked_account_shows_until_when_in_paris_and_unlocking_lets_the_member_in(
    signed_in, client, services, member, clock
):
    lock(client, member.identifier)
    until = (clock.now + timedelta(minutes=15)).astimezone(PARIS).strftime("%H:%M")
    page = words(signed_in.get(f"/support/accounts/{member.identifier}"))
    assert f"État verrouillé jusqu'à {until}" in page
    assert f"Compte verrouillé jusqu'à {until} après 5 échecs de connexion" in page

    response = act(signed_in, member.identifier, "unlock")
    assert response.status_code == 302
    shown = words(signed_in.get(response.location))
    assert "Le compte est débloqué" in shown and "État ouvert" in shown
    assert "Compte débloqué Support (Camille Martin)" in shown
    [unlocked] = recorded(services, "AccountUnlocked")
    assert (unlocked.agent, unlocked.actor) == (AGENT, f"support:{AGENT}")
    assert api_sign_in(client, member.identifier, OWN_PASSWORD).status_code == 201


@pytest.mark.parametrize("action", ["credentials", "unlock"])
def test_an_account_action_without_csrf_token_is_refused(signed_in, services, member, action):
    before = stored(services)
    response = act(signed_in, member.identifier, action, csrf=False)
    assert response.status_code == 400 and "Le formulaire a expiré" in text(response)
    assert stored(services) == before


@pytest.mark.parametrize("action", ["credentials", "unlock"])
def test_a_closed_account_takes_no_action(signed_in, client, services, member, action):
    close(client, services, member)
    before = stored(services)
    page = signed_in.get("/support/queue").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = signed_in.post(f"/support/accounts/{member.identifier}/{action}",
                              data={"csrf_token": token})
    assert response.status_code == 409
    assert "Ce compte est clôturé" in text(response)
    assert stored(services) == before
