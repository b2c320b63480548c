"""A support decision's reason (domain/decision_reasons.py), through the API and the console:
optional in the API (the contract's bodies do not name it), required in the console, checked
against the list of that decision, and still readable once a closure has erased the member,
when the agent's note reads as erased."""

from __future__ import annotations

import re

import pytest

from adapters.audit_words import in_words
from domain.personal_data import ERASED
from projections.support_queue import item_id
from tests.api.console_pages import AGENT, csrf_token, in_review, sign_in, stored, text
from tests.helpers import OWN_PASSWORD, bearer, drain, open_account, recorded, settle

NOTE = "Le membre écrit : « je pars chez un autre assureur »."  # quotes the member
CONFIRMED_BY_MEMBER = "Demande du membre, identité vérifiée"


@pytest.fixture
def support(services) -> dict[str, str]:
    return bearer(services.staff_tokens.create("alice", "support"))


@pytest.fixture
def auditor(services) -> dict[str, str]:
    return bearer(services.staff_tokens.create("audrey", "auditor"))


@pytest.fixture
def signed_in(client, services):
    assert sign_in(client, services.staff_tokens.create(AGENT, "support")).status_code == 302
    return client


@pytest.fixture
def member(client, services):
    return open_account(client, services)


def closure_of(client, services, member) -> dict[str, str]:
    response = client.post("/api/v1/me/closure", json={"password": OWN_PASSWORD},
                           headers=member.headers)
    assert response.status_code == 202, response.json
    settle(services)
    request_id = response.json["request_id"]
    return {"request_id": request_id, "item_id": item_id("closure", request_id),
            "page": f"/support/items/{item_id('closure', request_id)}"}


def queue_item(client, support, item: str) -> dict:
    response = client.get(f"/api/v1/support/queue/{item}", headers=support)
    assert response.status_code == 200, response.json
    return response.json


# The API: optional, checked.


def test_an_api_decision_without_a_reason_still_works_and_reads_not_given(
    client, services, support
):
    review = in_review(client, services)
    response = client.post(
        f"/api/v1/support/registrations/{review['registration_id']}/decision",
        json={"decision": "approve", "note": "vu"}, headers=support,
    )
    assert response.status_code == 200, response.json
    settle(services)
    assert queue_item(client, support, review["item_id"])["reason"] is None
    [approved] = recorded(services, "IdentityApproved")
    assert approved.reason is None
    assert ("Motif", "non précisé") in in_words("IdentityApproved", vars(approved))


def test_an_api_decision_records_its_reason_beside_the_decision(client, services, support):
    review = in_review(client, services)
    response = client.post(
        f"/api/v1/support/registrations/{review['registration_id']}/decision",
        json={"decision": "reject", "note": "vu", "reason": "no_document"}, headers=support,
    )
    assert response.status_code == 200, response.json
    settle(services)
    item = queue_item(client, support, review["item_id"])
    assert item["reason"] == "no_document"
    assert item["decision"] == {"decision": "reject", "agent": "alice", "note": "vu"}


@pytest.mark.parametrize("reason", ["pas_un_motif", "not_the_member"],
                         ids=["unknown", "a rejection's"])
def test_a_reason_not_of_this_decision_is_a_validation_error_and_records_nothing(
    client, services, support, reason
):
    review = in_review(client, services)
    before = stored(services)
    response = client.post(
        f"/api/v1/support/registrations/{review['registration_id']}/decision",
        json={"decision": "approve", "note": "vu", "reason": reason}, headers=support,
    )
    assert response.status_code == 422, response.json
    assert response.json["code"] == "validation_error"
    assert set(response.json["errors"]) == {"reason"}
    assert stored(services) == before


def test_a_request_reason_of_another_kind_refuses_even_a_closure_before_anything(
    client, services, support, member
):
    closure = closure_of(client, services, member)
    before = stored(services)
    response = client.post(  # "answered" goes with another request, not a closure
        f"/api/v1/support/requests/{closure['request_id']}/decision",
        json={"decision": "accept", "note": "vu", "reason": "answered"}, headers=support,
    )
    assert response.status_code == 422, response.json
    assert response.json["code"] == "validation_error"
    assert set(response.json["errors"]) == {"reason"}
    assert stored(services) == before
    assert client.get("/api/v1/me", headers=member.headers).status_code == 200  # still open


def test_the_openapi_document_lists_the_reasons_and_says_they_are_optional(client):
    document = client.get("/api/v1/openapi.json").json
    schemas = document["components"]["schemas"]
    for name, code in (("RegistrationDecision", "identity_confirmed_by_document"),
                       ("RequestDecision", "requested_by_member")):
        reason = schemas[name]["properties"]["reason"]
        assert code in reason["enum"]
        assert "reason" not in schemas[name].get("required", [])
        assert "effacement" in reason["description"] or "clôture" in reason["description"]


