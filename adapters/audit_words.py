"""The auditor's words for the event log: a French label for every event type, its data as
(field, value) pairs and who caused it, for the console's timeline. Pure: no Flask, no store.

`in_words` takes an event's data as the audit API serves it (JSON-ready, hashes masked) or as
the event holds it (dates, instants). It shows only the fields audit_fields.py lists for each
type, so a hash, a token or an internal id is never shown, even one a later event adds: a field
is left out until someone decides how it reads. Erased personal fields read as the erasure
placeholder; a decision's reason, which names no one, is never erased (decision_reasons.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import InvalidOperation
from typing import Any

# The field tables and the words for values are in audit_fields.py; their names are
# importable from here as well, where the console has always found them.
from adapters.audit_fields import (
    ALERT_SKIP_REASONS,
    CREDENTIALS_REASONS,
    EMAIL_CHANGE_REASONS,
    FIELDS,
    MAIL_OUTCOMES,
    RECOVERY_OUTCOMES,
    REFUSAL_REASONS,
    REQUEST_KINDS,
    SAYS_NONE,
    SCOPES,
    SECTIONS,
    SIGN_IN_CONTEXTS,
    Words,
    day,
    instant,
)
from domain.personal_data import ERASED

__all__ = [
    "ACTOR_KINDS", "ALERT_SKIP_REASONS", "CREDENTIALS_REASONS", "EMAIL_CHANGE_REASONS",
    "FIELDS", "LABELS", "MAIL_OUTCOMES", "RECOVERY_OUTCOMES", "REFUSAL_REASONS",
    "REQUEST_KINDS", "SCOPES", "SECTIONS", "SIGN_IN_CONTEXTS", "SYSTEM_PARTS", "day",
    "in_words", "instant", "label", "who",
]

# By event type (the class name the audit API gives as `type`; no two aggregates share one).
LABELS: dict[str, str] = {
    # Account
    "AccountOpened": "Compte ouvert",
    "CredentialsRequested": "Codes d'accès demandés",
    "TempPasswordIssued": "Mot de passe temporaire créé",
    "CredentialsEmailSent": "E-mail des codes d'accès envoyé",
    "CredentialsEmailFailed": "Échec d'envoi de l'e-mail des codes d'accès",
    "CredentialsEmailOverdue": "E-mail des codes d'accès en retard",
    "EmailChanged": "Adresse e-mail modifiée",
    "SignedIn": "Connexion réussie",
    "SignInFailed": "Mot de passe erroné",
    "AccountLocked": "Compte bloqué",
    "AccountUnlocked": "Compte débloqué",
    "PasswordChanged": "Mot de passe modifié",
    "RecoveryRequested": "Codes d'accès oubliés : demande reçue",
    "EmailChangeRequested": "Changement d'adresse e-mail demandé",
    "EmailVerificationIssued": "Code de vérification envoyé",
    "AlertsPreferenceChanged": "Alertes des remboursements modifiées",
    "SecretQuestionSet": "Question secrète enregistrée",
    "ClosureRequested": "Fermeture du compte demandée",
    "AccountClosed": "Compte clôturé",
    "PersonalDataErased": "Données personnelles effacées",
    "NoticeSent": "Avis envoyé au membre",
    "SessionEnded": "Session fermée sur un autre appareil",
    "PersonalDataExported": "Données personnelles exportées",
    "PasskeyAdded": "Clé d'accès ajoutée",
    "PasskeyRemoved": "Clé d'accès supprimée",
    "PasskeyRequirementSet": "Exigence d'une clé d'accès modifiée",
    "RecoveryCodesGenerated": "Codes de secours créés",
    "SignedInWithPasskey": "Connexion avec une clé d'accès",
    "SignedInWithRecoveryCode": "Connexion avec un code de secours",
    # Enrollment
    "RegistrationRequested": "Inscription demandée",
    "RegistrationRefused": "Inscription refusée",
    "IdentityMatched": "Identité reconnue",
    "IdentityMismatchFlagged": "Identité à vérifier par le support",
    "IdentityApproved": "Identité validée par le support",
    "IdentityRejected": "Inscription rejetée par le support",
    "RejectionEmailSent": "E-mail de rejet envoyé",
    # SupportRequest
    "SupportRequestSubmitted": "Demande au support reçue",
    "SupportRequestAccepted": "Demande acceptée par le support",
    "SupportRequestRejected": "Demande refusée par le support",
    "SupportEmailSent": "E-mail envoyé au demandeur",
    # Reimbursement
    "ReimbursementRecorded": "Remboursement reçu",
    "ReimbursementAlertSent": "Alerte de remboursement envoyée",
    "ReimbursementAlertSkipped": "Alerte de remboursement non envoyée",
    # Indexes
    "MemberIndexed": "Adhérent référencé",
    "AccountLinked": "Compte rattaché à l'adhérent",
    "AccountUnlinked": "Compte détaché de l'adhérent",
    "ReviewOpened": "Vérification d'identité ouverte",
    "ReviewClosed": "Vérification d'identité close",
    "IdentifierReserved": "Identifiant attribué",
    "IdempotencyKeyUsed": "Clé d'idempotence utilisée",
    "IdempotencyKeyRenewed": "Clé d'idempotence réutilisée",
    "EmailVerificationCodeIndexed": "Code de vérification référencé",
}

ACTOR_KINDS = {"member": "Membre {}", "support": "Support ({})",
               "claims": "Flux des prestations ({})"}
SYSTEM_PARTS = {
    "registration": "inscriptions", "credentials": "codes d'accès", "mailer": "envoi des e-mails",
    "mail-check": "contrôle des e-mails", "lockout": "blocage", "recovery": "codes oubliés",
    "email_verification": "vérification d'adresse", "erasure": "effacement",
    "alerts": "alertes", "claims": "flux des prestations",
    "support-request": "demandes au support",
}


def label(event_type: str) -> str:
    """The event type in French. A type without words yet shows under its own name rather
    than break the timeline (tests/unit/test_audit_words.py keeps every type worded)."""
    return LABELS.get(event_type, event_type)


def in_words(event_type: str, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(French field name, value in words) for the fields of this type worth reading."""
    lines = []
    for field, name, words in FIELDS.get(event_type, ()):
        shown = _shown(data[field], words) if field in data else None
        if shown:
            lines.append((name, shown))
    return lines


def _shown(value: Any, words: Words) -> str | None:
    if value == ERASED:
        return ERASED
    if value is None and words not in SAYS_NONE:  # a missing question says "aucune"
        return None
    try:
        return words(value)
    except (AttributeError, TypeError, ValueError, OverflowError, InvalidOperation):
        # Not of the shape expected (an older event's field): shown as stored, not dropped.
        return str(value)


def who(actor: str | None) -> str:
    """Who caused an event, in words: « Membre 48213067 », « Support (alice) »…"""
    kind, _, name = (actor or "").partition(":")
    if kind == "system":
        return f"Système ({SYSTEM_PARTS.get(name, name)})"
    if kind in ACTOR_KINDS:
        return ACTOR_KINDS[kind].format(name)
    return actor or "inconnu"
