"""Fixtures of the upgrade tests: the previous release, checked out once per session, and the
real SMTP server of the integration tests (imported from their conftest, not copied)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.conftest import smtp_server
from tests.processes import service_env
from tests.upgrade.releases import PACKAGES, Release, previous_release

__all__ = ["previous", "smtp_server"]


@pytest.fixture(scope="session")
def previous(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    """The previous release's worktree. Its processes must import its own code, not this
    checkout's (which the venv's editable install points to): checked here, once."""
    with previous_release(tmp_path_factory.mktemp("releases")) as release:
        env = service_env("sqlite:///unused.sqlite3", "file:unused")
        locations = release.code_locations(env)
        assert set(locations) == set(PACKAGES), locations
        elsewhere = {name: path for name, path in locations.items()
                     if not path.startswith(f"{release.root}/")}
        assert not elsewhere, f"the previous release imports code from outside {release.root}: " \
                              f"{elsewhere}"
        yield release
