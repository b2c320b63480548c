"""Request and answer bodies of the passkey, recovery-code and re-authentication endpoints
(passkeys.py, and the Sécurité page)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validates_schema

from adapters.http.member_schemas import PASSWORD_FIELD_MAX
from adapters.http.schemas import BaseSchema, Bool, Str, length, no_control_characters
from domain.account_passkeys import PASSKEY_NAME_MAX

CREDENTIAL = (
    "La réponse du navigateur, telle que `PublicKeyCredential.toJSON()` la donne (id, rawId, "
    "type, response…), en réponse aux options obtenues juste avant."
)


def credential_field(required: bool = True) -> fields.Dict:
    return fields.Dict(
        required=required, keys=fields.String(), metadata={"description": CREDENTIAL},
        error_messages={"required": "Champ obligatoire.", "invalid": "Un objet JSON est attendu."},
    )


class OptionsSchema(BaseSchema):
    options = fields.Dict(required=True, metadata={
        "description": "Les options WebAuthn (`publicKey`) à passer au navigateur, par "
        "exemple avec `PublicKeyCredential.parseCreationOptionsFromJSON` ou "
        "`parseRequestOptionsFromJSON`. Le défi qu'elles portent ne sert qu'une fois, "
        "pendant 5 minutes."})


class NewPasskeySchema(BaseSchema):
    name = Str(required=True, validate=[length(1, PASSKEY_NAME_MAX), no_control_characters],
               metadata={"description": "Le nom que le membre donne à cette clé."})
    credential = credential_field()


class PasskeySchema(BaseSchema):
    passkey_id = fields.String(required=True)
    name = fields.String(required=True)
    added_at = fields.String(required=True)
    last_used_at = fields.String(allow_none=True, required=True)


class PasskeyAddedSchema(BaseSchema):
    passkey = fields.Nested(PasskeySchema, required=True)
    recovery_codes = fields.List(fields.String(), required=True, metadata={
        "description": "Avec la première clé seulement : 10 codes de secours à usage unique, "
        "montrés cette fois-ci et jamais plus (ils sont gardés hachés). Vide ensuite."})


class PasskeysSchema(BaseSchema):
    passkeys = fields.List(fields.Nested(PasskeySchema), required=True)
    required = fields.Boolean(required=True, metadata={
        "description": "Une clé d'accès est exigée : le mot de passe seul ne connecte plus."})
    recovery_codes_left = fields.Integer(required=True)


class RequirementSchema(BaseSchema):
    required = Bool(required=True)


class RecoveryCodesSchema(BaseSchema):
    recovery_codes = fields.List(fields.String(), required=True)


class PasskeySignInSchema(BaseSchema):
    credential = credential_field()


class RecoveryCodeSignInSchema(BaseSchema):
    identifier = Str(required=True, validate=length(1, 64))
    recovery_code = Str(required=True, validate=length(1, 64))


class ReauthenticationSchema(BaseSchema):
    """One proof of identity: the password, a passkey's answer or a recovery code."""

    password = Str(validate=length(1, PASSWORD_FIELD_MAX))
    credential = credential_field(required=False)
    recovery_code = Str(validate=length(1, 64))

    @validates_schema
    def one_proof(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = [name for name in ("password", "credential", "recovery_code") if name in data]
        if len(given) != 1:
            raise ValidationError("Donnez une preuve et une seule : mot de passe, clé d'accès "
                                  "ou code de secours.", "password")
