"""The auditor's side of the console (/support/audit/…), on SQLite and PostgreSQL: signing in
with an auditor token, an account's timeline in French (reimbursements included, a picture of
the sequence, no secret), its state at an instant and what changed between two, the global
feed page by page, the last `audit verify` run; and the separation of duties: a support token
opens no audit page, an auditor decides nothing (403, nothing recorded)."""

from __future__ import annotations

import html
import re
from datetime import datetime

import pytest

from adapters.mail_french import PARIS
from tests.api.console_pages import (
    csrf_token,
    decide,
    in_review,
    post_form,
    sign_in,
    status_of,
    stored,
    text,
    title,
)
from tests.helpers import (
    ANSWER,
    FEED,
    LABEL,
    bearer,
    feed_item,
    open_account,
    settle,
    story,
)

AUDITOR = "Dominique Leroy"
AGENT = "Camille Martin"
ELOISE = {"member_number": "M1000008", "last_name": "Cœurdevey", "first_name": "Éloïse",
          "birth_date": "1990-01-15", "email": "eloise@example.org"}


@pytest.fixture
def auditor(client, services):
    response = sign_in(client, services.staff_tokens.create(AUDITOR, "auditor"))
    assert response.status_code == 302 and response.location.endswith("/support/audit")
    return client


@pytest.fixture
def told(client, services, clock) -> dict[str, str]:
    """The audit story (helpers.story), then one of Zoé's care reimbursed on Hélène's
    contract."""
    told = story(client, services, clock)
    claims = bearer(services.staff_tokens.create("flux-sante", "claims"))
    assert client.post(FEED, json=feed_item(), headers=claims).status_code == 202
    settle(services)
    return told


