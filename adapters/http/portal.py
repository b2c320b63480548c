"""The portal front-end's endpoints: registration ("Activer mon compte")."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import Any
from uuid import UUID

from flask import current_app, request
from flask.views import MethodView

from adapters.http import Blueprint, examples
from adapters.http.errors import ApiError
from adapters.http.openapi import JSON_BODY, documented_errors
from adapters.http.portal_schemas import (
    RecoveryAcceptedSchema,
    RecoverySchema,
    RegistrationCreatedSchema,
    RegistrationSchema,
    RegistrationStatusSchema,
    SupportRequestCreatedSchema,
    SupportRequestFormSchema,
    VerificationSchema,
    VerifiedSchema,
)
from adapters.http.schemas import IDENTIFIER, MEMBER_NUMBER
from adapters.http.services import services
from domain.use_cases.views import (
    RecoveryRequest,
    RegistrationRequest,
    RegistrationView,
    SupportRequestForm,
)

blp = Blueprint("portal", __name__, url_prefix="/api/v1", description="Espace Client")

# Matched whole (fullmatch): the document shows the expression to clients as it is.
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
IDEMPOTENCY_KEY_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "Facultatif : rend une nouvelle tentative sans risque. Pendant 24 heures, la "
    "même clé avec le même corps renvoie la première réponse et n'enregistre rien de nouveau ; "
    "la même clé avec un autre corps répond 409 `conflict`. 1 à 255 caractères ASCII visibles "
    "(ni espace ni accent), sinon 422 `validation_error`.",
    "schema": {
        "type": "string", "minLength": 1, "maxLength": 255, "pattern": IDEMPOTENCY_KEY.pattern,
    },
    "example": "activation-3f9c2b7e-0d41",
}
MESSAGES = {
    "accepted": "Votre compte est activé. Votre identifiant et votre mot de passe temporaire "
    "vous sont envoyés par e-mail dans les 10 minutes.",
    "identity_review": "Les nom et prénom saisis ne correspondent pas exactement à notre "
    "fichier : votre demande est transmise au support technique pour vérification. Vous "
    "recevrez sa réponse par e-mail.",
    "approved": "Votre identification a été validée par le support technique. Vos codes "
    "d'accès vous ont été envoyés par e-mail.",
    "rejected": "Votre demande d'inscription a été rejetée par le support technique.",
    "unknown_member": "Aucun adhérent ne correspond à ce numéro et à cette date de naissance. "
    "Vérifiez votre saisie.",
    "not_eligible": "L'Espace Client est réservé aux assurés santé, aux salariés cotisant à "
    "une institution de retraite complémentaire du groupe et aux retraités qui en perçoivent "
    "une pension.",
    "not_principal_member": "La demande d'inscription doit être effectuée par l'adhérent "
    "principal du contrat santé : vos remboursements figurent dans son dossier.",
    "already_registered": "Un compte existe déjà pour cet adhérent. Cliquez sur « Codes "
    "d'accès oubliés ? » pour recevoir vos codes par e-mail.",
}


def _answer(view: RegistrationView, *, with_instants: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"registration_id": str(view.registration_id), "status": view.status}
    if view.reason:
        body["reason"] = view.reason
    body["message"] = MESSAGES[view.reason or view.status]
    if with_instants:
        body["created_at"] = view.created_at.isoformat()
        if view.decided_at is not None:
            body["decided_at"] = view.decided_at.isoformat()
    return body


def _idempotency() -> tuple[str, str] | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise ApiError(
            "validation_error",
            errors={"Idempotency-Key": ["1 à 255 caractères ASCII visibles."]},
        )
    # Keyed digest: the body holds personal data and maybe a secret answer.
    canonical = json.dumps(request.get_json(), sort_keys=True, ensure_ascii=False)
    secret = services().settings.secret_key.encode()
    return key, hmac.new(secret, canonical.encode(), hashlib.sha256).hexdigest()


def _registered(status: str, reason: str | None = None) -> dict[str, Any]:
    body = {"registration_id": examples.REGISTRATION_ID, "status": status}
    return {"value": {**body, **({"reason": reason} if reason else {}),
                      "message": MESSAGES[reason or status]}}


@blp.route("/registrations")
class Registrations(MethodView):
    @blp.arguments(RegistrationSchema, example=examples.REGISTRATION)
    @blp.response(201, RegistrationCreatedSchema, examples={
        "accepted": _registered("accepted"),
        "identity_review": _registered("identity_review"),
        "refused": _registered("refused", "not_principal_member"),
    })
    @documented_errors(
        blp, *JSON_BODY, "conflict", "rate_limited",
        invalid=("birth_date", "Date passée attendue."),
        validation_error="Un champ est invalide, ou l'en-tête Idempotency-Key n'a pas la forme "
        "attendue.",
        conflict="La même Idempotency-Key est revenue avec un autre corps, ou une requête "
        "concurrente l'a emporté ; rien n'a été enregistré.",
        rate_limited="Trop de demandes depuis cette adresse (ACCOUNTS_RATE_LIMITS), ou déjà "
        "3 e-mails d'identifiants envoyés à ce compte en 24 heures ; réessayer après "
        "`Retry-After` secondes.",
    )
    @blp.doc(parameters=[IDEMPOTENCY_KEY_HEADER])
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Activer mon compte

        Décide une demande d'inscription : compte ouvert et identifiants envoyés par e-mail
        (`accepted`), vérification par le support (`identity_review`) ou refus motivé
        (`refused` et `reason`). Une nouvelle demande pendant la vérification renvoie la même
        inscription.
        """
        s = services()
        idempotency = _idempotency()
        s.outbox.check()
        registration = s.use_cases.registration
        view = registration.register(RegistrationRequest(**data), idempotency=idempotency)
        return _answer(view, with_instants=False)


