"""A browser made of Flask's test client, for the portal pages' HTTP tests."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from tests.helpers import HELENE, NEW_EMAIL, OTHER, event_types

HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # a browser's Accept
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM_ID = re.compile(r'name="form_id" value="([0-9a-f]{32})"')
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SPACE, SIGN_IN, FORCED = "/mon-espace", "/connexion", "/mon-espace/nouveau-mot-de-passe"
REGISTRATION_FORM = {**HELENE, "birth_date": "12/04/1978"}  # as typed, JJ/MM/AAAA
WRONG = "Mauvais mot de passe 1"


class Browser:
    """Flask's test client as a browser: it asks for HTML, posts each form with the CSRF token
    of a page it was shown, and keeps every URL it asked for or was sent to."""

    def __init__(self, client) -> None:
        self.client = client
        self.urls: list[str] = []

    def get(self, path: str):
        return self._kept(path, self.client.get(path, headers={"Accept": HTML}))

    def token(self, page: str) -> str:
        found = CSRF.search(self.get(page).get_data(as_text=True))
        assert found, f"no csrf_token on {page}"
        return found.group(1)

    def post(self, path: str, page: str | None = None, **fields: str):
        data = {"csrf_token": self.token(page or path), **fields}
        return self._kept(path, self.client.post(path, data=data, headers={"Accept": HTML}))

    def follow(self, response):
        while response.status_code in (302, 303):
            response = self.get(response.location)
        return response

    def sign_in(self, identifier: str, password: str):
        return self.post(SIGN_IN, identifier=identifier, password=password)

    def _kept(self, path: str, response):
        self.urls += [path, response.headers.get("Location", "")]
        return response


def went_to(response, path: str) -> None:
    assert response.status_code == 302, (response.status_code, text(response)[:300])
    assert urlsplit(response.location).path == path


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def stored(services) -> tuple[int, int]:
    """What a refused form leaves as it was: the stored events and the member sessions."""
    [row] = services.database.run("SELECT count(*) AS n FROM member_sessions")
    return len(event_types(services)), row["n"]


def everything(identifier: str, password: str, code: str = "") -> dict[str, str]:
    """One valid value for every field of every portal form: each form reads its own."""
    return {
        **REGISTRATION_FORM, "secret_question": "Mon premier chien ?", "secret_answer": "Médor",
        "identifier": identifier, "password": password, "current_password": password,
        "new_password": OTHER, "new_email": NEW_EMAIL, "question": "Ma ville natale ?",
        "answer": "Brest", "reimbursements": "on", "token": code, "kind": "other",
        "message": "Je ne reçois pas mes codes.",
    }


def pages_rules(app, prefix: str = "/") -> list:
    return [rule for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("pages.") and rule.rule.startswith(prefix)]
