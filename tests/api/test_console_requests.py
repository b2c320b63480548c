"""Requests decided in the support console: an e-mail update (with the new address), a closure
(confirmed on a page that says what follows), and any other request (with a reply to the
requester). Each goes through the support API's use case, with the agent's name and note."""

from __future__ import annotations

import re

import pytest

from projections.support_queue import item_id
from tests.api.console_pages import AGENT, sign_in, stored, text, title
from tests.helpers import (
    OWN_PASSWORD,
    bearer,
    credentials,
    drain,
    open_account,
    read_mail,
    recorded,
    settle,
    text_of,
)

CORRECTED = "helene.corrigee@example.org"
ASKED = "helene.neuve@example.org"
LOUISE = {"last_name": "Martin", "first_name": "Louise", "email": "louise@example.org",
          "message": "Je ne reçois pas l'e-mail de mes codes d'accès."}


@pytest.fixture
def signed_in(client, services):
    assert sign_in(client, services.staff_tokens.create(AGENT, "support")).status_code == 302
    return client


@pytest.fixture
def member(client, services):
    return open_account(client, services)


def asked(client, services, kind: str, **fields: str) -> dict[str, str]:
    """A request through the public form: its id and its queue item's page."""
    response = client.post("/api/v1/support-requests", json={"kind": kind, **fields})
    assert response.status_code == 202, response.json
    settle(services)
    request_id = response.json["request_id"]
    return {"request_id": request_id, "page": f"/support/items/{item_id(kind, request_id)}"}


@pytest.fixture
def email_update(client, services, member):
    return asked(client, services, "email_update", last_name="Dupré-Lefèvre",
                 first_name="Hélène", identifier=member.identifier, new_email=ASKED,
                 message="Je n'ai plus accès à mon ancienne adresse.")


@pytest.fixture
def closure(client, services, member):
    response = client.post("/api/v1/me/closure", json={"password": OWN_PASSWORD},
                           headers=member.headers)
    assert response.status_code == 202, response.json
    settle(services)
    request_id = response.json["request_id"]
    return {"request_id": request_id, "page": f"/support/items/{item_id('closure', request_id)}"}


@pytest.fixture
def other(client, services):
    return asked(client, services, "other", **LOUISE)


def decide(client, request: dict[str, str], decision: str, csrf: bool = True, **fields: str):
    page = client.get(request["page"]).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    # « Autre motif » goes with every decision on every kind of request.
    data = {"decision": decision, "reason": "other", **fields,
            **({"csrf_token": token} if csrf else {})}
    return client.post(f"/support/requests/{request['request_id']}/decision", data=data)


def mail_to(services, address: str) -> list:
    drain(services)
    return [m for m in read_mail(services.settings.mail.directory) if m["To"] == address]


def account_email(client, services, identifier: str) -> str:
    token = services.staff_tokens.create("lecture", "support")
    return client.get(f"/api/v1/support/accounts/{identifier}", headers=bearer(token)).json[
        "email"
    ]


# E-mail updates.


def test_an_email_update_shows_the_asked_address_ready_to_accept(signed_in, email_update, member):
    page = text(signed_in.get(email_update["page"]))
    assert '<label for="new_email">Nouvelle adresse e-mail</label>' in page
    assert re.search(rf'<input id="new_email" name="new_email" type="email" value="{ASKED}"', page)
    assert '<label for="note">Note</label>' in page
    assert ">Accepter</button>" in page and ">Refuser</button>" in page
    assert f'href="/support/accounts/{member.identifier}"' in page


def test_accepting_an_email_update_sets_the_address_typed_and_sends_fresh_credentials(
    signed_in, client, services, email_update, member
):
    response = decide(signed_in, email_update, "accept", new_email=f"  {CORRECTED} ",
                      note="Identité vérifiée par téléphone.")
    assert response.status_code == 302
    assert response.location.endswith("/support/queue?kind=email_update")
    assert "l'adresse e-mail du compte est modifiée" in text(signed_in.get(response.location))
    [changed] = recorded(services, "EmailChanged")
    assert (changed.new, changed.actor) == (CORRECTED, f"support:{AGENT}")
    [accepted] = recorded(services, "SupportRequestAccepted")
    assert (accepted.agent, accepted.note) == (AGENT, "Identité vérifiée par téléphone.")
    assert account_email(client, services, member.identifier) == CORRECTED
    [fresh] = [m for m in mail_to(services, CORRECTED) if "Mot de passe temporaire" in text_of(m)]
    assert credentials(fresh)[0] == member.identifier


