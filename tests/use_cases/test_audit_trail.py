"""The auditors' use cases in memory: a member's history with their reimbursements, and an
account's state at an instant in the contract's fields only."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.account import LOCK_DURATION
from domain.errors import AccountNotFoundError, InvalidCredentialsError
from domain.use_cases.views import ReimbursementFeedItem

STATE_KEYS = {
    "status", "email", "must_change_password", "locked_until", "alerts", "secret_question",
    "last_sign_in_at",
}


def paid(world, reimbursement_id: str, member_number: str, contract_id: str) -> None:
    item = ReimbursementFeedItem(
        reimbursement_id=reimbursement_id, member_number=member_number, contract_id=contract_id,
        label="Consultation", care_date=date(2026, 10, 1), paid_at=world.clock(),
        amount="25.00",
    )
    assert world.cases.claims.record_reimbursement(item, "claims:flux") is True


def test_the_history_holds_the_principals_reimbursements_in_log_order(world):
    paid(world, "R-avant", "M1000001", "SANTE-IND-001")  # before she has an account
    account, _ = world.registered()
    paid(world, "R-zoe", "M1000003", "SANTE-IND-001")  # her child's care, paid to her
    paid(world, "R-autre", "M1000005", "SANTE-COL-042")  # another principal's
    history = world.cases.audit.history(account.identifier)
    positions = [p for p, _ in history]
    assert positions == sorted(positions)
    recorded = [e for _, e in history if type(e).__name__ == "ReimbursementRecorded"]
    assert [e.reimbursement_id for e in recorded] == ["R-avant", "R-zoe"]
    assert {e.actor for e in recorded} == {"claims:flux"}
    types = [type(e).__name__ for _, e in history]
    assert types.index("ReimbursementRecorded") < types.index("AccountOpened")


def test_the_state_holds_the_contracts_fields_only(world):
    account, password = world.registered()
    world.clock.advance(minutes=1)
    world.cases.sign_in.sign_in(account.identifier, password)
    then = world.cases.audit.state_at(account.identifier, world.clock())
    assert set(then.state) == STATE_KEYS
    assert then.state["last_sign_in_at"] == world.clock()
    assert then.state["must_change_password"] is True  # signed in with the temporary one
    assert then.identifier == account.identifier


def test_a_lockout_is_locked_until_its_end_and_open_after(world):
    account, _ = world.registered()
    world.clock.advance(minutes=1)
    locked_at = world.clock()
    for _ in range(5):
        with pytest.raises(InvalidCredentialsError):
            world.cases.sign_in.sign_in(account.identifier, "Mauvais mot de passe 1")
    end = locked_at + LOCK_DURATION
    locked = world.cases.audit.state_at(account.identifier, end - timedelta(microseconds=1))
    assert (locked.state["status"], locked.state["locked_until"]) == ("locked", end)
    after = world.cases.audit.state_at(account.identifier, end)
    assert (after.state["status"], after.state["locked_until"]) == ("open", None)
    assert after.version == locked.version  # the same events, read at another instant


def test_no_state_before_the_account_existed(world):
    account, _ = world.registered()
    with pytest.raises(AccountNotFoundError):
        world.cases.audit.state_at(account.identifier, account.created_on - timedelta(seconds=1))
