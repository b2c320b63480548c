"""The auditor's words for the event log: a French label for every event type, its data as
(field, value) pairs and who caused it, for the console's timeline. Pure: no Flask, no store.

`in_words` takes an event's data as the audit API serves it (JSON-ready, hashes masked) or as
the event holds it (dates, instants). It shows only the fields listed here for each type, so a
hash, a token or an internal id is never shown, even one a later event adds: a field is left
out until someone decides how it reads. Erased personal fields read as the erasure placeholder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import InvalidOperation
from typing import Any

from adapters.mail_french import PARIS, euros
from domain.personal_data import ERASED

Words = Callable[[Any], str | None]  # a value in words; None: nothing worth a line

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

SECTIONS = {
    "health": "Complémentaire santé", "retirement": "Retraite",
    "fiscal_certificate": "Attestation fiscale", "points_statement": "Relevé de points retraite",
}
CREDENTIALS_REASONS = {
    "registration": "inscription",
    "registration_retry": "inscription reprise",
    "identity_approved": "identité validée par le support",
    "recovery": "codes d'accès oubliés",
    "email_update": "adresse e-mail changée par le support",
    "support_resend": "renvoi par le support",
}
EMAIL_CHANGE_REASONS = {
    "member": "confirmée par le membre avec le code reçu",
    "recovery": "codes d'accès oubliés, après la réponse secrète",
    "support": "changée par le support",
    "registration_retry": "inscription reprise",
}
SIGN_IN_CONTEXTS = {
    "sign_in": "connexion",
    "current_password": "changement de mot de passe",
    "password": "confirmation par mot de passe",
}
RECOVERY_OUTCOMES = {
    "credentials_sent": "nouveaux codes envoyés",
    "email_changed": "nouvelle adresse e-mail et nouveaux codes",
    "wrong_secret_answer": "réponse secrète erronée",
    "secret_answer_path_closed": "refusée : trop de réponses secrètes erronées",
    "capped": "refusée : trop d'e-mails de codes en 24 heures",
}
REFUSAL_REASONS = {
    "unknown_member": "adhérent inconnu ou date de naissance erronée",
    "not_eligible": "non éligible à l'Espace Client",
    "not_principal_member": "pas adhérent principal",
    "already_registered": "compte déjà existant",
}
MAIL_OUTCOMES = {"sent": "envoyé", "no_recipient": "aucune adresse (effacée)"}
ALERT_SKIP_REASONS = {"no_account": "aucun compte", "account_closed": "compte clôturé",
                      "not_subscribed": "alertes non demandées"}
REQUEST_KINDS = {"email_update": "mise à jour de l'adresse e-mail",
                 "closure": "fermeture du compte", "other": "autre demande"}
SCOPES = {"registrations": "inscription"}
ACTOR_KINDS = {"member": "Membre {}", "support": "Support ({})",
               "claims": "Flux des prestations ({})"}
SYSTEM_PARTS = {
    "registration": "inscriptions", "credentials": "codes d'accès", "mailer": "envoi des e-mails",
    "mail-check": "contrôle des e-mails", "lockout": "blocage", "recovery": "codes oubliés",
    "email_verification": "vérification d'adresse", "erasure": "effacement",
    "alerts": "alertes", "claims": "flux des prestations",
    "support-request": "demandes au support",
}


def day(value: Any) -> str:
    """« 03/12/2026 »."""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def instant(value: Any) -> str:
    """« 03/12/2026 à 14:05 », in Paris: to the minute, never rounded up (an auditor reads
    when it happened; the e-mails round a lock's end up, for the member who waits)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


text: Words = str


def question(value: Any) -> str:
    return "aucune" if value is None else str(value)


def yes_no(yes: str, no: str) -> Words:
    return lambda value: yes if value else no


def one_of(words: Mapping[str, str]) -> Words:
    # A value this table does not know yet is shown as it is stored, not hidden.
    return lambda value: words.get(str(value), str(value))


def sections(value: Any) -> str:
    return ", ".join(SECTIONS.get(s, s) for s in value) or "aucune"


def names(value: Any) -> str:
    return f"{value.get('first_name', '')} {value.get('last_name', '')}".strip()


def about(stream: str) -> Words:
    # A version is an event's rank in its own stream: « the 6th event of this account ».
    return lambda value: f"l'événement n° {value} {stream}"


_IDENTITY: tuple[tuple[str, str, Words], ...] = (
    ("member_number", "Numéro d'adhérent", text), ("last_name", "Nom", text),
    ("first_name", "Prénom", text), ("birth_date", "Date de naissance", day),
)
_DECISION = (
    ("agent", "Agent", text), ("note", "Note", text),
    ("reply", "Réponse au demandeur", text),
    ("email_requester", "Décision envoyée par e-mail", yes_no("oui", "non")),
)

# By event type: the fields shown, in order, with their French names. Ids, keys and hashes are
# not listed: they mean nothing to a reader, or must not be shown.
FIELDS: dict[str, tuple[tuple[str, str, Words], ...]] = {
    "AccountOpened": (
        ("identifier", "Identifiant", text), ("member_number", "Numéro d'adhérent", text),
        ("email", "Adresse e-mail", text), ("sections", "Rubriques", sections),
        ("secret_question", "Question secrète", question),
    ),
    "CredentialsRequested": (("reason", "Motif", one_of(CREDENTIALS_REASONS)),),
    "TempPasswordIssued": (
        ("reason", "Motif", one_of(CREDENTIALS_REASONS)),
        ("expires_at", "Valable jusqu'au", instant),
    ),
    "CredentialsEmailFailed": (("error", "Erreur", text),),
    "CredentialsEmailOverdue": (("identifier", "Identifiant", text),),
    "EmailChanged": (
        ("old", "Ancienne adresse", text),
        ("new", "Nouvelle adresse", text),
        ("reason", "Origine", one_of(EMAIL_CHANGE_REASONS)),
    ),
    "SignedIn": (
        ("with_temporary", "Mot de passe utilisé", yes_no("temporaire", "personnel")),
    ),
    "SignInFailed": (("context", "Lors de", one_of(SIGN_IN_CONTEXTS)),),
    "AccountLocked": (("until", "Bloqué jusqu'au", instant),),
    "AccountUnlocked": (("agent", "Agent", text),),
    "RecoveryRequested": (("outcome", "Résultat", one_of(RECOVERY_OUTCOMES)),),
    "EmailChangeRequested": (("new_email", "Nouvelle adresse", text),),
    "EmailVerificationIssued": (("expires_at", "Valable jusqu'au", instant),),
    "AlertsPreferenceChanged": (
        ("reimbursements", "Alertes des remboursements", yes_no("activées", "désactivées")),
    ),
    "SecretQuestionSet": (("question", "Question secrète", question),),
    "AccountClosed": (("agent", "Agent", text),),
    "NoticeSent": (
        ("about_version", "Au sujet de", about("de ce compte")),
        ("outcome", "Résultat", one_of(MAIL_OUTCOMES)),
    ),
    "RegistrationRequested": (
        *_IDENTITY,
        ("email", "Adresse e-mail", text),
        ("secret_question", "Question secrète", question),
    ),
    "RegistrationRefused": (("reason", "Motif", one_of(REFUSAL_REASONS)),),
    "IdentityMismatchFlagged": (
        ("member_number", "Numéro d'adhérent", text),
        ("declared", "Nom déclaré", names),
        ("directory", "Nom dans l'annuaire", names),
    ),
    "IdentityApproved": _DECISION,
    "IdentityRejected": _DECISION,
    "RejectionEmailSent": (("outcome", "Résultat", one_of(MAIL_OUTCOMES)),),
    "SupportRequestSubmitted": (
        ("kind", "Objet", one_of(REQUEST_KINDS)),
        *_IDENTITY,
        ("identifier", "Identifiant", text),
        ("email", "Adresse e-mail", text),
        ("new_email", "Nouvelle adresse", text),
        ("message", "Message", text),
        ("acknowledge", "Accusé de réception par e-mail", yes_no("oui", "non")),
    ),
    "SupportRequestAccepted": (*_DECISION, ("new_email", "Nouvelle adresse", text)),
    "SupportRequestRejected": _DECISION,
    "SupportEmailSent": (
        ("about_version", "Au sujet de", about("de cette demande")),
        ("outcome", "Résultat", one_of(MAIL_OUTCOMES)),
    ),
    "ReimbursementRecorded": (
        ("reimbursement_id", "Référence", text),
        ("member_number", "Numéro d'adhérent soigné", text),
        ("principal_member_number", "Adhérent principal", text),
        ("contract_id", "Contrat", text),
        ("label", "Acte", text),
        ("care_date", "Date des soins", day),
        ("paid_at", "Payé le", instant),
        ("amount", "Montant", euros),
    ),
    "ReimbursementAlertSkipped": (("reason", "Motif", one_of(ALERT_SKIP_REASONS)),),
    "MemberIndexed": (("member_number", "Numéro d'adhérent", text),),
    "IdentifierReserved": (("identifier", "Identifiant", text),),
    "IdempotencyKeyUsed": (("scope", "Opération", one_of(SCOPES)), ("key", "Clé", text)),
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
    if value is None and words is not question:  # a question's None says "aucune"
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
