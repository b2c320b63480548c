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
from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from adapters.http import Blueprint
from adapters.http.errors import ApiError
from adapters.http.schemas import (
    MEMBER_NUMBER,
    BaseSchema,
    Day,
    Email,
    Str,
    length,
    name_field,
    no_control_characters,
    not_blank,
    past_date,
)
from adapters.http.services import services
from domain.use_cases.views import (
    RecoveryRequest,
    RegistrationRequest,
    RegistrationView,
    SupportRequestForm,
)

blp = Blueprint("portal", __name__, url_prefix="/api/v1", description="Espace Client")

IDEMPOTENCY_KEY = re.compile(r"\A[\x21-\x7e]{1,255}\Z")

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


class RegistrationSchema(BaseSchema):
    member_number = Str(required=True, validate=MEMBER_NUMBER)
    last_name = name_field()
    first_name = name_field()
    birth_date = Day(required=True, validate=past_date)
    email = Email(required=True, validate=length(3, 254))
    secret_question = Str(validate=[length(3, 200), no_control_characters, not_blank])
    secret_answer = Str(validate=[length(1, 200), no_control_characters, not_blank])

    @pre_load
    def tidy(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        # People type member numbers with spaces and in lower case; the directory does not.
        number = data.get("member_number")
        if isinstance(number, str):
            data = {**data, "member_number": number.replace(" ", "").upper()}
        email = data.get("email")
        if isinstance(email, str):
            data = {**data, "email": email.strip()}
        return data

    @validates_schema
    def question_and_answer_together(self, data: dict[str, Any], **_: Any) -> None:
        if ("secret_question" in data) != ("secret_answer" in data):
            missing = "secret_answer" if "secret_question" in data else "secret_question"
            raise ValidationError(
                "La question secrète et sa réponse vont ensemble.", field_name=missing
            )


class RecoverySchema(BaseSchema):
    member_number = Str(required=True, validate=MEMBER_NUMBER)
    last_name = name_field()
    first_name = name_field()
    birth_date = Day(required=True, validate=past_date)
    new_email = Email(validate=length(3, 254))
    secret_answer = Str(validate=[length(1, 200), no_control_characters, not_blank])

    tidy = RegistrationSchema.tidy

    @validates_schema
    def email_and_answer_together(self, data: dict[str, Any], **_: Any) -> None:
        if ("new_email" in data) != ("secret_answer" in data):
            missing = "secret_answer" if "new_email" in data else "new_email"
            raise ValidationError(
                "La nouvelle adresse et la réponse à la question secrète vont ensemble.",
                field_name=missing,
            )


class RecoveryAcceptedSchema(BaseSchema):
    message = fields.String(required=True)


class VerificationSchema(BaseSchema):
    token = Str(required=True, validate=[length(1, 64), not_blank])


class VerifiedSchema(BaseSchema):
    email = fields.String(required=True)


class SupportRequestFormSchema(BaseSchema):
    kind = Str(
        required=True,
        validate=validate.OneOf(
            ("email_update", "closure", "other"),
            error="Valeur attendue : email_update, closure ou other.",
        ),
    )
    last_name = name_field()
    first_name = name_field()
    message = Str(required=True, validate=[length(1, 2000), no_control_characters, not_blank])
    member_number = Str(validate=MEMBER_NUMBER)
    birth_date = Day(validate=past_date)
    identifier = Str(validate=validate.Regexp(r"\A[0-9]{8}\Z", error="8 chiffres attendus."))
    email = Email(validate=length(3, 254))
    new_email = Email(validate=length(3, 254))

    tidy = RegistrationSchema.tidy


class SupportRequestCreatedSchema(BaseSchema):
    request_id = fields.String(required=True)


class RegistrationCreatedSchema(BaseSchema):
    registration_id = fields.String(required=True)
    status = fields.String(required=True)
    reason = fields.String()
    message = fields.String(required=True)


class RegistrationStatusSchema(RegistrationCreatedSchema):
    created_at = fields.String(required=True)
    decided_at = fields.String()


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
    if not IDEMPOTENCY_KEY.match(key):
        raise ApiError(
            "validation_error",
            errors={"Idempotency-Key": ["1 à 255 caractères ASCII visibles."]},
        )
    # Keyed digest: the body holds personal data and maybe a secret answer.
    canonical = json.dumps(request.get_json(), sort_keys=True, ensure_ascii=False)
    secret = services().settings.secret_key.encode()
    return key, hmac.new(secret, canonical.encode(), hashlib.sha256).hexdigest()


@blp.route("/registrations")
class Registrations(MethodView):
    @blp.arguments(RegistrationSchema)
    @blp.response(201, RegistrationCreatedSchema)
    @blp.alt_response(409, description="Idempotency-Key reused with another body")
    @blp.alt_response(429, description="Credentials e-mail cap reached for this account")
    @blp.alt_response(503, description="Event store or broker unreachable; nothing recorded")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Activer mon compte: decide a registration request."""
        s = services()
        idempotency = _idempotency()
        s.outbox.check()
        registration = s.use_cases.registration
        view = registration.register(RegistrationRequest(**data), idempotency=idempotency)
        return _answer(view, with_instants=False)


@blp.route("/registrations/<registration_id>")
class Registration(MethodView):
    @blp.response(200, RegistrationStatusSchema)
    @blp.alt_response(404, description="Unknown registration")
    def get(self, registration_id: str) -> dict[str, Any]:
        """Where a registration stands."""
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
    @blp.arguments(RecoverySchema)
    @blp.response(202, RecoveryAcceptedSchema)
    @blp.alt_response(429, description="Too many recoveries from this address")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Codes d'accès oubliés ? The same answer whether or not anything matched."""
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
    @blp.arguments(VerificationSchema)
    @blp.response(200, VerifiedSchema)
    @blp.alt_response(404, description="Unknown, used or expired code")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Confirm an e-mail change with the code sent to the new address (no session needed)."""
        return {"email": services().use_cases.recovery.verify_email(data["token"])}


@blp.route("/support-requests")
class SupportRequests(MethodView):
    @blp.arguments(SupportRequestFormSchema)
    @blp.response(202, SupportRequestCreatedSchema)
    @blp.alt_response(429, description="Too many requests from this address")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """For someone who cannot sign in: the request becomes an item in the support queue."""
        request_id = services().use_cases.support.submit_support_request(SupportRequestForm(**data))
        return {"request_id": str(request_id)}