def minute(moment: str | datetime) -> str:
    """An instant as the datetime-local field sends it, in Paris time."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


def api_history(client, services, identifier: str) -> list[dict]:
    headers = bearer(services.staff_tokens.create("audra", "auditor"))
    return client.get(f"/api/v1/audit/accounts/{identifier}/events", headers=headers).json[
        "events"]


# Signing in, and the menu of each role.


def test_an_auditor_lands_on_the_audit_home_and_sees_only_the_audit_menu(auditor):
    page = auditor.get("/support/audit")
    assert page.status_code == 200
    shown = text(page)
    assert "<h1>Audit des comptes</h1>" in shown and f"Connecté(e) : {AUDITOR}" in shown
    for link in ("Journal de tous les événements", "Dernière vérification", "Rechercher un compte"):
        assert link in shown
    assert "File du support" not in shown and "/support/queue" not in shown


def test_a_support_agent_sees_no_audit_link(client, services):
    sign_in(client, services.staff_tokens.create(AGENT, "support"))
    shown = text(client.get("/support/queue"))
    assert "File du support" in shown
    assert "/support/audit" not in shown and "Journal de tous les événements" not in shown


# The timeline.


def test_the_timeline_reads_in_french_with_reimbursements_and_a_picture(
    auditor, client, services, told
):
    identifier = told["identifier"]
    page = auditor.get(f"/support/audit/accounts/{identifier}")
    assert page.status_code == 200
    shown = text(page)
    for label in ("Inscription demandée", "Identité à vérifier par le support",
                  "Identité validée par le support", "Compte ouvert", "Connexion réussie",
                  "Mot de passe modifié", "Adresse e-mail modifiée", "Remboursement reçu"):
        assert label in shown, label
    assert "Support (alice)" in shown and "Flux des prestations (flux-sante)" in shown
    assert f"Membre {identifier}" in shown and "Système (" in shown
    assert LABEL in shown and "25,40" in shown  # the reimbursement's data, in words
    assert "vu au téléphone" in shown  # the agent's note
    # Every event of the API's history, in order, each once in the list and in the picture.
    events = api_history(client, services, identifier)
    assert any(e["stream"].startswith("Reimbursement:") for e in events)
    numbers = re.findall(r'<li id="evenement-(\d+)"', shown)
    assert numbers == [str(n) for n in range(1, len(events) + 1)]
    assert len(re.findall(r'<path class="mark ', shown)) == len(events) + 5  # + the key's
    first = datetime.fromisoformat(events[0]["occurred_at"]).astimezone(PARIS)
    assert f"Le {first:%d/%m/%Y à %H:%M}, par" in shown
    svg = re.search(r"<svg class=\"timeline\"[^>]*>", shown).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="frise-titre frise-resume"' in svg
    assert f"{len(events)} événements (" in shown  # the picture's summary, in its <desc>


def test_no_secret_and_no_hash_of_one_appears_on_the_timeline(auditor, told):
    shown = text(auditor.get(f"/support/audit/accounts/{told['identifier']}"))
    for secret in (told["temporary"], told["token"], told["code"], ANSWER):
        assert secret not in shown
    assert "_hash" not in shown and "[masqué]" not in shown and "$argon2" not in shown
    assert "<script" not in shown and "style=" not in shown


def test_the_auditor_finds_an_account_by_identifier_or_member_number(auditor, told):
    identifier = told["identifier"]
    for typed in (identifier, "m1000001"):
        found = auditor.get("/support/audit/accounts", query_string={"q": typed})
        assert found.status_code == 302, typed
        assert found.location.endswith(f"/support/audit/accounts/{identifier}")
    refused = auditor.get("/support/audit/accounts", query_string={"q": "abc!"})
    assert refused.status_code == 422 and title(refused).startswith("Erreur : ")
    missing = auditor.get("/support/audit/accounts", query_string={"q": "00000000"})
    assert missing.status_code == 404 and "Aucun compte ne correspond" in text(missing)
    assert auditor.get("/support/audit/accounts/00000000").status_code == 404


# The state at an instant, and what changed between two.


def test_the_state_at_an_instant_in_words(auditor, told):
    identifier = told["identifier"]
    path = f"/support/audit/accounts/{identifier}/state"
    empty = auditor.get(path)
    assert empty.status_code == 200 and "Date et heure" in text(empty)
    page = auditor.get(path, query_string={"at": minute(told["opened_at"])})
    assert page.status_code == 200
    shown = text(page)
    for name, value in (("Statut", "Ouvert"), ("Adresse e-mail", "helene@example.org"),
                        ("Mot de passe", "choisi par le membre"), ("Blocage", "aucun"),
                        ("Question secrète", "Chien ?")):
        assert f"<dt>{name}</dt><dd>{value}</dd>" in shown, name
    assert "Dernière connexion</dt><dd>" in shown and "jamais" not in shown
    french = datetime.fromisoformat(told["opened_at"]).astimezone(PARIS)
    typed = auditor.get(path, query_string={"at": f"{french:%d/%m/%Y %H:%M}"})
    assert typed.status_code == 200 and "helene@example.org" in text(typed)


@pytest.mark.parametrize("typed, status, message", [
    ("", 422, "Champ obligatoire."),
    ("hier", 422, "au format JJ/MM/AAAA HH:MM"),
    ("2026-02-30T10:00", 422, "au format JJ/MM/AAAA HH:MM"),
    ("2001-01-01T10:00", 404, "n'existait pas encore à cet instant"),
])
def test_a_wrong_instant_is_refused_in_french(auditor, told, typed, status, message):
    page = auditor.get(f"/support/audit/accounts/{told['identifier']}/state",
                       query_string={"at": typed})
    assert page.status_code == status
    assert message in text(page)


def test_what_changed_between_two_instants(auditor, told, clock):
    path = f"/support/audit/accounts/{told['identifier']}/changes"
    assert auditor.get(path).status_code == 200
    page = auditor.get(path, query_string={"from": minute(told["opened_at"]),
                                           "to": minute(clock.now)})
    assert page.status_code == 200
    shown = text(page)
    assert re.search(r"<th scope=\"row\">Adresse e-mail</th><td>helene@example.org</td>"
                     r"<td><span aria-hidden=\"true\">→ </span>neuve@example.org</td>", shown)
    assert "<th scope=\"row\">Statut</th>" not in shown  # unchanged: not listed
    assert "Adresse e-mail modifiée" in shown  # among the events in between
    backwards = auditor.get(path, query_string={"from": minute(clock.now),
                                                "to": minute(told["opened_at"])})
    assert backwards.status_code == 422
    assert "Le second instant doit suivre le premier." in text(backwards)


def test_compared_with_before_the_account_existed(auditor, told, clock):
    page = auditor.get(f"/support/audit/accounts/{told['identifier']}/changes",
                       query_string={"from": "2001-01-01T10:00", "to": minute(clock.now)})
    assert page.status_code == 200
    assert "Le compte n'existait pas encore</td>" in text(page)


# The global feed.


def test_the_global_feed_goes_page_by_page(auditor, told, monkeypatch):
    from adapters.http.console import audit_pages

    monkeypatch.setattr(audit_pages, "FEED_PAGE", 5)
    first = text(auditor.get("/support/audit/events"))
    assert "Page suivante" in first and "Page précédente" not in first
    assert "Inscription demandée" in first
    following = re.search(r'href="([^"]+)" rel="next"', first).group(1)
    second = auditor.get(following.replace("&amp;", "&"))
    assert second.status_code == 200 and "Page précédente" in text(second)
    assert following.endswith("after=5")
    assert auditor.get("/support/audit/events?after=abc").status_code == 400
    last = text(auditor.get("/support/audit/events?after=100000"))
    assert "Aucun événement après cette position" in last and "Page suivante" not in last


# The last `audit verify`.


def test_the_last_audit_verify_run_is_shown(app, auditor, told):
    empty = text(auditor.get("/support/audit/verification"))
    assert "Aucune vérification n'est enregistrée" in empty
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    checked = int(re.search(r"(\d+) events chained", result.output).group(1))
    shown = text(auditor.get("/support/audit/verification"))
    assert "Tout concorde" in shown and f"<dt>Événements vérifiés</dt><dd>{checked}</dd>" in shown
    assert "flask --app app audit verify</code>, par l'utilisateur système" in shown
    assert "Tout concorde" not in text(auditor.get("/support/audit")) and (
        "tout concorde" in text(auditor.get("/support/audit")))


def test_the_published_checkpoints_are_shown_latest_first(auditor, told, services, clock):
    assert "Aucun point de contrôle n'est encore publié" in text(
        auditor.get("/support/audit/verification"))
    first = services.audit_proofs.publish(clock())
    clock.advance(minutes=60)
    services.staff_tokens.create("autre", "support")  # no event: the tree does not grow
    assert services.audit_proofs.publish(clock()) is None
    shown = text(auditor.get("/support/audit/verification"))
    assert f"<td>{first.size}</td>" in shown and html.escape(first.note) in shown
    assert shown.count('<pre class="note">') == 1


def test_a_failed_audit_verify_shows_its_count_and_first_problems(app, auditor, told, services):
    with services.database.transaction() as cursor:
        cursor.execute("UPDATE support_queue_items SET summary = 'falsifié'")
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    shown = text(auditor.get("/support/audit/verification"))
    assert re.search(r"\d+ problèmes? trouvés?", shown)
    assert "support_queue.support_queue_items" in shown and 'lang="en"' in shown


# Separation of duties.

AUDIT_PAGES = [
    "/support/audit", "/support/audit/accounts?q={identifier}",
    "/support/audit/accounts/{identifier}", "/support/audit/accounts/{identifier}/state",
    "/support/audit/accounts/{identifier}/state?at=2026-01-01T10:00",
    "/support/audit/accounts/{identifier}/changes", "/support/audit/events",
    "/support/audit/verification",
]


def test_a_support_token_opens_no_audit_page(client, services, told):
    sign_in(client, services.staff_tokens.create(AGENT, "support"))
    before = stored(services)
    for path in AUDIT_PAGES:
        page = client.get(path.format(identifier=told["identifier"]))
        assert page.status_code == 403, path
        assert "réservée aux auditeurs" in text(page), path
        assert "Console du support" in title(page)
    assert stored(services) == before


def test_audit_pages_ask_for_a_sign_in_without_a_session(client, told):
    for path in AUDIT_PAGES:
        page = client.get(path.format(identifier=told["identifier"]))
        assert page.status_code == 302 and page.location.endswith("/support/"), path


def test_an_auditor_decides_nothing_and_opens_no_support_page(auditor, client, services):
    review = in_review(client, services)
    eloise = open_account(client, services, **ELOISE)
    asked = client.post("/api/v1/support-requests", json={
        "kind": "other", "last_name": ELOISE["last_name"], "first_name": ELOISE["first_name"],
        "identifier": eloise.identifier, "message": "Une question.",
    })
    assert asked.status_code == 202, asked.json
    settle(services)
    request_id, identifier = asked.json["request_id"], eloise.identifier
    before = stored(services)
    for path in ("/support/queue", f"/support/items/{review['item_id']}",
                 "/support/accounts?q=M1000008", f"/support/accounts/{identifier}"):
        page = auditor.get(path)
        assert page.status_code == 403, path
        assert "réservée au support" in text(page)
    posted = [
        decide(auditor, review, "approve", note="vu", token=csrf_token(auditor, "/support/audit")),
        post_form(auditor, f"/support/requests/{request_id}/decision", "/support/audit",
                  decision="accept", note="", reply="C'est fait."),
        post_form(auditor, f"/support/accounts/{identifier}/credentials", "/support/audit"),
        post_form(auditor, f"/support/accounts/{identifier}/unlock", "/support/audit"),
    ]
    assert [answer.status_code for answer in posted] == [403] * 4
    assert stored(services) == before
    assert status_of(client, review) == "identity_review"
