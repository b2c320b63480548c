"""Read models with a version (projections/versions.py): a new version is built beside the
live one from position 0 while the live one serves, and switched in when it has caught up; a
database from before versions rebuilds the read models whose version moved past 1."""

from __future__ import annotations

import re
import time

from adapters import schema
from adapters.audit_verify import verify_read_models
from bootstrap import bootstrap
from projections.runner import ProjectionThread, catch_up
from projections.support_queue import SupportQueue, SupportQueueView
from projections.versions import ReadModels
from tests.helpers import FEED, bearer, feed_item, settle, story, table_names

QUEUE = "support_queue"
LIVE = SupportQueueView.version
NEXT = LIVE + 1


class NextQueueView(SupportQueueView):
    version = NEXT


def next_queue(services) -> ReadModels:
    """The support queue as a release that moved its version on by one would prepare it."""
    view = NextQueueView(services.database, services.support_queue.tracking)
    models = ReadModels(services.database, [SupportQueue(view)])
    models.prepare()
    return models


def head(services) -> int:
    return services.lifecycle.recorder.max_notification_id() or 0


def a_story(client, services, clock) -> dict[str, str]:
    told = story(client, services, clock)
    claims = bearer(services.staff_tokens.create("flux-sante", "claims"))
    assert client.post(FEED, json=feed_item(), headers=claims).status_code == 202
    settle(services)
    return told


def test_a_new_database_is_at_the_newest_schema_with_each_read_model_at_its_version(services):
    assert schema.current(services.database) == schema.head()
    assert services.read_models.versions() == {
        "support_queue": (LIVE, None), "portal": (1, None), "audit": (2, None),
        "audit_tree": (1, None),
    }
    assert services.read_models.rebuilds == []
    assert not any(re.search(r"_v\d+$", name) for name in table_names(services))


def test_a_new_version_is_built_beside_the_live_one_and_switched_in_once_caught_up(
    client, services, clock
):
    a_story(client, services, clock)
    services.projections.stop()  # this test plays the runner of the new release
    before = services.support_queue.all_rows()
    models = next_queue(services)
    assert [(r.name, r.version) for r in models.rebuilds] == [(QUEUE, NEXT)]
    assert models.versions()[QUEUE] == (LIVE, NEXT)
    assert {f"{t}_v{NEXT}" for t in SupportQueueView.table_names} <= table_names(services)
    assert models.serving() == []  # the new code does not write the old shape

    runner = ProjectionThread(services.lifecycle, models.projections, read_models=models)
    assert runner.step() is False  # one stretch built it all (a short log) and switched it
    assert models.rebuilds == []
    assert models.versions()[QUEUE] == (NEXT, None)
    assert not {f"{t}_v{NEXT}" for t in SupportQueueView.table_names} & table_names(services)
    assert services.support_queue.all_rows() == before
    assert services.support_queue.max_tracking_id(QUEUE) == head(services)
    assert services.support_queue.max_tracking_id(f"support_queue_v{NEXT}") is None


def test_the_live_version_serves_while_the_new_one_is_built(client, services, clock):
    a_story(client, services, clock)
    services.projections.stop()
    support = bearer(services.staff_tokens.create("bob", "support"))
    listed = client.get("/api/v1/support/queue?status=closed", headers=support).json["items"]
    models = next_queue(services)
    rebuild = models.rebuilds[0]
    assert catch_up(services.lifecycle, rebuild.projection, batch=3) == 3
    assert rebuild.position() == 3
    assert client.get(
        "/api/v1/support/queue?status=closed", headers=support
    ).json["items"] == listed
    assert len(listed) == 1  # the approved identity review


def test_a_build_behind_the_live_version_is_not_switched(client, services, clock):
    a_story(client, services, clock)
    services.projections.stop()
    models = next_queue(services)
    rebuild = models.rebuilds[0]
    catch_up(services.lifecycle, rebuild.projection, stop=head(services) - 1)
    assert rebuild.position() == head(services) - 1
    assert models.switch(rebuild) is False
    assert models.versions()[QUEUE] == (LIVE, NEXT)
    catch_up(services.lifecycle, rebuild.projection)
    assert models.switch(rebuild) is True
    assert models.versions()[QUEUE] == (NEXT, None)


