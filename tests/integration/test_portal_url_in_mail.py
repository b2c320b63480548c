"""The e-mails' links follow ACCOUNTS_PORTAL_URL: the service wires it into the mail actors."""

from __future__ import annotations

import pytest

from tests.helpers import inbox, make_settings, register_member, urls_of

PORTAL = "https://espace-client.example.fr"


@pytest.fixture
def settings(tmp_path, database_url):
    return make_settings(tmp_path, database_url, ACCOUNTS_PORTAL_URL=PORTAL + "/")


def test_the_credentials_email_links_to_the_configured_portal(client, services):
    identifier, password = register_member(client, services)
    [message] = inbox(services)
    assert set(urls_of(message)) == {f"{PORTAL}/connexion", f"{PORTAL}/contact"}
    assert not any(identifier in url or password in url for url in urls_of(message))
