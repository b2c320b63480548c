"""The reasons a support decision gives (domain/decision_reasons.py): a French label for every
code, checked against the decision's own list before anything is recorded, kept in clear on the
event (the note alone is the member's), and worded for the auditor and the agent."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from adapters.audit_words import in_words
from adapters.http.console.forms import reason_groups
from domain.decision_reasons import (
    LABELS,
    NOT_GIVEN,
    REASONS,
    checked_reason,
    codes_of,
    reason_label,
    reasons_for,
)
from domain.errors import FieldError
from domain.personal_data import ERASED, PERSONAL_EVENTS
from domain.support_request import RequestKind, SupportRequest
from tests.helpers import enrollment

AT = datetime(2026, 12, 3, 14, 5, tzinfo=UTC)
DECISIONS = ("Enrollment.IdentityApproved", "Enrollment.IdentityRejected",
             "SupportRequest.SupportRequestAccepted", "SupportRequest.SupportRequestRejected")


def request(kind: str = "other") -> SupportRequest:
    return SupportRequest(
        kind=kind, last_name="Martin", first_name="Louise", message="Bonjour",
        member_number=None, birth_date=None, identifier=None, email="louise@example.org",
        new_email=None, account_id=uuid4(), member_key=None, actor="system:support-request",
        timestamp=AT,
    )


def in_review():
    reviewed = enrollment()
    reviewed.flag_identity_mismatch({"last_name": "Dupont", "first_name": "Maria"}, AT)
    return reviewed


def test_every_decision_of_every_kind_has_its_list_each_code_with_a_french_label():
    kinds = ("identity_review", *RequestKind)
    assert set(REASONS) == {
        *(("identity_review", d) for d in ("approve", "reject")),
        *((str(k), d) for k in RequestKind for d in ("accept", "reject")),
    }
    for codes in REASONS.values():
        assert codes and len(codes) == len(set(codes))
        assert all(LABELS[code][0].isupper() for code in codes)
        assert codes[-1] == "other"  # the way out, last
    assert set(codes_of(kinds)) == set(LABELS)  # no label for a code nobody can give
    assert reason_label("usage_name") == "Nom d'usage ou nom de naissance"
    assert reason_label("directory_typo") == "Erreur de saisie dans l'annuaire"
    assert reason_label(None) == NOT_GIVEN == "non précisé"


def test_a_reason_is_checked_against_its_own_decision_on_its_own_kind():
    assert checked_reason("identity_review", "approve", "usage_name") == "usage_name"
    assert checked_reason("identity_review", "approve", None) is None
    assert checked_reason("closure", "accept", "") is None
    for kind, decision, reason in (("identity_review", "approve", "not_the_member"),
                                   ("closure", "accept", "answered"),
                                   ("other", "reject", "pas_un_motif")):
        with pytest.raises(FieldError) as refused:
            checked_reason(kind, decision, reason)
        assert refused.value.field == "reason"
    assert reasons_for("closure", "approve") == ()  # a request is accepted, not approved


def test_the_reason_is_recorded_in_clear_and_the_note_stays_sealed():
    for name in DECISIONS:
        assert "note" in PERSONAL_EVENTS[name].fields
        assert "reason" not in PERSONAL_EVENTS[name].fields
    decided = in_review()
    decided.approve("alice", "vu", uuid4(), AT, reason="usage_name")
    assert decided.collect_events()[-1].reason == decided.decision_reason == "usage_name"
    asked = request()
    asked.reject("alice", "vu", AT, reason="out_of_scope")
    assert asked.collect_events()[-1].reason == asked.reason == "out_of_scope"


def test_an_unknown_reason_records_no_decision():
    asked = request("closure")
    asked.collect_events()
    with pytest.raises(FieldError):
        asked.accept("alice", "vu", None, AT, reason="answered")
    assert asked.collect_events() == [] and asked.status == "open"
    reviewed = in_review()
    reviewed.collect_events()
    with pytest.raises(FieldError):
        reviewed.reject("alice", "vu", AT, reason="usage_name")
    assert reviewed.collect_events() == []


def test_the_auditor_reads_the_reason_after_the_note_is_erased():
    lines = in_words("SupportRequestAccepted", {
        "agent": "alice", "reason": "requested_by_member", "note": ERASED, "reply": None,
        "email_requester": False,
    })
    assert ("Motif", "Demande du membre, identité vérifiée") in lines
    assert ("Note", ERASED) in lines
    assert lines.index(("Agent", "alice")) < lines.index(("Motif",
                                                           "Demande du membre, identité vérifiée"))
    # Stored before reasons: said so, not left out.
    assert ("Motif", "non précisé") in in_words("IdentityRejected", {"agent": "a", "reason": None})
    assert ("Motif", "pas_encore") in in_words("IdentityRejected", {"reason": "pas_encore"})


def test_the_console_s_list_groups_the_reasons_by_button_with_the_shared_ones_last():
    groups = reason_groups("identity_review")
    assert [label for label, _ in groups] == ["Pour approuver", "Pour rejeter", None]
    assert groups[-1][1] == [("other", LABELS["other"])]
    offered = [code for _, options in groups for code, _ in options]
    assert len(offered) == len(set(offered))
    assert set(offered) == {*REASONS["identity_review", "approve"],
                            *REASONS["identity_review", "reject"]}
    # Where only a refusal is possible, only its reasons are offered.
    [(label, options)] = reason_groups("closure", acceptable=False)
    assert label == "Pour refuser"
    assert [code for code, _ in options] == list(REASONS["closure", "reject"])


def test_the_agent_s_history_words_a_decision_with_its_reason_never_its_note():
    from adapters.http.console.history import words

    asked = request("closure")
    asked.accept("alice", "il écrit : « je pars »", None, AT, reason="coverage_ended")
    decided = asked.collect_events()[-1]
    assert words(decided) == ("Demande acceptée par le support "
                              "(Motif : Fin de couverture ou d'adhésion)")
    reviewed = in_review()
    reviewed.reject("alice", "homonyme", AT)
    assert words(reviewed.collect_events()[-1]).endswith("(Motif : non précisé)")