@pytest.mark.parametrize(("typed", "message"), [
    ("pas-une-adresse", "Adresse e-mail invalide"),
    ("helene@localhost", "Adresse e-mail invalide"),
    ("", "Champ obligatoire."),
], ids=["no-at", "localhost", "empty"])
def test_an_invalid_new_address_is_refused_on_its_field_and_records_nothing(
    signed_in, services, email_update, typed, message
):
    before = stored(services)
    response = decide(signed_in, email_update, "accept", new_email=typed, note="vu")
    assert response.status_code == 422
    page = text(response)
    assert title(response).startswith("Erreur : ")
    assert re.search(rf'<a href="#new_email">Nouvelle adresse e-mail : {message}', page)
    assert re.search(r'<input id="new_email"[^>]*aria-describedby="new_email-aide '
                     r'new_email-erreur" aria-invalid="true"', page)
    assert f'value="{typed}"' in page and ">vu</textarea>" in page
    assert stored(services) == before


def test_refusing_an_email_update_leaves_the_address_and_checks_no_new_one(
    signed_in, client, services, email_update, member
):
    response = decide(signed_in, email_update, "reject", new_email="pas-une-adresse",
                      note="Demande non confirmée par l'adhérente.")
    assert response.status_code == 302
    assert "Demande refusée." in text(signed_in.get(response.location))
    [rejected] = recorded(services, "SupportRequestRejected")
    assert (rejected.agent, rejected.actor) == (AGENT, f"support:{AGENT}")
    assert rejected.note == "Demande non confirmée par l'adhérente."
    assert recorded(services, "EmailChanged") == []
    assert account_email(client, services, member.identifier) == "helene@example.org"


def test_an_email_update_that_matches_no_account_can_only_be_refused(signed_in, client, services):
    request = asked(client, services, "email_update", last_name="Inconnu", first_name="Paul",
                    new_email="paul@example.org", message="Changez mon adresse.")
    page = text(signed_in.get(request["page"]))
    assert "Aucun compte ouvert ne correspond à cette demande" in page
    assert ">Accepter</button>" not in page and ">Refuser</button>" in page
    before = stored(services)
    forced = decide(signed_in, request, "accept", new_email="paul@example.org")
    assert forced.status_code == 409
    assert "Aucun compte ouvert ne correspond" in text(forced)
    assert stored(services) == before
    assert decide(signed_in, request, "reject").status_code == 302


# Closures.


def test_accepting_a_closure_first_says_what_will_happen_and_records_nothing(
    signed_in, client, services, closure, member
):
    before = stored(services)
    response = decide(signed_in, closure, "accept", note="Demande confirmée.")
    assert response.status_code == 200
    page = " ".join(text(response).split())
    assert f"Clôturer le compte {member.identifier} ?" in page
    assert "le compte est fermé" in page
    assert "toutes ses sessions ouvertes prennent fin immédiatement" in page
    assert "sont effacées définitivement et ne pourront pas être récupérées" in page
    assert '<input type="hidden" name="confirmed" value="oui">' in page
    assert '<button type="submit" class="button danger">Accepter</button>' in page
    assert stored(services) == before
    assert client.get("/api/v1/me", headers=member.headers).status_code == 200


def test_the_confirmed_closure_closes_the_account_ends_its_sessions_and_erases_the_member(
    signed_in, client, services, closure, member
):
    response = decide(signed_in, closure, "accept", note="Demande confirmée.", confirmed="oui")
    assert response.status_code == 302
    queue = text(signed_in.get(response.location))
    assert "le compte est clôturé, ses sessions sont fermées" in queue
    assert client.get("/api/v1/me", headers=member.headers).status_code == 401
    [closed] = recorded(services, "AccountClosed")
    assert closed.actor == f"support:{AGENT}"
    [accepted] = recorded(services, "SupportRequestAccepted")
    assert (accepted.agent, accepted.actor) == (AGENT, f"support:{AGENT}")
    assert "Demande confirmée." not in accepted.note  # erased with the member's data
    assert len(recorded(services, "PersonalDataErased")) == 1
    account = text(signed_in.get(f"/support/accounts/{member.identifier}"))
    assert "<strong>fermé</strong>" in account and "helene@example.org" not in account


