"""Fixtures of the portal pages' HTTP tests."""

from __future__ import annotations

import pytest

from tests.api.page_browser import SPACE, Browser, went_to
from tests.helpers import open_account


@pytest.fixture
def member(client, services):
    return open_account(client, services)


@pytest.fixture
def browser(app) -> Browser:
    return Browser(app.test_client())


@pytest.fixture
def signed_in(browser, member) -> Browser:
    went_to(browser.sign_in(member.identifier, member.password), SPACE)
    return browser