# The console: required, tied to its field.


def test_the_console_offers_the_reasons_of_each_decision_under_motif(signed_in, services):
    review = in_review(signed_in, services)
    page = text(signed_in.get(f"/support/items/{review['item_id']}"))
    assert '<label for="reason">Motif</label>' in page
    assert '<option value="" selected>Choisissez un motif</option>' in page
    assert '<optgroup label="Pour approuver">' in page
    assert '<optgroup label="Pour rejeter">' in page
    assert ">Identité confirmée par un justificatif</option>" in page
    # The contract's names stay as they were.
    assert '<label for="note">Note</label>' in page
    assert ">Approuver</button>" in page and ">Rejeter</button>" in page


def test_a_console_decision_without_a_reason_says_so_on_its_field_and_records_nothing(
    signed_in, services
):
    review = in_review(signed_in, services)
    before = stored(services)
    response = signed_in.post(
        f"/support/registrations/{review['registration_id']}/decision",
        data={"decision": "approve", "note": "vu", "reason": "",
              "csrf_token": csrf_token(signed_in, f"/support/items/{review['item_id']}")},
    )
    assert response.status_code == 422
    page = text(response)
    summary = re.search(r'<div class="error-summary" role="alert".*?</div>', page, re.S).group(0)
    assert '<a href="#reason">Motif : Choisissez le motif de la décision.</a>' in summary
    select = re.search(r"<select[^>]*>", page).group(0)
    assert 'id="reason"' in select and 'aria-invalid="true"' in select
    assert re.search(r'aria-describedby="reason-aide reason-erreur"', select)
    assert re.search(r'id="reason-erreur">\s*<p><span class="visually-hidden">Erreur : </span>'
                     r"Choisissez le motif de la décision.</p>", page)
    assert ">vu</textarea>" in page  # what was typed is kept
    assert stored(services) == before


def test_a_reason_chosen_for_the_other_button_is_refused_in_words(signed_in, services):
    review = in_review(signed_in, services)
    before = stored(services)
    response = signed_in.post(
        f"/support/registrations/{review['registration_id']}/decision",
        data={"decision": "approve", "reason": "no_document",
              "csrf_token": csrf_token(signed_in, f"/support/items/{review['item_id']}")},
    )
    assert response.status_code == 422
    assert "choisissez-en un sous « Pour approuver »" in text(response)
    assert '<option value="no_document" selected>' in text(response)
    assert stored(services) == before


# After the erasure: the reason in clear, the note erased.


def test_a_closed_account_s_decision_keeps_its_reason_and_erases_its_note(
    signed_in, client, services, member, auditor, support
):
    closure = closure_of(client, services, member)
    page = closure["page"]
    confirm = signed_in.post(
        f"/support/requests/{closure['request_id']}/decision",
        data={"decision": "accept", "note": NOTE, "reason": "requested_by_member",
              "csrf_token": csrf_token(signed_in, page)},
    )
    assert confirm.status_code == 200  # the confirmation page, with the reason carried
    shown = text(confirm)
    assert f"<dt>Motif</dt><dd>{CONFIRMED_BY_MEMBER}</dd>" in shown
    assert '<input type="hidden" name="reason" value="requested_by_member">' in shown
    done = signed_in.post(
        f"/support/requests/{closure['request_id']}/decision",
        data={"decision": "accept", "note": NOTE, "reason": "requested_by_member",
              "confirmed": "oui", "csrf_token": csrf_token(signed_in, page)},
    )
    assert done.status_code == 302
    drain(services)
    settle(services)

    # The console: the item, and the decided list.
    item = text(signed_in.get(page))
    assert f"<dt>Motif</dt><dd>{CONFIRMED_BY_MEMBER}</dd>" in item
    assert f"<dt>Note</dt><dd>{ERASED}</dd>" in item
    assert "chez un autre assureur" not in item
    listed = text(signed_in.get("/support/queue?kind=closure&status=closed"))
    assert f"Motif : {CONFIRMED_BY_MEMBER}" in listed
    assert queue_item(client, support, closure["item_id"])["reason"] == "requested_by_member"

    # The audit API's history of the decision, and its words.
    events = client.get(f"/api/v1/audit/accounts/{member.identifier}/events",
                        headers=auditor).json["events"]
    [decided] = [e for e in events if e["type"] == "SupportRequestAccepted"]
    assert decided["data"]["reason"] == "requested_by_member"
    assert decided["data"]["note"] == ERASED
    lines = dict(in_words("SupportRequestAccepted", decided["data"]))
    assert lines["Motif"] == CONFIRMED_BY_MEMBER and lines["Note"] == ERASED
    assert "chez un autre assureur" not in repr(events)