def test_refusing_a_closure_keeps_the_account_open(signed_in, client, services, closure, member):
    response = decide(signed_in, closure, "reject", note="Doublon.")
    assert response.status_code == 302
    assert "Demande refusée." in text(signed_in.get(response.location))
    assert recorded(services, "AccountClosed") == []
    assert client.get("/api/v1/me", headers=member.headers).status_code == 200


# Other requests: a reply to the requester.


def test_another_request_has_a_reply_field_beside_the_note(signed_in, other):
    page = text(signed_in.get(other["page"]))
    assert '<label for="reply">Réponse envoyée au demandeur</label>' in page
    assert '<textarea id="reply" name="reply"' in page
    assert ">Accepter</button>" in page and ">Refuser</button>" in page


def test_accepting_another_request_records_and_emails_the_reply(signed_in, services, other):
    response = decide(signed_in, other, "accept", note="Adresse vérifiée.",
                      reply="Bonjour,\r\nvotre e-mail est reparti.\r\n\r\nCordialement.")
    assert response.status_code == 302
    assert "La réponse part par e-mail au demandeur." in text(signed_in.get(response.location))
    [accepted] = recorded(services, "SupportRequestAccepted")
    assert (accepted.agent, accepted.note) == (AGENT, "Adresse vérifiée.")
    assert accepted.reply == "Bonjour, votre e-mail est reparti. Cordialement."
    [answer] = [m for m in mail_to(services, LOUISE["email"]) if "Réponse" in m["Subject"]]
    assert "votre e-mail est reparti." in text_of(answer)


def test_refusing_another_request_without_a_reply(signed_in, services, other):
    assert decide(signed_in, other, "reject", note="Hors sujet.").status_code == 302
    [rejected] = recorded(services, "SupportRequestRejected")
    assert (rejected.agent, rejected.note, rejected.reply) == (AGENT, "Hors sujet.", None)


def test_a_reply_with_a_control_character_is_refused_on_its_field(signed_in, services, other):
    before = stored(services)
    response = decide(signed_in, other, "accept", reply="Bonjour\u202e !")
    assert response.status_code == 422
    page = text(response)
    assert ('<a href="#reply">Réponse envoyée au demandeur : La réponse contient des caractères'
            in page)
    assert stored(services) == before


# Whatever the kind.


def test_a_decided_request_shows_its_decision_and_a_second_one_is_already_decided(
    signed_in, services, other
):
    assert decide(signed_in, other, "reject", note="Hors sujet.").status_code == 302
    settle(services)
    page = text(signed_in.get(other["page"]))
    assert "<dt>Décision</dt><dd>Refusée</dd>" in page and f"<dd>{AGENT}</dd>" in page
    assert ">Accepter</button>" not in page
    before = stored(services)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    again = signed_in.post(f"/support/requests/{other['request_id']}/decision",
                           data={"decision": "accept", "reason": "other", "csrf_token": token})
    assert again.status_code == 409 and "Cette demande a déjà été traitée." in text(again)
    assert stored(services) == before


def test_a_request_decision_without_csrf_token_is_refused(signed_in, services, other):
    before = stored(services)
    response = decide(signed_in, other, "reject", csrf=False)
    assert response.status_code == 400 and "Le formulaire a expiré" in text(response)
    assert stored(services) == before


def test_a_request_decision_that_is_neither_accept_nor_reject_is_refused(
    signed_in, services, other
):
    before = stored(services)
    response = decide(signed_in, other, "approve", note="hmm")
    assert response.status_code == 422
    assert "Choisissez « Accepter » ou « Refuser »." in text(response)
    assert stored(services) == before


@pytest.mark.parametrize("request_id", ["00000000-0000-0000-0000-000000000003", "pas-un-uuid"])
def test_an_unknown_request_is_a_french_404_page(signed_in, request_id):
    page = signed_in.get("/support/queue").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = signed_in.post(f"/support/requests/{request_id}/decision",
                              data={"decision": "reject", "note": "x", "csrf_token": token})
    assert response.status_code == 404
    assert "Cette demande n'existe pas." in text(response)
