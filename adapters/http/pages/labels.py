"""What the portal's templates show in words: field labels, sections, relations, dates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import g, session

from adapters.http.pages.member_cookie import COOKIE_KEY, current_member
from adapters.mail_french import PARIS, euros

# The contract's accessible names, by the API's field names (the error summary uses them too).
LABELS = {
    "member_number": "Numéro d'adhérent",
    "last_name": "Nom",
    "first_name": "Prénom",
    "birth_date": "Date de naissance",
    "email": "Adresse e-mail",
    "secret_question": "Question secrète",
    "secret_answer": "Réponse secrète",
    "question": "Question secrète",
    "answer": "Réponse secrète",
    "identifier": "Identifiant",
    "password": "Mot de passe",
    "current_password": "Mot de passe actuel",
    "new_password": "Nouveau mot de passe",
    "new_email": "Nouvelle adresse e-mail",
    "token": "Code de vérification",
    "message": "Message",
    "kind": "Objet de votre demande",
    "reimbursements": "Alertes e-mail",
    "name": "Nom de la clé",
    "recovery_code": "Code de secours",
}
# The FAQ's names of the portal's rubriques.
SECTIONS = {
    "health": ("Votre complémentaire santé",
               "Vos remboursements des 12 derniers mois et ceux de vos bénéficiaires."),
    "retirement": ("Votre Retraite", "Vos paiements de pension de retraite complémentaire."),
    "fiscal_certificate": ("Votre attestation fiscale",
                           "Consultez et imprimez votre attestation fiscale annuelle."),
    "points_statement": ("Votre relevé de points retraite",
                         "L'ensemble de vos droits Agirc-Arrco, actualisé chaque année."),
}
RELATIONS = {"spouse": "Conjoint(e)", "child": "Enfant", "other": "Autre ayant droit"}
REQUEST_KINDS = {
    "email_update": "Mettre à jour mon adresse e-mail",
    "closure": "Fermer mon compte",
    "other": "Autre problème (inscription, connexion, e-mail non reçu…)",
}


def paris(moment: datetime | str | None) -> str:
    """An instant as a member reads it: 03/12/2026 à 17 h 42 (heure de Paris)."""
    if not moment:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H h %M")


def day(value: date | str | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def page_context() -> dict[str, Any]:
    return {
        "LABELS": LABELS, "SECTIONS": SECTIONS, "RELATIONS": RELATIONS,
        "REQUEST_KINDS": REQUEST_KINDS, "paris": paris, "day": day, "euros": euros,
        "member": _member(),
    }


def _member() -> Any:
    """Who is signed in, for the header's links; looked up only when the cookie holds a
    session (a visitor who never signed in costs nothing)."""
    if "member" not in g:
        # None first: when the lookup fails (the database is down), the error page rendered
        # next must not try it again.
        g.member = None
        g.member = current_member() if COOKIE_KEY in session else None
    return g.member
