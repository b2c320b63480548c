"""The register of personal fields (domain/personal_data.py) against the events themselves:
a renamed field or a new event carrying personal data must fail here, not leak quietly."""

from __future__ import annotations

import inspect

from eventsourcing.domain import Aggregate, decorated_funcs

from domain.account import Account
from domain.enrollment import Enrollment
from domain.indexes import MemberIndex
from domain.personal_data import PERSONAL_EVENTS, PERSONAL_STATE
from domain.reimbursement import Reimbursement
from domain.support_request import SupportRequest

AGGREGATES = (Account, Enrollment, SupportRequest, Reimbursement, MemberIndex)
# Field names that always hold someone's personal data, wherever they appear.
PERSONAL_NAMES = {
    "member_number", "principal_member_number", "last_name", "first_name", "birth_date",
    "email", "new_email", "old", "new", "question", "secret_question", "message", "note",
    "declared", "directory", "label", "amount", "care_date", "contract_id", "reply",
}


def event_fields() -> dict[str, set[str]]:
    """Every event class of our aggregates, by qualname, with the fields it records."""
    found = {}
    for aggregate in AGGREGATES:
        for value in vars(aggregate).values():
            if not isinstance(value, type):
                continue
            if value in decorated_funcs:
                parameters = inspect.signature(decorated_funcs[value]).parameters
            elif issubclass(value, Aggregate.Created) and value.__name__ != "Created":
                parameters = inspect.signature(aggregate.__init__).parameters
            else:
                continue
            found[value.__qualname__] = set(parameters) - {"self"}
    return found


def test_every_registered_field_exists_on_its_event():
    events = event_fields()
    for qualname, personal in PERSONAL_EVENTS.items():
        assert qualname in events, qualname
        assert set(personal.fields) <= events[qualname], (qualname, personal.fields)
        if personal.subject not in (None, "originator_id"):
            assert personal.subject in events[qualname], qualname


def test_every_field_with_a_personal_name_is_sealed():
    for qualname, fields in event_fields().items():
        sealed = set(PERSONAL_EVENTS[qualname].fields) if qualname in PERSONAL_EVENTS else set()
        assert fields & PERSONAL_NAMES <= sealed, (qualname, fields & PERSONAL_NAMES - sealed)


def test_the_personal_state_of_a_snapshot_is_the_accounts_personal_attributes():
    opened = PERSONAL_EVENTS["Account.AccountOpened"].fields
    assert set(opened) <= set(PERSONAL_STATE["Account"])
    assert "email_change" in PERSONAL_STATE["Account"]  # holds the pending new address
