"""The support console (/support/): sign-in, CSRF, the queue, and registration decisions."""

from __future__ import annotations

import html
import re
from uuid import UUID

import pytest

from projections.support_queue import item_id
from tests.helpers import drain, read_mail, settle, text_of

HELENE = {
    "member_number": "M1000001", "last_name": "Dupré-Lefèvre", "first_name": "Hélène",
    "birth_date": "1978-04-12", "email": "helene@example.org",
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/support/") -> str:
    page = client.get(path)
    return CSRF.search(page.get_data(as_text=True)).group(1)


def sign_in(client, token: str):
    return client.post("/support/", data={"token": token, "csrf_token": csrf_token(client)})


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def agent(services) -> str:
    return services.staff_tokens.create("Camille Martin", "support")


@pytest.fixture
def signed_in(client, agent):
    assert sign_in(client, agent).status_code == 302
    return client


@pytest.fixture
def review(client, services) -> dict[str, str]:
    """A registration whose first name does not match the directory, in the queue."""
    response = client.post("/api/v1/registrations", json={**HELENE, "first_name": "Hélèna"})
    assert response.json["status"] == "identity_review"
    settle(services)
    registration = response.json["registration_id"]
    return {"registration_id": registration, "item_id": item_id("identity_review", registration)}


def decide(client, review, decision: str, note: str = "", token: str | None = None):
    detail = f"/support/items/{review['item_id']}"
    return client.post(
        f"/support/registrations/{review['registration_id']}/decision",
        data={"decision": decision, "note": note,
              "csrf_token": token or csrf_token(client, detail)},
    )


def test_a_support_agent_signs_in_and_lands_on_the_queue(client, agent):
    response = sign_in(client, agent)
    assert response.status_code == 302 and response.location.endswith("/support/queue")
    page = client.get("/support/queue")
    assert page.status_code == 200
    assert "Connecté(e) : Camille Martin" in text(page)
    assert "Vérifications d'identité" in text(page)


def test_a_wrong_token_is_refused_with_a_french_error(client):
    response = sign_in(client, "not-a-token")
    assert response.status_code == 401
    assert "ne donne pas accès à la console du support" in text(response)
    assert client.get("/support/queue").status_code == 302


def test_an_auditor_token_does_not_open_the_console(client, services):
    auditor = services.staff_tokens.create("Dominique", "auditor")
    response = sign_in(client, auditor)
    assert response.status_code == 401
    assert "ne donne pas accès à la console du support" in text(response)
    assert client.get("/support/queue").status_code == 302


@pytest.mark.parametrize(
    "path", ["/support/queue", "/support/queue?kind=closure", "/support/items/anything"]
)
def test_pages_redirect_to_sign_in_without_a_session(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.location.endswith("/support/")


def test_a_decision_without_a_session_redirects_to_sign_in_and_decides_nothing(
    client, review
):
    response = decide(client, review, "approve", token=csrf_token(client))
    assert response.status_code == 302 and response.location.endswith("/support/")
    status = client.get(f"/api/v1/registrations/{review['registration_id']}").json
    assert status["status"] == "identity_review"


def test_the_session_cookie_is_http_only_same_site_and_does_not_show_the_token(client, agent):
    response = sign_in(client, agent)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert agent not in cookie


def test_a_sign_in_without_csrf_token_is_refused(client, agent):
    response = client.post("/support/", data={"token": agent})
    assert response.status_code == 400
    assert "Le formulaire a expiré ou n'est pas valide" in text(response)
    assert client.get("/support/queue").status_code == 302


def test_a_decision_without_csrf_token_is_refused_and_decides_nothing(signed_in, review):
    response = signed_in.post(
        f"/support/registrations/{review['registration_id']}/decision",
        data={"decision": "approve", "note": ""},
    )
    assert response.status_code == 400
    status = signed_in.get(f"/api/v1/registrations/{review['registration_id']}").json
    assert status["status"] == "identity_review"


def test_the_json_api_still_takes_posts_without_csrf_token(client, agent, review):
    response = client.post(
        f"/api/v1/support/registrations/{review['registration_id']}/decision",
        json={"decision": "reject", "note": "par l'API"},
        headers={"Authorization": f"Bearer {agent}"},
    )
    assert response.status_code == 200 and response.json["status"] == "rejected"


def test_the_queue_lists_the_review_under_its_tab(signed_in, review):
    page = text(signed_in.get("/support/queue?kind=identity_review"))
    assert f"/support/items/{review['item_id']}" in page
    assert "« Dupré-Lefèvre Hélèna » déclaré" in page
    other = text(signed_in.get("/support/queue?kind=closure"))
    assert review["item_id"] not in other and "Aucune demande en attente" in other


def test_the_queue_pages_with_a_next_link(signed_in, client, services, monkeypatch):
    import adapters.http.console as console

    client.post("/api/v1/registrations", json={**HELENE, "first_name": "Hélèna"})
    client.post("/api/v1/registrations", json={
        "member_number": "M1000005", "last_name": "Ndiaye", "first_name": "Aminta",
        "birth_date": "1985-06-03", "email": "aminata@example.org",
    })
    settle(services)
    monkeypatch.setattr(console, "PAGE_SIZE", 1)
    first = text(signed_in.get("/support/queue"))
    cursor = re.search(r'href="(/support/queue\?[^"]*cursor=[^"]+)"[^>]*>Suivant', first)
    assert cursor is not None
    second = text(signed_in.get(cursor.group(1)))
    assert "Hélèna" in first and "Ndiaye" not in first
    assert "Ndiaye" in second and "Hélèna" not in second
    assert "Suivant" not in second and "Début de la file" in second


@pytest.mark.parametrize("cursor", ["not-a-cursor", "cTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"])
def test_a_bad_next_link_is_a_french_400_page(signed_in, cursor):
    response = signed_in.get(f"/support/queue?kind=identity_review&cursor={cursor}")
    assert response.status_code == 400
    assert "Le lien de page suivante n'est pas valide." in text(response)


def test_an_unknown_tab_is_a_french_404_page(signed_in):
    response = signed_in.get("/support/queue?kind=everything")
    assert response.status_code == 404 and "Cette file n'existe pas." in text(response)


def test_the_identity_review_detail_shows_both_spellings(signed_in, review):
    response = signed_in.get(f"/support/items/{review['item_id']}")
    assert response.status_code == 200
    page = text(response)
    assert "Saisi par la personne" in page and "Annuaire" in page
    assert "M1000001" in page
    first_name = re.search(r"Prénom.*?<td>(.*?)</td>\s*<td>(.*?)</td>", page, re.S)
    assert first_name.groups() == ("Hélèna", "Hélène")
    last_name = re.search(r"Nom.*?<td>(.*?)</td>\s*<td>(.*?)</td>", page, re.S)
    assert last_name.groups() == ("Dupré-Lefèvre", "Dupré-Lefèvre")
    assert 'name="decision" value="approve"' in page and "<textarea" in page


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

    status = signed_in.get(f"/api/v1/registrations/{review['registration_id']}").json
    assert status["status"] == "approved"
    settle(services)
    detail = text(signed_in.get(f"/support/items/{review['item_id']}"))
    assert "Approuvée" in detail and "Camille Martin" in detail
    assert "Faute de frappe, vérifié par téléphone." in detail
    drain(services)
    [message] = read_mail(services.settings.mail.directory)
    assert message["To"] == "helene@example.org"
    assert re.search(r"^Identifiant : \d{8}$", text_of(message), re.M)


def test_the_agent_and_the_note_are_on_the_event(signed_in, services, review):
    decide(signed_in, review, "reject", "Pièce\r\nd'identité  illisible")
    events = services.lifecycle.events.get(UUID(review["registration_id"]))
    [event] = [e for e in events if type(e).__name__ == "IdentityRejected"]
    assert event.agent == "Camille Martin"
    assert event.note == "Pièce d'identité illisible"  # the note is kept on one line
    status = signed_in.get(f"/api/v1/registrations/{review['registration_id']}").json
    assert status["status"] == "rejected"


def test_a_second_decision_says_the_request_was_already_handled(signed_in, review):
    token = csrf_token(signed_in, f"/support/items/{review['item_id']}")
    assert decide(signed_in, review, "approve", token=token).status_code == 302
    again = decide(signed_in, review, "reject", token=token)
    assert again.status_code == 409
    assert "Cette demande a déjà été traitée." in text(again)


def test_a_decision_that_is_neither_approve_nor_reject_is_refused(signed_in, review):
    response = decide(signed_in, review, "maybe", "hmm")
    assert response.status_code == 422
    assert "Choisissez « Approuver » ou « Rejeter »." in text(response)
    assert ">hmm</textarea>" in text(response)


def test_an_unknown_item_or_registration_is_a_french_404_page(signed_in):
    assert signed_in.get("/support/items/nope").status_code == 404
    response = decide(
        signed_in, {"registration_id": "00000000-0000-0000-0000-000000000000",
                    "item_id": "nope"}, "approve", token=csrf_token(signed_in, "/support/queue"),
    )
    assert response.status_code == 404
    assert "Cette demande d'inscription n'existe pas." in text(response)


def test_signing_out_ends_the_console_session(signed_in):
    token = csrf_token(signed_in, "/support/queue")
    response = signed_in.post("/support/signout", data={"csrf_token": token})
    assert response.status_code == 302 and response.location.endswith("/support/")
    assert signed_in.get("/support/queue").status_code == 302
