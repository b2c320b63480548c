"""The use cases, one module per family, all writing through the one AccountLifecycle.

Entry points get them from the composition root (bootstrap.py) as `services.use_cases`;
tests of the use cases alone build them with `use_cases(store, ports, index)` over the
library's in-memory persistence (tests/use_cases/)."""

from __future__ import annotations

from dataclasses import dataclass

from domain.lifecycle import AccountLifecycle
from domain.ports import MemberEvents, Ports
from domain.use_cases.audit import AuditTrail
from domain.use_cases.claims import Claims
from domain.use_cases.closure import Closure
from domain.use_cases.mail_delivery import MailDelivery
from domain.use_cases.member_space import MemberSpace
from domain.use_cases.passkeys import Passkeys
from domain.use_cases.recovery import Recovery
from domain.use_cases.registration import Registration
from domain.use_cases.sign_in import SignIn
from domain.use_cases.support import SupportDesk


@dataclass(frozen=True)
class UseCases:
    registration: Registration
    sign_in: SignIn
    member_space: MemberSpace
    recovery: Recovery
    support: SupportDesk
    closure: Closure
    claims: Claims
    mail: MailDelivery
    audit: AuditTrail
    passkeys: Passkeys


def use_cases(store: AccountLifecycle, ports: Ports, index: MemberEvents) -> UseCases:
    sign_in = SignIn(store, ports)
    closure = Closure(store, ports, sign_in)
    return UseCases(
        registration=Registration(store, ports),
        sign_in=sign_in,
        member_space=MemberSpace(store, ports),
        recovery=Recovery(store, ports, sign_in),
        support=SupportDesk(store, ports, closure),
        closure=closure,
        claims=Claims(store, ports),
        mail=MailDelivery(store, ports),
        audit=AuditTrail(store, index),
        passkeys=Passkeys(store, ports),
    )
