"""The member directory as the domain sees it: who a member is and what they may register for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Protocol


class HealthRole(StrEnum):
    PRINCIPAL = "principal"
    BENEFICIARY = "beneficiary"


class Retirement(StrEnum):
    CONTRIBUTOR = "contributor"
    PENSIONER = "pensioner"


@dataclass(frozen=True)
class HealthCoverage:
    contract_id: str
    contract_type: str
    role: HealthRole
    principal_member_number: str | None = None
    relation: str | None = None


@dataclass(frozen=True)
class DirectoryEntry:
    member_number: str
    last_name: str
    first_name: str
    birth_date: date
    retirement: Retirement | None = None
    coverages: tuple[HealthCoverage, ...] = field(default=())

    @property
    def is_health_principal(self) -> bool:
        return any(c.role is HealthRole.PRINCIPAL for c in self.coverages)

    @property
    def is_health_beneficiary(self) -> bool:
        return any(c.role is HealthRole.BENEFICIARY for c in self.coverages)

    def refusal_reason(self) -> str | None:
        """Why this member may not register, or None when they may (the FAQ's eligibility)."""
        if self.is_health_principal or self.retirement is not None:
            return None
        if self.is_health_beneficiary:
            return "not_principal_member"
        return "not_eligible"

    def sections(self) -> list[str]:
        found = []
        if self.is_health_principal:
            found.append("health")
        if self.retirement is Retirement.PENSIONER:
            found += ["retirement", "fiscal_certificate"]
        if self.retirement is not None:
            found.append("points_statement")
        return found


class MemberDirectory(Protocol):
    def find(self, member_number: str) -> DirectoryEntry | None: ...

    def beneficiaries(self, principal_member_number: str) -> list[dict[str, str]]:
        """The people on this principal member's health contracts, themself excluded."""
        ...

    def find_with_beneficiaries(
        self, member_number: str
    ) -> tuple[DirectoryEntry | None, list[dict[str, str]]]:
        """`find` and `beneficiaries` at once ("Mon espace" shows both: one look-up)."""
        ...
