"""Each process keeps the accounts it loaded (AccountLifecycle.cached_accounts: the library's
cache with fast-forward). Two apps on one store stand for two processes: what one records,
the other's next read shows, down to the erasure of the member's data; and no other stream
is kept, since erasure records nothing in them."""

from __future__ import annotations

import pytest

from domain.errors import AccountNotFoundError
from domain.personal_data import ERASED, PERSONAL_STATE
from tests.helpers import OWN_PASSWORD, open_account


@pytest.fixture
def member(client, services):
    return open_account(client, services)


@pytest.fixture
def elsewhere(settings, clock):
    """A second process on the same store, with its own cache."""
    from app import create_app

    other = create_app(settings, clock=clock).extensions["accounts"]
    yield other
    other.close()


def test_a_process_reads_what_another_recorded_since_it_cached_the_account(
    services, member, elsewhere
):
    account = services.lifecycle.account_by_identifier(member.identifier)
    assert elsewhere.use_cases.member_space.me(account.id).alerts_reimbursements is False
    assert account.id in elsewhere.lifecycle.cached_accounts.cache.cache  # now held there
    services.use_cases.member_space.set_alerts(account.id, True)
    assert elsewhere.use_cases.member_space.me(account.id).alerts_reimbursements is True
    # And a command there runs on that fresh state, saved after this process's event.
    assert elsewhere.use_cases.member_space.set_alerts(account.id, False) is False
    assert services.lifecycle.account(account.id).alerts_reimbursements is False


def test_an_account_erased_by_another_process_is_read_erased_where_it_was_cached(
    services, member, elsewhere
):
    account = services.lifecycle.account_by_identifier(member.identifier)
    cached = elsewhere.lifecycle.account(account.id)
    assert cached.email == "helene@example.org"
    closure = services.use_cases.closure
    request_id = closure.request_closure(account.id, OWN_PASSWORD)
    closure.accept(request_id, "agent.dupont", "Demande de la titulaire")
    closure.erase_personal_data(account.id)  # unless the closure's outbox did it already
    assert services.lifecycle.account(account.id).personal_data_erased
    read_there = elsewhere.lifecycle.account(account.id)
    reloaded = services.lifecycle.repository.get(account.id, version=read_there.version)
    for field, erased in PERSONAL_STATE["Account"].items():
        assert getattr(read_there, field) == erased == getattr(reloaded, field), field
    assert read_there.email == ERASED and read_there.personal_data_erased
    # Erasing again there finds it done, as a reload would.
    assert elsewhere.use_cases.closure.erase_personal_data(account.id) is False


def test_a_support_request_is_not_kept_where_an_erasure_would_not_reach_it(
    services, member, elsewhere
):
    account = services.lifecycle.account_by_identifier(member.identifier)
    request_id = services.use_cases.closure.request_closure(account.id, OWN_PASSWORD)
    elsewhere.use_cases.support.get_support_request(request_id)
    with pytest.raises(AccountNotFoundError):
        elsewhere.lifecycle.account(request_id)  # asked for as an account by mistake
    assert set(elsewhere.lifecycle.cached_accounts.cache.cache) <= {account.id}


def test_a_command_works_on_a_copy_and_a_view_reads_the_kept_account(services, member):
    """account_to_show spares views the deep copy: what a command changes before its save
    (or without one, when a guard refuses after a change) must not reach the kept account."""
    account_id = services.lifecycle.account_by_identifier(member.identifier).id
    kept = services.lifecycle.account_to_show(account_id)
    assert services.lifecycle.account_to_show(account_id) is kept
    commanded = services.lifecycle.account(account_id)
    assert commanded is not kept
    commanded.set_alerts(True, commanded.modified_on)  # changed, never saved
    assert services.lifecycle.account_to_show(account_id).alerts_reimbursements is False
    assert services.use_cases.member_space.me(account_id).alerts_reimbursements is False
