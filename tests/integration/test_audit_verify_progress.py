"""`audit verify`'s progress reports (the bar a terminal shows, adapters/progress.py): the run
reads the log once and reports the positions done out of the last, in order, up to it; on
SQLite and PostgreSQL."""

from __future__ import annotations

from adapters.audit_verify import verify_everything
from tests.helpers import bearer, settle, story


def test_the_run_reports_its_read_of_the_log_up_to_the_end(client, services, clock):
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
    # One read of the log: one task, up to the last position the run covers.
    assert {task for task, _, _ in reports} == {"events"}
    done = [done for _, done, _ in reports]
    assert done == sorted(done) and reports[-1][1:] == (head, head), reports
