"""Identity reviews decided in the support console: the declared identity beside the
directory's, approval, rejection after a confirmation, and every refusal recording nothing."""

from __future__ import annotations

import re
from uuid import UUID

import pytest

from projections.support_queue import item_id
from tests.api.console_pages import (
    AGENT,
    HELENE,
    csrf_token,
    decide,
    in_review,
    sign_in,
    status_of,
    stored,
    text,
    title,
)
from tests.helpers import drain, read_mail, recorded, settle, text_of


@pytest.fixture
def agent(services) -> str:
    return services.staff_tokens.create(AGENT, "support")


@pytest.fixture
def signed_in(client, agent):
    assert sign_in(client, agent).status_code == 302
    return client


@pytest.fixture
def review(client, services) -> dict[str, str]:
    return in_review(client, services)


def test_the_identity_review_shows_what_was_declared_beside_the_directory(signed_in, review):
    response = signed_in.get(f"/support/items/{review['item_id']}")
    assert response.status_code == 200
    page = text(response)
    assert "Saisi par la personne" in page and "Annuaire" in page
    assert "M1000001" in page

    def line(label: str) -> tuple[str, ...]:
        found = re.search(rf"<th scope=\"row\">{label}.*?</th>\s*<td>(.*?)</td>\s*<td>(.*?)</td>",
                          page, re.S)
        return found.groups()

    assert line("Prénom") == ("Hélèna", "Hélène")
    assert line("Nom") == ("Dupré-Lefèvre", "Dupré-Lefèvre")
    assert line("Date de naissance") == ("12/04/1978", "12/04/1978")
    assert line("Adresse e-mail") == ("helene@example.org", "Non renseignée dans l'annuaire")
    assert re.search(r'<tr class="differs">\s*<th scope="row">Prénom', page)
    assert not re.search(r'<tr class="differs">\s*<th scope="row">Nom', page)
    assert 'name="decision" value="approve"' in page and 'name="decision" value="reject"' in page
    assert '<label for="note">Note</label>' in page


def test_what_a_person_typed_is_escaped(signed_in, client, services):
    typed = '<script>alert("x")</script>'
    created = client.post("/api/v1/registrations", json={**HELENE, "first_name": typed}).json
    settle(services)
    item = item_id("identity_review", created["registration_id"])
    raw = signed_in.get(f"/support/items/{item}").get_data(as_text=True)
    assert typed not in raw and "&lt;script&gt;" in raw
    assert typed not in signed_in.get("/support/queue").get_data(as_text=True)


def test_approving_through_the_form_decides_the_registration(signed_in, services, review):
    response = decide(signed_in, review, "approve", "Faute de frappe, vérifié par téléphone.")
    assert response.status_code == 302
    assert response.location.endswith("/support/queue?kind=identity_review")
    queue = text(signed_in.get(response.location))
    assert "Demande approuvée" in queue and review["item_id"] not in queue

    assert status_of(signed_in, review) == "approved"
    settle(services)
    detail = text(signed_in.get(f"/support/items/{review['item_id']}"))
    assert "Approuvée" in detail and AGENT in detail
    assert "Faute de frappe, vérifié par téléphone." in detail
    [event] = recorded(services, "IdentityApproved")
    assert (event.agent, event.actor) == (AGENT, f"support:{AGENT}")
    drain(services)
    [message] = read_mail(services.settings.mail.directory)
    assert message["To"] == "helene@example.org"
    assert re.search(r"^Identifiant : \d{8}$", text_of(message), re.M)


def test_rejecting_asks_for_a_confirmation_that_says_what_follows(signed_in, services, review):
    before = stored(services)
    response = decide(signed_in, review, "reject", "Homonyme  probable")
    assert response.status_code == 200
    page = text(response)
    assert "Rejeter cette demande d'inscription ?" in page
    assert "reçoit un e-mail" in page and "définitive" in page
    assert 'name="confirmed" value="oui"' in page
    assert '<input type="hidden" name="note" value="Homonyme probable">' in page
    assert re.search(r'<button type="submit" class="button danger">Rejeter</button>', page)
    assert stored(services) == before and status_of(signed_in, review) == "identity_review"


def test_the_confirmed_rejection_records_the_agent_and_the_note(signed_in, services, review):
    response = decide(signed_in, review, "reject", "Pièce\r\nd'identité  illisible",
                      confirmed="oui")
    assert response.status_code == 302
    assert "Demande rejetée" in text(signed_in.get(response.location))
    events = services.lifecycle.events.get(UUID(review["registration_id"]))
    [event] = [e for e in events if type(e).__name__ == "IdentityRejected"]
    assert event.agent == AGENT and event.actor == f"support:{AGENT}"
    assert event.note == "Pièce d'identité illisible"  # the note is kept on one line
    assert status_of(signed_in, review) == "rejected"


def test_a_second_decision_says_the_request_was_already_handled(signed_in, services, review):
    token = csrf_token(signed_in, f"/support/items/{review['item_id']}")
    assert decide(signed_in, review, "approve", token=token).status_code == 302
    before = stored(services)
    again = decide(signed_in, review, "reject", token=token, confirmed="oui")
    assert again.status_code == 409
    assert "Cette demande a déjà été traitée." in text(again)
    assert title(again).startswith("Erreur : ")
    assert stored(services) == before


def test_a_decision_that_is_neither_approve_nor_reject_is_refused(signed_in, services, review):
    before = stored(services)
    response = decide(signed_in, review, "maybe", "hmm")
    assert response.status_code == 422
    assert "Choisissez « Approuver » ou « Rejeter »." in text(response)
    assert ">hmm</textarea>" in text(response)
    assert title(response).startswith("Erreur : ")
    assert stored(services) == before


def test_a_note_with_a_control_character_is_refused_on_its_field(signed_in, services, review):
    before = stored(services)
    response = decide(signed_in, review, "approve", "vu\u202eau téléphone")
    assert response.status_code == 422
    page = text(response)
    assert 'href="#note">Note : La note contient des caractères de contrôle' in page
    assert 'aria-invalid="true"' in page
    assert stored(services) == before and status_of(signed_in, review) == "identity_review"


def test_a_decision_without_csrf_token_is_refused_and_decides_nothing(signed_in, review):
    response = signed_in.post(
        f"/support/registrations/{review['registration_id']}/decision",
        data={"decision": "approve", "note": ""},
    )
    assert response.status_code == 400
    assert "Le formulaire a expiré" in text(response)
    assert status_of(signed_in, review) == "identity_review"


def test_the_json_api_still_takes_posts_without_csrf_token(client, agent, review):
    response = client.post(
        f"/api/v1/support/registrations/{review['registration_id']}/decision",
        json={"decision": "reject", "note": "par l'API"},
        headers={"Authorization": f"Bearer {agent}"},
    )
    assert response.status_code == 200 and response.json["status"] == "rejected"


@pytest.mark.parametrize("registration", ["00000000-0000-0000-0000-000000000001", "pas-un-uuid"])
def test_an_unknown_item_or_registration_is_a_french_404_page(signed_in, registration):
    assert signed_in.get("/support/items/nope").status_code == 404
    response = decide(
        signed_in, {"registration_id": registration, "item_id": "nope"}, "reject",
        token=csrf_token(signed_in, "/support/queue"),
    )
    assert response.status_code == 404
    assert "Cette demande d'inscription n'existe pas." in text(response)
