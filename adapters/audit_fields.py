"""The auditor's words for each event type's data: which fields are shown, in what order,
under which French name, and how each value reads (audit_words.py applies them). A field is
left out until it is listed here, so a hash, a token or an internal id never shows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from adapters.mail_french import PARIS, euros
from domain.decision_reasons import reason_label

Words = Callable[[Any], str | None]  # a value in words; None: nothing worth a line

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
    "passkey_required": "refusée : le membre exige une clé d'accès",
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


def short(value: Any) -> str:
    return f"{str(value)[:8]}…"


def question(value: Any) -> str:
    return "aucune" if value is None else str(value)


def yes_no(yes: str, no: str) -> Words:
    return lambda value: yes if value else no


def one_of(words: Mapping[str, str]) -> Words:
    # A value this table does not know yet is shown as it is stored, not hidden.
    return lambda value: words.get(str(value), str(value))


def decision_reason(value: Any) -> str:
    # A decision recorded before reasons existed has none: said so, not left out.
    return reason_label(value)


# The words that have something to say of a missing value; for the others, no line.
SAYS_NONE: frozenset[Words] = frozenset({question, decision_reason})


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
    ("agent", "Agent", text), ("reason", "Motif", decision_reason), ("note", "Note", text),
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
    "SessionEnded": (("device", "Appareil", text),),
    "NoticeSent": (
        ("about_version", "Au sujet de", about("de ce compte")),
        ("outcome", "Résultat", one_of(MAIL_OUTCOMES)),
    ),
    # A credential id is public and long: its first characters tell two keys apart.
    "PasskeyAdded": (("name", "Nom de la clé", text), ("credential_id", "Clé", short)),
    "PasskeyRemoved": (("credential_id", "Clé", short),),
    "PasskeyRequirementSet": (("required", "Clé d'accès exigée", yes_no("oui", "non")),),
    "SignedInWithPasskey": (("credential_id", "Clé", short),),
    "SignedInWithRecoveryCode": (("codes_left", "Codes de secours restants", text),),
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
