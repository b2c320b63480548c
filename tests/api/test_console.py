"""The support console (/support/): sign-in, CSRF, the page policy and the queue (tabs, counts,
decided items, Paris times). The helpers every console test shares are in console_pages.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from projections.support_queue import item_id
from tests.api.console_pages import (
    AGENT,
    AMINATA,
    HELENE,
    counts,
    csrf_token,
    decide,
    in_review,
    sign_in,
    status_of,
    text,
    title,
)
from tests.helpers import settle


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


# Signing in.


def test_a_support_agent_signs_in_and_lands_on_the_queue(client, agent):
    response = sign_in(client, agent)
    assert response.status_code == 302 and response.location.endswith("/support/queue")
    page = client.get("/support/queue")
    assert page.status_code == 200
    assert f"Connecté(e) : {AGENT}" in text(page)
    assert "Vérifications d'identité" in text(page)


def test_a_wrong_token_is_refused_with_a_french_error_tied_to_the_field(client):
    response = sign_in(client, "not-a-token")
    assert response.status_code == 401
    page = text(response)
    assert "ne donne pas accès à la console du support" in page
    assert title(response).startswith("Erreur : ")
    assert 'aria-invalid="true"' in page and 'aria-describedby="token-aide token-erreur"' in page
    assert "not-a-token" not in page  # a token is never written back
    assert client.get("/support/queue").status_code == 302


def test_an_auditor_signs_in_to_the_audit_pages_not_to_the_queue(client, services):
    auditor = services.staff_tokens.create("Dominique", "auditor")
    response = sign_in(client, auditor)
    assert response.status_code == 302 and response.location.endswith("/support/audit")
    refused = client.get("/support/queue")
    assert refused.status_code == 403
    assert "réservée au support" in text(refused)
    assert client.get("/support/").location.endswith("/support/audit")


@pytest.mark.parametrize(
    "path", ["/support/queue", "/support/queue?kind=closure&status=closed",
             "/support/items/anything", "/support/accounts?q=M1000001",
             "/support/accounts/12345678"],
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
    assert status_of(client, review) == "identity_review"


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


def test_signing_out_ends_the_console_session(signed_in):
    token = csrf_token(signed_in, "/support/queue")
    response = signed_in.post("/support/signout", data={"csrf_token": token})
    assert response.status_code == 302 and response.location.endswith("/support/")
    assert signed_in.get("/support/queue").status_code == 302


# The pages' policy: no-store, our own stylesheet only, nothing inline.


@pytest.mark.parametrize("path", ["/support/", "/support/queue", "/support/queue?status=closed"])
def test_console_pages_are_not_stored_and_allow_only_the_apps_own_stylesheet(signed_in, path):
    response = signed_in.get(path)
    assert response.status_code in (200, 302)
    headers = response.headers
    assert headers["Cache-Control"] == "no-store"
    policy = headers["Content-Security-Policy"]
    assert "style-src 'self'" in policy and "unsafe-inline" not in policy
    assert "default-src 'none'" in policy and "form-action 'self'" in policy
    page = response.get_data(as_text=True)
    assert "<style" not in page and " style=" not in page and "<script" not in page


def test_the_console_stylesheets_are_served_by_the_app(signed_in):
    page = text(signed_in.get("/support/queue"))
    hrefs = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert hrefs == ["/assets/common.css", "/assets/console.css"]  # shared rules, then its own
    sheets = [signed_in.get(href) for href in hrefs]
    assert all(s.status_code == 200 and s.mimetype == "text/css" for s in sheets)
    assert ":focus-visible" in sheets[0].get_data(as_text=True)


def test_every_console_page_has_a_skip_link_one_h1_and_french_language(signed_in, review):
    for path in ("/support/queue", f"/support/items/{review['item_id']}",
                 "/support/accounts?q=nimportequoi!"):
        page = signed_in.get(path).get_data(as_text=True)
        assert '<html lang="fr">' in page, path
        assert page.count("<h1") == 1, path
        assert '<a class="skip-link" href="#contenu">' in page and 'id="contenu"' in page, path


# The queue: tabs with their counts, open and decided items, Paris times.


def test_the_queue_lists_the_review_under_its_tab(signed_in, review):
    page = text(signed_in.get("/support/queue?kind=identity_review"))
    assert f"/support/items/{review['item_id']}" in page
    assert "« Dupré-Lefèvre Hélèna » déclaré" in page
    other = text(signed_in.get("/support/queue?kind=closure"))
    assert review["item_id"] not in other and "Aucune demande en attente" in other


def test_each_tab_counts_its_open_items(signed_in, client, services):
    client.post("/api/v1/registrations", json={**HELENE, "first_name": "Hélèna"})
    client.post("/api/v1/registrations", json=AMINATA)
    client.post("/api/v1/support-requests", json={
        "kind": "other", "last_name": "Martin", "first_name": "Louise",
        "message": "Je ne reçois rien.", "email": "louise@example.org",
    })
    settle(services)
    shown = counts(text(signed_in.get("/support/queue?kind=other")))
    assert shown == {
        "Vérifications d'identité": "2", "E-mails non remis": "0",
        "Changements d'adresse": "0", "Clôtures": "0", "Autres": "1",
    }
    assert "2 à traiter" in re.sub(r"<[^>]+>", "", text(signed_in.get("/support/queue")))


def test_a_decided_item_leaves_the_count_and_shows_under_traites(signed_in, services, review):
    assert decide(signed_in, review, "approve", "Vu au téléphone").status_code == 302
    settle(services)
    assert counts(text(signed_in.get("/support/queue")))["Vérifications d'identité"] == "0"
    closed = text(signed_in.get("/support/queue?kind=identity_review&status=closed"))
    assert f"/support/items/{review['item_id']}" in closed
    assert f"Approuvée par {AGENT}" in closed
    assert 'aria-current="page">Traités</a>' in closed
    still_open = text(signed_in.get("/support/queue?kind=identity_review&status=open"))
    assert review["item_id"] not in still_open


@pytest.mark.parametrize(("moment", "shown"), [
    (datetime(2026, 12, 3, 13, 5, 42, tzinfo=UTC), "03/12/2026 à 14:05"),  # UTC+1
    (datetime(2026, 7, 1, 22, 30, tzinfo=UTC), "02/07/2026 à 00:30"),  # UTC+2, the next day
], ids=["winter", "summer"])
def test_the_queue_and_the_item_show_instants_in_paris(
    client, services, clock, agent, review_at, moment, shown
):
    review = review_at(moment)
    sign_in(client, agent)
    page = text(client.get("/support/queue"))
    assert shown in page
    assert moment.strftime("%d/%m/%Y à %H:%M") not in page  # never the UTC time
    detail = text(client.get(f"/support/items/{review['item_id']}"))
    assert f"<dt>Reçue le</dt><dd>{shown}</dd>" in detail


@pytest.fixture
def review_at(client, services, clock):
    def at(moment: datetime) -> dict[str, str]:
        clock.now = moment
        response = client.post("/api/v1/registrations", json={**HELENE, "first_name": "Hélèna"})
        settle(services)
        registration = response.json["registration_id"]
        return {"registration_id": registration,
                "item_id": item_id("identity_review", registration)}

    return at


def test_the_queue_pages_with_a_next_link(signed_in, client, services, monkeypatch):
    from adapters.http.console import queue

    client.post("/api/v1/registrations", json={**HELENE, "first_name": "Hélèna"})
    client.post("/api/v1/registrations", json=AMINATA)
    settle(services)
    monkeypatch.setattr(queue, "PAGE_SIZE", 1)
    first = text(signed_in.get("/support/queue"))
    cursor = re.search(r'href="(/support/queue\?[^"]*cursor=[^"]+)"[^>]*>Suivant', first)
    assert cursor is not None
    second = text(signed_in.get(cursor.group(1)))
    assert "Hélèna" in first and "Ndiaye" not in first
    assert "Ndiaye" in second and "Hélèna" not in second
    assert "Suivant" not in second and "Début de la liste" in second


@pytest.mark.parametrize("cursor", ["not-a-cursor", "cTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"])
def test_a_bad_next_link_is_a_french_400_page(signed_in, cursor):
    response = signed_in.get(f"/support/queue?kind=identity_review&cursor={cursor}")
    assert response.status_code == 400
    assert "Le lien de page suivante n'est pas valide." in text(response)


@pytest.mark.parametrize("query", ["kind=everything", "kind=closure&status=maybe"])
def test_an_unknown_tab_is_a_french_404_page(signed_in, query):
    response = signed_in.get(f"/support/queue?{query}")
    assert response.status_code == 404 and "Cette file n'existe pas." in text(response)
