"""The support agents' queue: one item per matter that needs a person, closed when decided.

This module holds the projection, which turns the events into the queue's rows; the tables
and the statements that write them are in support_queue_tables.py, the queries in
support_queue_view.py. Their names are importable from here as well, where the rest of the
service has always imported them.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.account import Account
from domain.enrollment import Enrollment
from domain.mail import MailKind
from domain.personal_data import is_erased
from domain.reimbursement import Reimbursement
from domain.support_request import SupportRequest
from projections.support_queue_tables import (
    ERASED,
    KINDS,
    close_item,
    item_id,
    mail_pending,
    mail_settled,
    newest_pending,
    open_item,
)
from projections.support_queue_view import (
    OVERDUE_AFTER,
    SupportQueueView,
    decode_cursor,
    encode_cursor,
    item_view,
)
from projections.view import Statement

__all__ = [
    "ERASED",
    "KINDS",
    "OVERDUE_AFTER",
    "SupportQueue",
    "SupportQueueView",
    "decode_cursor",
    "encode_cursor",
    "item_id",
    "item_view",
]


def _decision(decision: str, event: Any) -> dict[str, Any]:
    return {"decision": decision, "agent": event.agent, "note": event.note}


def _closed_by(kind: str, source: str, decision: str, event: Any) -> Statement:
    # The reason beside the decision, not in it: erasure empties the decision (its note is
    # the member's), never the reason (a code naming no one).
    return close_item(kind, source, event.timestamp, _decision(decision, event), event.reason)


class SupportQueue(Projection[SupportQueueView]):
    name = "support_queue"

    def __init__(self, view: SupportQueueView):
        super().__init__(view)
        # Bound once: functools' singledispatchmethod builds a wrapper at each attribute
        # access, a third of this projection's time per event.
        self._changes = self.changes

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        # The rows an event changes and the queue's position, in one transaction; an event
        # the queue ignores changes no row, and still moves the position.
        self.view.record(
            tracking, [*self._changes(domain_event, tracking), *mail_pending(domain_event)]
        )

    @singledispatchmethod
    def changes(self, domain_event: Any, tracking: Tracking) -> list[Statement]:
        return []

    @changes.register
    def identity_flagged(
        self, event: Enrollment.IdentityMismatchFlagged, tracking: Tracking
    ) -> list[Statement]:
        registration = str(event.originator_id)
        if is_erased(event):
            summary, details, member_number = ERASED, {}, None
        else:
            declared, directory = event.declared, event.directory
            summary = (
                f"Vérification d'identité ({event.member_number}) : « {declared['last_name']} "
                f"{declared['first_name']} » déclaré, « {directory['last_name']} "
                f"{directory['first_name']} » dans l'annuaire"
            )
            details = {"member_number": event.member_number, "declared": declared,
                       "directory": directory}
            member_number = event.member_number
        return [open_item(
            "identity_review", registration, tracking, event.timestamp, summary, details,
            registration_id=registration, member_number=member_number,
            member_key=str(event.member_key),
        )]

    @changes.register
    def identity_approved(
        self, event: Enrollment.IdentityApproved, tracking: Tracking
    ) -> list[Statement]:
        registration = str(event.originator_id)
        return [
            _closed_by("identity_review", registration, "approve", event),
            ("UPDATE support_queue_items SET account_id = %s WHERE item_id = %s",
             [str(event.account_id), item_id("identity_review", registration)]),
        ]

    @changes.register
    def identity_rejected(
        self, event: Enrollment.IdentityRejected, tracking: Tracking
    ) -> list[Statement]:
        registration = str(event.originator_id)
        return [_closed_by("identity_review", registration, "reject", event)]

    @changes.register
    def request_submitted(
        self, event: SupportRequest.SupportRequestSubmitted, tracking: Tracking
    ) -> list[Statement]:
        kind, request = event.kind, str(event.originator_id)
        account = str(event.account_id) if event.account_id else None
        member = str(event.member_key) if event.member_key else None
        if is_erased(event):
            return [open_item(
                kind, request, tracking, event.timestamp, ERASED, {}, request_id=request,
                account_id=account, member_key=member,
            )]
        who = f"{event.first_name} {event.last_name}"
        summary = {
            "email_update": f"Changement d'adresse e-mail demandé par {who}",
            "closure": f"Demande de clôture du compte de {who}",
            "other": f"Demande de {who} : {event.message[:80]}",
        }[kind]
        details = {
            "last_name": event.last_name, "first_name": event.first_name,
            "message": event.message, "member_number": event.member_number,
            "birth_date": event.birth_date.isoformat() if event.birth_date else None,
            "identifier": event.identifier, "email": event.email, "new_email": event.new_email,
            "account_found": event.account_id is not None,
        }
        return [open_item(
            kind, request, tracking, event.timestamp, summary, details, request_id=request,
            identifier=event.identifier, member_number=event.member_number, account_id=account,
            member_key=member,
        )]

    @changes.register
    def request_accepted(
        self, event: SupportRequest.SupportRequestAccepted, tracking: Tracking
    ) -> list[Statement]:
        return self._close_request(event, "accept")

    @changes.register
    def request_rejected(
        self, event: SupportRequest.SupportRequestRejected, tracking: Tracking
    ) -> list[Statement]:
        return self._close_request(event, "reject")

    @staticmethod
    def _close_request(event: Any, decision: str) -> list[Statement]:
        request = str(event.originator_id)
        return [
            _closed_by(kind, request, decision, event)
            for kind in ("email_update", "closure", "other")
        ]

    @changes.register
    def credentials_requested(
        self, event: Account.CredentialsRequested, tracking: Tracking
    ) -> list[Statement]:
        # A newer request supersedes older unsent ones: only the newest can become overdue.
        return newest_pending("support_pending_credentials", event)

    @changes.register
    def credentials_sent(
        self, event: Account.CredentialsEmailSent, tracking: Tracking
    ) -> list[Statement]:
        account = str(event.originator_id)
        return [
            ("DELETE FROM support_pending_credentials WHERE request_id = %s", [event.request_id]),
            ("UPDATE support_queue_items SET status = 'closed', closed_at = %s"
             " WHERE kind = 'undelivered_email' AND account_id = %s AND status = 'open'",
             [event.timestamp.isoformat(), account]),
        ]

    @changes.register
    def credentials_overdue(
        self, event: Account.CredentialsEmailOverdue, tracking: Tracking
    ) -> list[Statement]:
        account = str(event.originator_id)
        summary = (
            f"E-mail des codes d'accès non remis une heure après la demande "
            f"(identifiant {event.identifier})"
        )
        details = {"identifier": event.identifier, "request_id": event.request_id}
        return [
            ("DELETE FROM support_pending_credentials WHERE request_id = %s", [event.request_id]),
            open_item("undelivered_email", event.request_id, tracking, event.timestamp, summary,
                      details, identifier=event.identifier, account_id=account),
        ]

    @changes.register
    def email_change_requested(
        self, event: Account.EmailChangeRequested, tracking: Tracking
    ) -> list[Statement]:
        # A newer change replaces the older one: only its code is still to be drawn.
        return newest_pending("support_pending_verifications", event)

    @changes.register
    def email_verification_issued(
        self, event: Account.EmailVerificationIssued, tracking: Tracking
    ) -> list[Statement]:
        return [(
            "DELETE FROM support_pending_verifications WHERE request_id = %s", [event.request_id]
        )]

    @changes.register
    def email_changed(
        self, event: Account.EmailChanged, tracking: Tracking
    ) -> list[Statement]:
        return [(
            "DELETE FROM support_pending_verifications WHERE account_id = %s",
            [str(event.originator_id)],
        )]

    @changes.register
    def account_closed(
        self, event: Account.AccountClosed, tracking: Tracking
    ) -> list[Statement]:
        account = str(event.originator_id)
        return [
            ("DELETE FROM support_pending_credentials WHERE account_id = %s", [account]),
            ("DELETE FROM support_pending_verifications WHERE account_id = %s", [account]),
            ("INSERT INTO support_unerased (account_id, closed_at) VALUES (%s, %s)",
             [account, event.timestamp.isoformat()]),
        ]

    @changes.register
    def personal_data_erased(
        self, event: Account.PersonalDataErased, tracking: Tracking
    ) -> list[Statement]:
        # The queue keeps the matter, not the person: every item about the account or its
        # member (a rejected review, a request made before the account existed) loses its
        # personal data. Matched by pseudonymous keys, so a replay of the erased events,
        # which cannot read the member number, erases exactly the same items. A decision's
        # reason stays: it names no one, and says why the matter was decided as it was.
        account = str(event.originator_id)
        return [
            ("UPDATE support_queue_items SET summary = %s, details = %s, identifier = NULL,"
             " decision = NULL, member_number = NULL WHERE account_id = %s OR member_key = %s",
             [ERASED, "{}", account, str(event.member_key)]),
            ("DELETE FROM support_unerased WHERE account_id = %s", [account]),
        ]

    # The outcomes that settle pending mail (what calls for it: domain/mail.py).

    @changes.register
    def notice_sent(self, event: Account.NoticeSent, tracking: Tracking) -> list[Statement]:
        return [mail_settled(MailKind.NOTICE, event, event.about_version)]

    @changes.register
    def rejection_email_sent(
        self, event: Enrollment.RejectionEmailSent, tracking: Tracking
    ) -> list[Statement]:
        return [mail_settled(MailKind.REJECTION, event)]

    @changes.register
    def alert_sent(
        self, event: Reimbursement.ReimbursementAlertSent, tracking: Tracking
    ) -> list[Statement]:
        return [mail_settled(MailKind.REIMBURSEMENT_ALERT, event)]

    @changes.register
    def alert_skipped(
        self, event: Reimbursement.ReimbursementAlertSkipped, tracking: Tracking
    ) -> list[Statement]:
        return [mail_settled(MailKind.REIMBURSEMENT_ALERT, event)]

    @changes.register
    def support_email_sent(
        self, event: SupportRequest.SupportEmailSent, tracking: Tracking
    ) -> list[Statement]:
        # The outcome names the event, not the e-mail: a request's acknowledgement and its
        # decision are about different versions, so whichever was pending there is settled.
        return [
            mail_settled(kind, event, event.about_version)
            for kind in (MailKind.SUPPORT_ACKNOWLEDGEMENT, MailKind.SUPPORT_DECISION)
        ]
