"""What the console's tests share: signing in with a token, posting a form with its CSRF
token, reading a page's text and title, and an identity review in the queue."""

from __future__ import annotations

import html
import re

from projections.support_queue import item_id
from tests.helpers import drain, event_types, settle

HELENE = {
    "member_number": "M1000001", "last_name": "Dupré-Lefèvre", "first_name": "Hélène",
    "birth_date": "1978-04-12", "email": "helene@example.org",
}
AMINATA = {
    "member_number": "M1000005", "last_name": "Ndiaye", "first_name": "Aminta",
    "birth_date": "1985-06-03", "email": "aminata@example.org",
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
AGENT = "Camille Martin"


def csrf_token(client, path: str = "/support/") -> str:
    page = client.get(path)
    return CSRF.search(page.get_data(as_text=True)).group(1)


def sign_in(client, token: str):
    return client.post("/support/", data={"token": token, "csrf_token": csrf_token(client)})


def post_form(client, path: str, page: str, **fields: str):
    """Posts a form as the console's page `page` would, with its CSRF token."""
    return client.post(path, data={"csrf_token": csrf_token(client, page), **fields})


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def title(response) -> str:
    return re.search(r"<title>(.*?)</title>", text(response), re.S).group(1).strip()


def stored(services) -> int:
    """How many events are stored once the queued e-mails are sent (they record their outcome
    as they go): a refused form leaves it as it was."""
    drain(services)
    return len(event_types(services))


def in_review(client, services) -> dict[str, str]:
    """A registration whose first name does not match the directory, in the queue."""
    response = client.post("/api/v1/registrations", json={**HELENE, "first_name": "Hélèna"})
    assert response.json["status"] == "identity_review"
    settle(services)
    registration = response.json["registration_id"]
    return {"registration_id": registration, "item_id": item_id("identity_review", registration)}


# A reason each decision takes, as an agent picks one in the form's « Motif » list.
REASONS = {"approve": "identity_confirmed_by_phone", "reject": "document_mismatch"}


def decide(client, review, decision: str, note: str = "", token: str | None = None, **more):
    detail = f"/support/items/{review['item_id']}"
    return client.post(
        f"/support/registrations/{review['registration_id']}/decision",
        data={"decision": decision, "note": note, "reason": REASONS.get(decision, "other"),
              "csrf_token": token or csrf_token(client, detail), **more},
    )


def status_of(client, review) -> str:
    return client.get(f"/api/v1/registrations/{review['registration_id']}").json["status"]


def counts(page: str) -> dict[str, str]:
    """Each tab's label and the count it shows."""
    return dict(re.findall(
        r'<a href="/support/queue\?[^"]*"[^>]*>([^<]+?) <span class="count">(\d+)<', page
    ))
