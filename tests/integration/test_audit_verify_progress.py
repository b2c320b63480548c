"""`audit verify`'s progress reports (the bars a terminal shows, adapters/progress.py): each
of its long tasks reports what it has done out of its total, in order, up to the total; on
SQLite and PostgreSQL."""

from __future__ import annotations

from adapters.audit_verify import verify_everything
from tests.helpers import bearer, settle, story


def test_each_task_reports_up_to_its_total_in_order(client, services, clock):
    s = story(client, services, clock)
    for n in range(25):  # past two snapshots of the account
        assert client.put("/api/v1/me/alerts", json={"reimbursements": n % 2 == 0},
                          headers=bearer(s["token"])).status_code == 200
    settle(services)
    services.projections.stop()
    head = services.lifecycle.recorder.max_notification_id()
    reports: list[tuple[str, int, int]] = []

    problems = verify_everything(services, say=lambda _line: None,
                                 progress=lambda *report: reports.append(report))

    assert problems == []
    tasks = list(dict.fromkeys(task for task, _, _ in reports))
    assert tasks == ["hash chain and tree (events)", "snapshots (streams)", "replay (events)"]
    for task in tasks:
        mine = [(done, total) for t, done, total in reports if t == task]
        done = [d for d, _ in mine]
        assert done == sorted(done) and mine[-1][0] == mine[-1][1], (task, mine)
    totals = {task: total for task, _, total in reports}
    assert totals["hash chain and tree (events)"] == totals["replay (events)"] == head
    assert totals["snapshots (streams)"] == 1  # the one account snapshotted
