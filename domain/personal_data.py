"""Which event fields are a member's personal data, and whose they are.

Closure erases a member by destroying the key their personal fields were sealed with
(crypto-shredding): the events stay, with their types, instants and actors, and the sealed
fields read as ERASED. The data subject is the member, named by `member_key`: the random id of
their MemberIndex, so that read models and the key table can group a member's streams without
holding the member number, or anything derived from it alone.

A member number finds its subject through the key ring (adapters/keyring.py): it keeps a keyed
digest of the member number for the subject a MemberIndex creation names, written in that save.
The closure that unlinks the account removes it in its own save and erasure removes anything
left, so a member who registers again after closure gets a new subject, and an account that
shares nothing with the closed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ERASED = "[effacé]"

# The event whose save makes a member number find its subject (the event's stream), by the
# field holding the member number; the event whose save ends that (module docstring).
SUBJECT_INDEXED_BY = ("MemberIndex.MemberIndexed", "member_number")
SUBJECT_RETIRED_BY = "MemberIndex.AccountUnlinked"


@dataclass(frozen=True)
class Personal:
    """The personal fields of one event class. `subject` names the attribute holding the data
    subject's key; without one, the event's stream belongs to the subject its first event named."""

    fields: tuple[str, ...]
    subject: str | None = None


# By event class qualname. Identifiers ("member:<identifier>" actors included) are the service's
# own pseudonyms and stay readable, so a closed account's history is still found by identifier.
PERSONAL_EVENTS: dict[str, Personal] = {
    "Enrollment.RegistrationRequested": Personal(
        ("member_number", "last_name", "first_name", "birth_date", "email", "secret_question",
         "secret_answer_hash"),
        subject="member_key",
    ),
    "Enrollment.IdentityMismatchFlagged": Personal(("member_number", "declared", "directory")),
    # An agent's note may quote the member: theirs. The decision's `reason` is a code of the
    # service's own list (decision_reasons.py) and names no one: left readable, it still says
    # why once the note reads as erased.
    "Enrollment.IdentityApproved": Personal(("note",)),
    "Enrollment.IdentityRejected": Personal(("note",)),
    "Account.AccountOpened": Personal(
        ("member_number", "email", "secret_question", "secret_answer_hash"), subject="member_key"
    ),
    "Account.EmailChangeRequested": Personal(("new_email",)),
    # A passkey's name is the member's own words ("le téléphone d'Hélène").
    "Account.PasskeyAdded": Personal(("name",)),
    "Account.EmailChanged": Personal(("old", "new")),
    "Account.SecretQuestionSet": Personal(("question", "answer_hash")),
    "SupportRequest.SupportRequestSubmitted": Personal(
        ("last_name", "first_name", "message", "member_number", "birth_date", "email",
         "new_email"),
        subject="member_key",
    ),
    # The agent's reply is written to the requester and may quote them: theirs, like the
    # message it answers.
    "SupportRequest.SupportRequestAccepted": Personal(("new_email", "note", "reply")),
    "SupportRequest.SupportRequestRejected": Personal(("note", "reply")),
    "MemberIndex.MemberIndexed": Personal(("member_number",), subject="originator_id"),
    "Reimbursement.ReimbursementRecorded": Personal(
        ("member_number", "principal_member_number", "contract_id", "label", "care_date",
         "amount"),
        subject="member_key",
    ),
}

# The personal attributes in a snapshot's state, by aggregate class name, with what each reads
# as once erased (None where the attribute holds an object that code inspects).
PERSONAL_STATE: dict[str, dict[str, Any]] = {
    "Account": {
        "member_number": ERASED, "email": ERASED, "secret_question": ERASED,
        "secret_answer_hash": None, "email_change": None, "passkeys": [],
    },
}


def is_erased(event: Any) -> bool:
    """True when the event's personal fields could not be read: their key was destroyed."""
    return bool(getattr(event, "_erased", False))
