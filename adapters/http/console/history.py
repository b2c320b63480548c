"""An account's recent history in words, for the agent: its last events, newest first, with
who caused each. Only event types, instants, reasons and actors are shown, never the personal
data an event carries (a changed address, a decision's note stay out): a closed account's
history reads the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.audit_words import CREDENTIALS_REASONS, LABELS, RECOVERY_OUTCOMES
from adapters.http.console.labels import hour
from adapters.http.services import services
from domain.account import SIGN_INS, Account
from domain.decision_reasons import reason_label

RECENT = 10
PAGE = 50  # the events read at a time while looking back for the last sign-in

# The reasons and outcomes read as the auditor's timeline says them (audit_words.py).
EMAIL_REASONS = {
    "member": "par le membre",
    "support": "par le support",
    "recovery": "avec la réponse secrète",
    "registration_retry": "à l'inscription recommencée",
}
PLAIN = {
    "AccountOpened": "Compte ouvert",
    "TempPasswordIssued": "Mot de passe temporaire créé",
    "CredentialsEmailSent": "E-mail des codes d'accès envoyé",
    "CredentialsEmailFailed": "Échec d'envoi de l'e-mail des codes d'accès",
    "CredentialsEmailOverdue": "E-mail des codes d'accès toujours pas remis une heure après",
    "SignInFailed": "Échec de connexion",
    "AccountUnlocked": "Compte débloqué",
    "PasswordChanged": "Mot de passe modifié",
    "EmailChangeRequested": "Changement d'adresse e-mail demandé",
    "EmailVerificationIssued": "Code de vérification envoyé à la nouvelle adresse",
    "SecretQuestionSet": "Question secrète enregistrée",
    "ClosureRequested": "Clôture demandée par le membre",
    "AccountClosed": "Compte clôturé",
    "PersonalDataErased": "Données personnelles effacées",
}
# A decision reads with its reason, never its note: the reason names no one and outlives the
# member's erasure; the note may quote them.
DECISIONS = ("IdentityApproved", "IdentityRejected", "SupportRequestAccepted",
             "SupportRequestRejected")


@dataclass(frozen=True)
class Line:
    at: datetime
    what: str
    who: str


def recent(account_id: UUID, size: int = RECENT) -> list[Line]:
    """The account's last `size` events in words, newest first."""
    events = services().lifecycle.events.get(account_id, desc=True, limit=size)
    return [Line(event.timestamp, words(event), actor_words(event)) for event in events]


def last_sign_in(account: Account) -> datetime | None:
    """When the member last signed in: the newest SignedIn, looked for page by page from the
    end (an account lives for years; its sign-ins are among its latest events)."""
    if not account.has_signed_in:
        return None
    events, before = services().lifecycle.events, None
    while True:
        page = list(events.get(account.id, desc=True, limit=PAGE, lte=before))
        for event in page:
            if isinstance(event, SIGN_INS):
                return event.timestamp
        if len(page) < PAGE:
            return None
        before = page[-1].originator_version - 1


def words(event: Any) -> str:
    name = type(event).__name__
    if name in PLAIN:
        return PLAIN[name]
    if name in DECISIONS:
        return f"{LABELS[name]} (Motif : {reason_label(getattr(event, 'reason', None))})"
    detail = getattr(event, "reason", None) or getattr(event, "outcome", None)
    if name == "CredentialsRequested":
        return f"Envoi des codes d'accès demandé ({CREDENTIALS_REASONS.get(detail, detail)})"
    if name == "EmailChanged":
        return f"Adresse e-mail modifiée {EMAIL_REASONS.get(detail, '')}".strip()
    if name == "RecoveryRequested":
        return f"Codes d'accès oubliés : {RECOVERY_OUTCOMES.get(detail, detail)}"
    if name == "SignedIn":
        temporary = getattr(event, "with_temporary", False)
        return "Connexion avec le mot de passe temporaire" if temporary else "Connexion"
    if name == "AccountLocked":
        return f"Compte verrouillé jusqu'à {hour(event.until)} après 5 échecs de connexion"
    if name == "AlertsPreferenceChanged":
        state = "activées" if event.reimbursements else "désactivées"
        return f"Alertes e-mail de remboursement {state}"
    if name == "NoticeSent":
        return ("E-mail d'information envoyé" if detail == "sent"
                else "E-mail d'information non envoyé : plus d'adresse")
    return name


def actor_words(event: Any) -> str:
    role, _, name = str(getattr(event, "actor", "") or "").partition(":")
    if role == "member":
        return "Le membre"
    if role == "support":
        return f"Support ({name})"
    if role == "claims":
        return f"Flux des remboursements ({name})"
    return "Le service"