@blp.route("/registrations/<registration_id>")
class Registration(MethodView):
    @blp.response(200, RegistrationStatusSchema, example={
        **_registered("approved")["value"],
        "created_at": examples.CREATED_AT, "decided_at": examples.DECIDED_AT,
    })
    @documented_errors(blp, "not_found", not_found="Inscription inconnue.")
    def get(self, registration_id: str) -> dict[str, Any]:
        """Suivre une inscription

        Où en est une demande d'inscription, y compris la décision du support après une
        vérification d'identité (`approved` ou `rejected`).
        """
        try:
            key = UUID(registration_id)
        except ValueError:
            raise ApiError("not_found") from None
        return _answer(services().use_cases.registration.get_registration(key), with_instants=True)


RECOVERY_ANSWER = {
    "message": "Si les informations saisies correspondent à un compte, votre identifiant et un "
    "nouveau mot de passe temporaire vous sont envoyés par e-mail dans les 10 minutes. Votre "
    "mot de passe actuel reste valable tant que vous n'avez pas utilisé le nouveau."
}


@blp.route("/recoveries")
class Recoveries(MethodView):
    @blp.arguments(RecoverySchema, example=examples.HELENE)
    @blp.response(202, RecoveryAcceptedSchema, example=RECOVERY_ANSWER)
    @documented_errors(
        blp, *JSON_BODY, "rate_limited", invalid=("member_number", MEMBER_NUMBER.error)
    )
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Codes d'accès oubliés ?

        Si l'identité correspond à un compte ouvert, l'identifiant et un nouveau mot de passe
        temporaire partent par e-mail (à une nouvelle adresse avec `new_email` et la bonne
        `secret_answer`). La réponse est la même, dans le même délai, que quelque chose
        corresponde ou non.
        """
        started = time.monotonic()
        s = services()
        s.outbox.check()
        s.use_cases.recovery.recover(RecoveryRequest(**data))
        # A match reads, writes and enqueues; no match returns at once. Answering no sooner
        # than a floor keeps the two indistinguishable by timing (CONTRACT.md).
        floor = current_app.config["RECOVERY_MIN_SECONDS"]
        time.sleep(max(0.0, floor - (time.monotonic() - started)))
        return RECOVERY_ANSWER


@blp.route("/email-verifications")
class EmailVerifications(MethodView):
    @blp.arguments(VerificationSchema, example={"token": "CODEEXEMPLE00000"})
    @blp.response(200, VerifiedSchema, example={"email": examples.NEW_EMAIL})
    @documented_errors(
        blp, *JSON_BODY, "not_found", "conflict", invalid=("token", "Champ obligatoire."),
        not_found="Code inconnu, déjà utilisé ou expiré.",
    )
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Confirmer une nouvelle adresse e-mail

        Avec le code de vérification envoyé à la nouvelle adresse ; sans session, le code peut
        être saisi sur un autre appareil. Un avis part vers l'ancienne adresse.
        """
        return {"email": services().use_cases.recovery.verify_email(data["token"])}


@blp.route("/support-requests")
class SupportRequests(MethodView):
    @blp.arguments(SupportRequestFormSchema, example=examples.SUPPORT_REQUEST)
    @blp.response(202, SupportRequestCreatedSchema, example={"request_id": examples.REQUEST_ID})
    @documented_errors(
        blp, *JSON_BODY, "conflict", "rate_limited", invalid=("identifier", IDENTIFIER.error)
    )
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Écrire au support

        Pour qui ne peut pas se connecter : changement d'adresse e-mail, clôture ou autre
        demande. La demande devient un élément de la file du support.
        """
        request_id = services().use_cases.support.submit_support_request(SupportRequestForm(**data))
        return {"request_id": str(request_id)}
