"""`flask --app app db upgrade` and the start-up's migrations, in real processes on SQLite
and PostgreSQL: the tables of the release before migrations are adopted as they stand, a read
model whose version moved is rebuilt, and the switch waits while a projection runner runs."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from adapters import schema
from bootstrap import bootstrap
from tests.helpers import FEED, bearer, feed_item, settle, story
from tests.processes import ROOT, service_env
from workers.runner_lock import runner_lock

FLASK = [str(Path(sys.executable).parent / "flask"), "--app", "app"]


def as_the_release_before_migrations_left_it(services) -> None:
    """No migration recorded, no read model versions, the audit index at its version 1."""
    services.projections.stop()
    for table in ("alembic_version", "read_model_versions"):
        services.database.run(f"DROP TABLE {table}")
    services.database.run("DELETE FROM audit_streams WHERE kind = 'reimbursement'")


def a_story(client, services, clock) -> str:
    identifier = story(client, services, clock)["identifier"]
    claims = bearer(services.staff_tokens.create("flux-sante", "claims"))
    assert client.post(FEED, json=feed_item(), headers=claims).status_code == 202
    settle(services)
    return identifier


def flask(settings, *args: str, **popen: object) -> subprocess.Popen[str]:
    env = service_env(settings.database_url, f"file:{settings.mail.directory}")
    return subprocess.Popen(
        [*FLASK, *args], cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, **popen,
    )


def test_the_tables_of_the_release_before_migrations_are_adopted_as_they_stand(
    client, services, clock, settings
):
    a_story(client, services, clock)
    token = services.staff_tokens.create("alice", "support")
    as_the_release_before_migrations_left_it(services)
    assert schema.current(services.database) is None

    upgraded = bootstrap(settings, clock)
    try:
        assert upgraded.migrated_from is None
        assert schema.current(upgraded.database) == schema.head()
        assert upgraded.staff_tokens.find(token) is not None
    finally:
        upgraded.close()


def test_db_upgrade_rebuilds_the_audit_index_and_says_so(client, services, clock, settings):
    a_story(client, services, clock)
    as_the_release_before_migrations_left_it(services)
    head = services.lifecycle.recorder.max_notification_id()

    done = flask(settings, "db", "upgrade")
    out, err = done.communicate(timeout=120)

    assert done.returncode == 0, err
    # Every read model whose version moved past 1 is rebuilt: the audit index, and the
    # support queue (its version 2 keeps each decision's reason and the 30 days' flow).
    assert out.splitlines() == [
        f"tables: revision {schema.head()} (was the release before migrations)",
        f"support_queue: version 2 switched in at position {head}",
        f"audit: version 2 switched in at position {head}",
        "read model audit: version 2",
        "read model audit_tree: version 1",
        "read model portal: version 1",
        "read model support_queue: version 2",
    ]
    again = flask(settings, "db", "upgrade")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert out.splitlines()[:2] == [
        f"tables: revision {schema.head()}", "read model audit: version 2",
    ]
    verify = flask(settings, "audit", "verify")
    assert verify.wait(timeout=120) == 0, verify.stderr.read()


def test_the_switch_waits_while_a_projection_runner_holds_the_lock(
    client, services, clock, settings
):
    a_story(client, services, clock)
    as_the_release_before_migrations_left_it(services)
    lock = runner_lock(settings)  # as the previous release's runner would hold it
    assert lock.acquire()
    try:
        upgrading = flask(settings, "db", "upgrade")
        line = upgrading.stdout.readline()
        assert line.startswith("tables: revision"), line
        line = upgrading.stdout.readline()
        assert line.startswith("built; a projection runner is active"), line
        time.sleep(1.5)  # a second look, still waiting
        assert upgrading.poll() is None
        assert services.read_models.versions()["audit"] == (1, 2)
    finally:
        lock.release()
    out, err = upgrading.communicate(timeout=60)
    assert upgrading.returncode == 0, err
    assert "audit: version 2 switched in" in out
    assert services.read_models.versions()["audit"] == (2, None)


def test_db_downgrade_undoes_the_migrations_after_a_revision_and_start_up_redoes_them(
    services, settings, clock
):
    services.close()
    done = flask(settings, "db", "downgrade", "0001")
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    assert out.splitlines() == [
        "read model support_queue: emptied, for the older release to rebuild",
        "read model audit: emptied, for the older release to rebuild",
        "tables: revision 0001",
    ]

    again = bootstrap(settings, clock)
    try:
        assert again.migrated_from == "0001"
        assert schema.current(again.database) == schema.head()
        # Below 0002 nothing says which version a read model is at: version 1 is assumed
        # (the release before versions), and the audit index is built again.
        assert again.read_models.versions()["audit"] == (1, 2)
        assert again.read_models.versions()["support_queue"] == (1, 2)
        again.projections.run_until_idle()
        assert again.read_models.versions()["audit"] == (2, None)
        assert again.read_models.versions()["support_queue"] == (2, None)
    finally:
        again.close()
