"""State machines as explicit transition tables: any edge not listed raises."""

from __future__ import annotations

from enum import StrEnum

from domain.errors import InvalidTransitionError


class EnrollmentStatus(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    IDENTITY_REVIEW = "identity_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    REFUSED = "refused"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


TRANSITIONS: dict[StrEnum, frozenset[StrEnum]] = {
    EnrollmentStatus.REQUESTED: frozenset(
        {EnrollmentStatus.ACCEPTED, EnrollmentStatus.IDENTITY_REVIEW, EnrollmentStatus.REFUSED}
    ),
    EnrollmentStatus.IDENTITY_REVIEW: frozenset(
        {EnrollmentStatus.APPROVED, EnrollmentStatus.REJECTED}
    ),
    AccountStatus.ACTIVE: frozenset({AccountStatus.CLOSED}),
}


def check_transition(current: StrEnum, target: StrEnum) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise InvalidTransitionError(f"{current} -> {target}")
