"""The support console's session: held on the server, so that signing out, revoking the token
or outliving it ends it for every copy of the cookie; and its cookie's attributes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.api.console_pages import csrf_token, sign_in


@pytest.fixture
def signed_in(client, services):
    token = services.staff_tokens.create("Camille Martin", "support")
    assert sign_in(client, token).status_code == 302
    return client


def test_a_copy_of_the_cookie_no_longer_opens_the_console_after_sign_out(signed_in, app):
    copied = signed_in.get_cookie("session").value
    token = csrf_token(signed_in, "/support/queue")
    assert signed_in.post("/support/signout", data={"csrf_token": token}).status_code == 302

    thief = app.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/support/queue")

    assert response.status_code == 302 and response.location.endswith("/support/")


def test_revoking_the_token_ends_an_open_console_session(signed_in, app):
    assert signed_in.get("/support/queue").status_code == 200

    revoked = app.test_cli_runner().invoke(args=["staff", "revoke", "Camille Martin"])

    assert revoked.exit_code == 0, revoked.output
    response = signed_in.get("/support/queue")
    assert response.status_code == 302 and response.location.endswith("/support/")


def test_the_console_session_ends_when_its_token_expires(client, services, clock):
    token = services.staff_tokens.create("Camille Martin", "support", expires_in_days=1)
    clock.advance(hours=23)
    assert sign_in(client, token).status_code == 302
    assert client.get("/support/queue").status_code == 200

    clock.advance(hours=1, seconds=1)

    response = client.get("/support/queue")
    assert response.status_code == 302 and response.location.endswith("/support/")
    assert sign_in(client, token).status_code == 401


@pytest.mark.parametrize(
    ("public_url", "secure"),
    [("https://espace-client.example.fr", True), ("http://localhost:5000", False)],
)
def test_the_session_cookie_is_secure_when_the_public_url_is_https(
    settings, clock, public_url, secure
):
    from app import create_app

    app = create_app(replace(settings, portal_url=public_url), clock=clock)
    try:
        token = app.extensions["accounts"].staff_tokens.create("Camille Martin", "support")
        response = sign_in(app.test_client(), token)
    finally:
        app.extensions["accounts"].close()

    assert response.status_code == 302 and response.location.endswith("/support/queue")
    cookie = response.headers["Set-Cookie"]
    attributes = [part.strip() for part in cookie.split(";")]
    assert ("Secure" in attributes) is secure
    assert "HttpOnly" in attributes and "SameSite=Lax" in attributes
