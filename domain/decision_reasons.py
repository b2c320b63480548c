"""Why an agent decided as they did, as a code from a fixed list per kind of decision.

The agent's free-text note may quote the member, so it is sealed with the member's key and
reads as erased once they are (personal_data.py). The reason is a code the service itself
defines, naming no one: it is stored in clear and survives the erasure, so an auditor can
still read why a closed account was opened, changed or closed. What a code means is kept here,
once, so every place that shows a decision words it the same.

A decision recorded before reasons existed has none (None), shown as NOT_GIVEN.
"""

from __future__ import annotations

from domain.errors import FieldError

NOT_GIVEN = "non précisé"
UNKNOWN = "Motif inconnu pour cette décision : choisissez-en un dans la liste."

# One French label per code, whatever the decision: a code reads the same wherever it is
# shown, even where only the event is at hand and not the kind of request it decided.
LABELS: dict[str, str] = {
    # Identity confirmed, or not.
    "identity_confirmed_by_document": "Identité confirmée par un justificatif",
    "identity_confirmed_by_phone": "Identité confirmée par téléphone",
    "directory_typo": "Erreur de saisie dans l'annuaire",
    "registration_typo": "Faute de frappe à l'inscription",
    "usage_name": "Nom d'usage ou nom de naissance",
    "name_variant": "Accents, tirets ou prénom composé",
    "not_the_member": "La personne n'est pas l'adhérent",
    "no_document": "Aucun justificatif reçu",
    "document_mismatch": "Le justificatif ne correspond pas à l'adhérent",
    "unreachable": "Personne injoignable",
    "suspected_fraud": "Usurpation d'identité soupçonnée",
    "identity_not_proven": "Identité du demandeur non prouvée",
    # What was asked.
    "requested_by_member": "Demande du membre, identité vérifiée",
    "old_address_lost": "Ancienne adresse e-mail perdue ou inaccessible",
    "address_typo": "Adresse e-mail mal saisie",
    "invalid_address": "Nouvelle adresse invalide ou inutilisable",
    "already_done": "Déjà fait : rien à changer",
    "member_deceased": "Décès de l'adhérent, sur justificatif",
    "coverage_ended": "Fin de couverture ou d'adhésion",
    "duplicate_account": "Compte en double",
    "withdrawn": "Demande retirée par le membre",
    "no_account": "Aucun compte ne correspond",
    "duplicate": "Demande en double",
    "answered": "Réponse apportée au demandeur",
    "credentials_resent": "Identifiants renvoyés",
    "account_unlocked": "Compte débloqué",
    "registration_help": "Aide à l'inscription",
    "forwarded": "Transmise au service concerné (contrat, remboursements)",
    "out_of_scope": "Hors du périmètre de l'Espace Client",
    "abusive": "Message abusif ou sans objet",
    "other": "Autre motif (voir la note)",
}

# By (kind of item, decision), in the order an agent is offered them: the usual first.
REASONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("identity_review", "approve"): (
        "identity_confirmed_by_document", "identity_confirmed_by_phone", "directory_typo",
        "registration_typo", "usage_name", "name_variant", "other",
    ),
    ("identity_review", "reject"): (
        "not_the_member", "no_document", "document_mismatch", "duplicate", "unreachable",
        "suspected_fraud", "other",
    ),
    ("email_update", "accept"): (
        "requested_by_member", "identity_confirmed_by_document", "identity_confirmed_by_phone",
        "old_address_lost", "address_typo", "other",
    ),
    ("email_update", "reject"): (
        "identity_not_proven", "invalid_address", "already_done", "no_account", "duplicate",
        "other",
    ),
    ("closure", "accept"): (
        "requested_by_member", "member_deceased", "coverage_ended", "duplicate_account",
        "other",
    ),
    ("closure", "reject"): (
        "identity_not_proven", "withdrawn", "no_account", "duplicate", "other",
    ),
    ("other", "accept"): (
        "answered", "credentials_resent", "account_unlocked", "registration_help", "forwarded",
        "other",
    ),
    ("other", "reject"): (
        "identity_not_proven", "out_of_scope", "duplicate", "abusive", "other",
    ),
}


def reasons_for(kind: str, decision: str) -> tuple[str, ...]:
    """The codes an agent may give for this decision on an item of this kind."""
    return REASONS.get((kind, decision), ())


def codes_of(kinds: tuple[str, ...]) -> tuple[str, ...]:
    """Every code some decision on these kinds takes, in a stable order (the API's list)."""
    found: dict[str, None] = {}
    for (kind, _), codes in REASONS.items():
        if kind in kinds:
            found.update(dict.fromkeys(codes))
    return tuple(found)


def checked_reason(kind: str, decision: str, reason: str | None) -> str | None:
    """The reason as recorded (None when none is given), or FieldError on `reason` when it is
    not one of this decision's: checked before anything is recorded."""
    if reason is None or reason == "":
        return None
    if reason not in reasons_for(kind, decision):
        raise FieldError("reason", UNKNOWN)
    return reason


def reason_label(reason: str | None) -> str:
    """The reason in French; a decision recorded without one says so."""
    if reason is None:
        return NOT_GIVEN
    return LABELS.get(reason, reason)
