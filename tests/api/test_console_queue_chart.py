"""The queue over the last 30 days above the console's list (issue 18): for each kind a person
decides, how many items waited at the end of each Paris day and how old the oldest was, as
two inline SVG pictures and the same figures in tables, from a known history recorded at
instants the test's clock sets. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from projections.support_queue_flow import flow_from_items
from tests.api.console_pages import HELENE, sign_in, text
from tests.helpers import bearer, settle

NOW = datetime(2026, 11, 15, 15, 0, tzinfo=UTC)  # 16:00 in Paris; summer time ended 25/10
REQUESTER = {"last_name": "Martin", "first_name": "Louise", "message": "Bonjour."}


def at(clock, *moment: int) -> None:
    clock.now = datetime(*moment, tzinfo=UTC)


def submitted(client, kind: str, **fields: str) -> str:
    response = client.post("/api/v1/support-requests",
                           json={"kind": kind, **REQUESTER, **fields})
    assert response.status_code == 202, response.json
    return response.json["request_id"]


def rejected(client, services, request_id: str) -> None:
    agent = bearer(services.staff_tokens.create("alice", "support"))
    response = client.post(f"/api/v1/support/requests/{request_id}/decision",
                           json={"decision": "reject", "note": "Vu."}, headers=agent)
    assert response.status_code == 200, response.json


@pytest.fixture
def history(client, services, clock):
    """The queue's known past (UTC instants, Paris days in the comments)."""
    at(clock, 2026, 9, 1, 8, 0)
    gone = submitted(client, "other")  # decided before the window: never counted
    at(clock, 2026, 9, 5, 8, 0)
    rejected(client, services, gone)
    at(clock, 2026, 10, 1, 8, 0)
    submitted(client, "email_update", new_email="neuve@example.org")  # before it, still open
    at(clock, 2026, 10, 20, 21, 30)  # 20/10 at 23:30 (summer time)
    first = submitted(client, "other")
    at(clock, 2026, 10, 20, 22, 30)  # 21/10 at 00:30
    submitted(client, "other")
    at(clock, 2026, 11, 1, 23, 30)  # 02/11 at 00:30 (winter time)
    rejected(client, services, first)
    at(clock, 2026, 11, 10, 9, 0)  # opened and decided the same day: never at a day's end
    same_day = submitted(client, "closure")
    at(clock, 2026, 11, 10, 11, 0)
    rejected(client, services, same_day)
    at(clock, 2026, 11, 14, 10, 0)  # 14/11, a review
    assert client.post("/api/v1/registrations",
                       json={**HELENE, "first_name": "Hélèna"}).json["status"] == "identity_review"
    clock.now = NOW
    settle(services)
    return services.support_queue.history(NOW)


def day_of(points, day: date) -> dict:
    return next(p for p in points if p["day"] == day)


def test_thirty_paris_days_up_to_today(history):
    for points in history.values():
        assert [p["day"] for p in points][::29] == [date(2026, 10, 17), date(2026, 11, 15)]
        assert len(points) == 30


def test_the_open_items_at_each_day_s_end(history):
    other = history["other"]
    assert day_of(other, date(2026, 10, 19))["open"] == 0
    assert day_of(other, date(2026, 10, 20))["open"] == 1  # 23:30 is still the 20th in Paris
    assert day_of(other, date(2026, 10, 21))["open"] == 2
    assert day_of(other, date(2026, 11, 1))["open"] == 2  # decided at 00:30 on the 2nd
    assert day_of(other, date(2026, 11, 2))["open"] == 1
    assert other[-1]["open"] == 1
    assert all(p["open"] == 1 for p in history["email_update"])
    assert all(p["open"] == 0 for p in history["closure"])  # the same day's never waited
    reviews = history["identity_review"]
    assert [p["open"] for p in reviews[-3:]] == [0, 1, 1]


def test_the_age_of_the_oldest_at_each_day_s_end_in_paris_days(history):
    other = history["other"]
    assert day_of(other, date(2026, 10, 19))["oldest_days"] is None
    assert day_of(other, date(2026, 10, 20))["oldest_days"] == 0  # came that day
    # The first came on 20/10 (Paris), the second on 21/10; the first left on 02/11.
    assert day_of(other, date(2026, 11, 1))["oldest_days"] == 12
    assert day_of(other, date(2026, 11, 2))["oldest_days"] == 12
    assert other[-1]["oldest_days"] == 25
    assert history["email_update"][-1]["oldest_days"] == 45
    assert history["identity_review"][-1]["oldest_days"] == 1


def test_the_flow_is_what_the_items_make(history, services):
    """The bookkeeping the projection keeps beside the items matches them, row for row."""
    def flow() -> list[dict]:
        return services.database.run(
            "SELECT kind, opened, closed, n FROM support_queue_flow WHERE n > 0"
            " ORDER BY kind, opened, closed")

    kept = flow()
    assert {"kind": "other", "opened": "2026-10-20", "closed": "2026-11-02", "n": 1} in kept
    flow_from_items(services.database)
    assert flow() == kept
    # And a rebuild from the events, in batches, ends with the same.
    before = services.support_queue.all_rows()
    services.support_queue.clear("support_queue")
    settle(services)
    assert services.support_queue.all_rows() == before
    assert services.support_queue.open_counts() == {
        "email_update": 1, "other": 1, "identity_review": 1,
    }


def test_the_queue_page_shows_both_pictures_and_their_figures(history, client, services):
    assert sign_in(client, services.staff_tokens.create("Camille", "support")).status_code == 302
    page = text(client.get("/support/queue"))
    svgs = re.findall(r"<svg [^>]*>", page)
    assert len(svgs) == 2 and all('role="img"' in svg for svg in svgs)
    for name in ("file-en-attente", "file-anciennete"):
        assert f'aria-labelledby="{name}-titre {name}-resume"' in page
        assert f'<title id="{name}-titre">' in page and f'<desc id="{name}-resume">' in page
    assert ("Aujourd'hui : Vérifications d'identité, 1 demande ; Changements d'adresse, 1"
            " demande ; Clôtures, 0 demande ; Autres, 1 demande. Au plus, du 17/10 au 15/11 :"
            " Vérifications d'identité, 1 demande ; Changements d'adresse, 1 demande ;"
            " Clôtures, 0 demande ; Autres, 2 demandes.") in page
    assert "Aujourd'hui : Vérifications d'identité, 1 jour ; Changements d'adresse, 45 jours ;" \
           " Clôtures, — ; Autres, 25 jours." in page
    assert "<summary>Voir les chiffres</summary>" in page
    assert page.count("<caption>") == 2
    # Days as JJ/MM, a row header each; the ages in French figures.
    assert '<th scope="row">02/11</th><td class="number">0</td><td class="number">1</td>' \
           '<td class="number">0</td><td class="number">1</td>' in page
    assert '<th scope="row">15/11 (aujourd\'hui)</th><td class="number">1</td>' in page
    assert "aujourd'hui, à 16:00" in page
    # Only the first page of the list carries the picture.
    assert "<svg" not in text(client.get("/support/queue?kind=other&cursor=cTE"))
