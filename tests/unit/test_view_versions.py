"""A read model's version beside the live one names its own tables and indexes (pure: the
statements only, no database)."""

from __future__ import annotations

import re

from projections.audit import AuditView
from projections.support_queue import SupportQueueView


def beside(view_class, version: int):
    return view_class(database=None, tracking=None).beside(version)


def test_the_next_version_s_tables_and_indexes_are_suffixed_and_nothing_else_is():
    ddl = beside(SupportQueueView, 2).ddl()
    created = [re.search(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)", s).group(1) for s in ddl]
    assert created == [
        "support_queue_items_v2", "support_queue_status_v2", "support_queue_kind_v2",
        "support_queue_account_v2", "support_queue_member_v2", "support_pending_credentials_v2",
        "support_pending_account_v2", "support_pending_verifications_v2", "support_unerased_v2",
        "support_pending_mail_v2", "support_queue_flow_v2", "support_queue_hours_v2",
    ]
    assert "ON support_pending_credentials_v2 (account_id)" in ddl[6]


def test_statements_name_the_next_version_s_tables_as_whole_words_only():
    view = beside(AuditView, 3)
    sql = ("INSERT INTO audit_streams (stream_id) SELECT stream_id FROM audit_events"
           " WHERE kind = 'audit_streams_member'")
    assert view._named(sql) == (
        "INSERT INTO audit_streams_v3 (stream_id) SELECT stream_id FROM audit_events_v3"
        " WHERE kind = 'audit_streams_member'"
    )


def test_the_live_version_s_statements_are_left_as_written():
    view = AuditView(database=None, tracking=None)
    assert view.ddl() == list(AuditView.tables)
    assert view._named("DELETE FROM audit_events") == "DELETE FROM audit_events"
