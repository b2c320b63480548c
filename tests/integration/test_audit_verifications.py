"""Each `flask --app app audit verify` run leaves its outcome in audit_verifications, for the
auditors' console page, on SQLite and PostgreSQL: when, how and by whom it ran, ok or the
problems' count and first messages, the events checked. The table comes with migration 0003,
for a fresh database as for one migrated, and leaves with its downgrade."""

from __future__ import annotations

import re

from adapters import schema
from adapters.audit_verify import FIRST_PROBLEMS, last_run
from bootstrap import bootstrap
from tests.helpers import table_names
from tests.integration.test_db_upgrade import a_story, flask


def verify(settings) -> tuple[int, str, str]:
    done = flask(settings, "audit", "verify")
    out, err = done.communicate(timeout=120)
    return done.returncode, out, err


def test_each_run_stores_its_outcome(client, services, clock, settings):
    assert "audit_verifications" in table_names(services)  # a fresh database has it
    assert last_run(services.database) is None
    a_story(client, services, clock)
    services.projections.stop()  # the command brings the read models up to date itself

    code, out, err = verify(settings)
    assert code == 0, err
    run = last_run(services.database)
    assert run is not None and run.outcome == "ok"
    assert run.events_checked == int(re.search(r"(\d+) events chained", out).group(1)) > 0
    assert run.problem_count == 0 and run.problems == []
    assert run.run_by.startswith("cli:") and len(run.run_by) > len("cli:")
    assert run.started_at <= run.finished_at

    with services.database.transaction() as cursor:
        cursor.execute("UPDATE support_queue_items SET summary = 'falsifié'")
    code, _, err = verify(settings)
    assert code == 1
    failed = last_run(services.database)
    problems = [line.removeprefix("PROBLEM ") for line in err.splitlines()
                if line.startswith("PROBLEM ")]
    assert failed.outcome == "problems" and failed.problem_count == len(problems) > 0
    assert failed.problems == problems[:FIRST_PROBLEMS]
    assert any("support_queue.support_queue_items" in p for p in failed.problems)


def test_the_table_leaves_with_its_downgrade_and_comes_back_at_start_up(
    services, settings, clock
):
    services.close()
    done = flask(settings, "db", "downgrade", "0002")
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    assert out.splitlines()[-1] == "tables: revision 0002"
    again = bootstrap(settings, clock)
    try:
        assert again.migrated_from == "0002"
        assert schema.current(again.database) == schema.head()
        assert "audit_verifications" in table_names(again)
    finally:
        again.close()