def test_a_build_interrupted_by_a_restart_goes_on_from_its_position(client, services, clock):
    a_story(client, services, clock)
    services.projections.stop()
    first = next_queue(services).rebuilds[0]
    catch_up(services.lifecycle, first.projection, batch=5)
    again = next_queue(services)  # a restart of the same release
    assert again.rebuilds[0].position() == 5
    assert again.versions()[QUEUE] == (LIVE, NEXT)


def test_a_build_switched_by_another_process_is_done_here_too(client, services, clock):
    a_story(client, services, clock)
    services.projections.stop()
    here, there = next_queue(services), next_queue(services)
    ProjectionThread(services.lifecycle, [], read_models=there).run_until_idle()
    assert there.versions()[QUEUE] == (NEXT, None)
    assert here.switch(here.rebuilds[0]) is True
    assert here.rebuilds == [] and here.serving() == here.projections


def test_metrics_show_the_build_s_position_and_lag(client, services, clock):
    a_story(client, services, clock)
    services.projections.stop()
    models = next_queue(services)
    catch_up(services.lifecycle, models.rebuilds[0].projection, batch=4)
    text = client.get("/metrics").data.decode()
    assert f'accounts_read_model_version{{projection="support_queue"}} {LIVE}.0' in text
    assert ('accounts_read_model_rebuild_position{projection="support_queue",'
            f'version="{NEXT}"}} 4.0') in text
    behind = float(head(services) - 4)
    assert ('accounts_read_model_rebuild_lag_events{projection="support_queue",'
            f'version="{NEXT}"}} {behind}') in text


def test_a_database_from_before_versions_rebuilds_the_audit_index_with_reimbursements(
    client, services, clock, settings
):
    told = a_story(client, services, clock)
    services.projections.stop()
    # As release 4352541 left it: no versions, and the audit index's version 1, which
    # indexed a reimbursement's events but no stream of it.
    services.database.run("DELETE FROM read_model_versions")
    services.database.run("DELETE FROM audit_streams WHERE kind = 'reimbursement'")
    auditor = bearer(services.staff_tokens.create("eve", "auditor"))
    history = f"/api/v1/audit/accounts/{told['identifier']}/events"
    assert "ReimbursementRecorded" not in {e["type"] for e in client.get(
        history, headers=auditor).json["events"]}

    upgraded = bootstrap(settings, clock)
    try:
        # Without versions, every read model is at its version 1: those that moved on rebuild.
        assert upgraded.read_models.versions() == {
            "support_queue": (1, LIVE), "portal": (1, None), "audit": (1, 2),
            "audit_tree": (1, None),
        }
        assert sorted(r.name for r in upgraded.read_models.rebuilds) == ["audit", QUEUE]
        upgraded.projections.run_until_idle()
        assert upgraded.read_models.versions()["audit"] == (2, None)
        assert upgraded.audit.max_tracking_id("audit") == head(upgraded)
    finally:
        upgraded.close()
    types = [e["type"] for e in client.get(history, headers=auditor).json["events"]]
    assert types.count("ReimbursementRecorded") == 1


def test_support_requests_made_while_another_runner_switches_are_each_one_item(
    client, services, clock
):
    """The live projection of this process keeps running while another runner builds the
    next version and switches it in: every request is one item, none lost, none doubled,
    and the rows are what a replay of the log makes."""
    a_story(client, services, clock)
    models = next_queue(services)
    runner = ProjectionThread(
        services.lifecycle, models.projections, poll_seconds=0.01, read_models=models
    )
    stranger = {"last_name": "Martin", "first_name": "Louise", "birth_date": "1995-05-05"}
    runner.start()
    try:
        for n in range(40):
            response = client.post("/api/v1/support-requests", json={
                "kind": "other", "message": f"Demande {n}", **stranger,
            })
            assert response.status_code == 202
        deadline = time.monotonic() + 30
        while models.rebuilds and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        runner.stop()
    assert models.versions()[QUEUE] == (NEXT, None)
    settle(services)
    support = bearer(services.staff_tokens.create("bob", "support"))
    items = client.get("/api/v1/support/queue?kind=other&limit=200", headers=support).json
    assert len(items["items"]) == 40
    result = verify_read_models(services.lifecycle, {QUEUE: services.support_queue}, say=str)
    assert result.differences == []
