"""Passkeys, recovery codes and re-authentication through the API, for front-ends other than
the portal's pages (CONTRACT.md, "Members in control"; domain/use_cases/passkeys.py).

The WebAuthn ceremonies take two calls each: the options (a challenge that answers once,
within 5 minutes), then the browser's answer. Adding or removing a passkey, requiring one and
new recovery codes need a proof of identity of the last 5 minutes in the session
(403 `reauthentication_required` otherwise: POST /me/reauthentication).
"""

from __future__ import annotations

import json
from typing import Any

from flask import g
from flask.views import MethodView

from adapters.http import Blueprint, examples
from adapters.http.auth import BEARER, require_member
from adapters.http.member_schemas import SessionSchema
from adapters.http.openapi import BEARER_ERRORS, JSON_BODY, documented_errors
from adapters.http.passkey_schemas import (
    NewPasskeySchema,
    OptionsSchema,
    PasskeyAddedSchema,
    PasskeySignInSchema,
    PasskeysSchema,
    ReauthenticationSchema,
    RecoveryCodeSignInSchema,
    RecoveryCodesSchema,
    RequirementSchema,
)
from adapters.http.services import services
from domain.use_cases.passkeys import PasskeysView, PasskeyView
from domain.use_cases.views import OpenedSession

blp = Blueprint(
    "passkeys", __name__, url_prefix="/api/v1",
    description="Clés d'accès, codes de secours et confirmation d'identité",
)
PROTECTED = (*BEARER_ERRORS, "password_change_required")
RECENT = (*PROTECTED, "reauthentication_required")
CREDENTIAL_REFUSED = ("credential", "La clé d'accès n'a pas été reconnue.")


def passkey_json(passkey: PasskeyView) -> dict[str, Any]:
    return {
        "passkey_id": passkey.passkey_id, "name": passkey.name,
        "added_at": passkey.added_at.isoformat(),
        "last_used_at": passkey.last_used_at.isoformat() if passkey.last_used_at else None,
    }


def passkeys_json(view: PasskeysView) -> dict[str, Any]:
    return {"passkeys": [passkey_json(p) for p in view.passkeys], "required": view.required,
            "recovery_codes_left": view.recovery_codes_left}


def session_json(opened: OpenedSession) -> dict[str, Any]:
    return {"token": opened.token, "expires_at": opened.expires_at.isoformat(),
            "must_change_password": opened.must_change_password}


def use_case() -> Any:
    return services().use_cases.passkeys


@blp.route("/me/passkeys")
class MyPasskeys(MethodView):
    @require_member()
    @blp.response(200, PasskeysSchema, example=examples.PASSKEYS)
    @documented_errors(blp, *PROTECTED)
    @blp.doc(**BEARER)
    def get(self) -> dict[str, Any]:
        """Mes clés d'accès

        Leurs noms et dates, si une clé est exigée, et combien de codes de secours restent.
        """
        return passkeys_json(use_case().listed(g.session.account_id))

    @require_member()
    @blp.arguments(NewPasskeySchema, example=examples.NEW_PASSKEY)
    @blp.response(201, PasskeyAddedSchema, example=examples.PASSKEY_ADDED)
    @documented_errors(blp, *RECENT, *JSON_BODY, invalid=CREDENTIAL_REFUSED)
    @blp.doc(**BEARER)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Ajouter une clé d'accès

        La réponse du navigateur aux options de POST /me/passkeys/options. La première clé
        vient avec 10 codes de secours, montrés cette seule fois ; chaque clé ajoutée est
        notifiée par e-mail.
        """
        added = use_case().add(
            g.session.account_id, data["name"], data["credential"], g.session.authenticated_at
        )
        return {"passkey": passkey_json(added.passkey), "recovery_codes": added.recovery_codes}


@blp.route("/me/passkeys/options")
class PasskeyOptions(MethodView):
    @require_member()
    @blp.response(200, OptionsSchema, example=examples.PASSKEY_OPTIONS)
    @documented_errors(blp, *RECENT)
    @blp.doc(**BEARER)
    def post(self) -> dict[str, Any]:
        """Options pour ajouter une clé d'accès

        À passer à `navigator.credentials.create()`. Clé découvrable (aucun identifiant à
        saisir ensuite), partie de confiance : l'hôte d'ACCOUNTS_PORTAL_URL.
        """
        options = use_case().registration_options(
            g.session.account_id, g.session.authenticated_at
        )
        return {"options": json.loads(options)}


@blp.route("/me/passkeys/<passkey_id>")
class MyPasskey(MethodView):
    @require_member()
    @blp.response(204)
    @documented_errors(blp, *RECENT, "not_found")
    @blp.doc(**BEARER)
    def delete(self, passkey_id: str) -> None:
        """Supprimer une clé d'accès

        Supprimer la dernière cesse aussi d'exiger une clé : le mot de passe reconnecte.
        """
        use_case().remove(g.session.account_id, passkey_id, g.session.authenticated_at)


@blp.route("/me/passkeys/requirement")
class PasskeyRequirement(MethodView):
    @require_member()
    @blp.arguments(RequirementSchema, example=examples.REQUIREMENT)
    @blp.response(200, RequirementSchema, example=examples.REQUIREMENT)
    @documented_errors(blp, *RECENT, *JSON_BODY, invalid=("required", "Ajoutez d'abord une "
                                                           "clé d'accès."))
    @blp.doc(**BEARER)
    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        """Exiger une clé d'accès pour me connecter

        Le mot de passe seul (même temporaire, après « Codes d'accès oubliés ? ») ne connecte
        plus : une clé d'accès, un code de secours, ou une décision du support.
        """
        required = use_case().require(
            g.session.account_id, data["required"], g.session.authenticated_at
        )
        return {"required": required}


@blp.route("/me/recovery-codes")
class MyRecoveryCodes(MethodView):
    @require_member()
    @blp.response(201, RecoveryCodesSchema, example=examples.RECOVERY_CODES)
    @documented_errors(blp, *RECENT, invalid=("passkeys", "Les codes de secours "
                                                           "accompagnent une clé d'accès."))
    @blp.doc(**BEARER)
    def post(self) -> dict[str, Any]:
        """De nouveaux codes de secours

        10 codes neufs, montrés cette seule fois ; les anciens ne servent plus.
        """
        codes = use_case().regenerate_recovery_codes(
            g.session.account_id, g.session.authenticated_at
        )
        return {"recovery_codes": codes}


@blp.route("/me/reauthentication/options")
class ReauthenticationOptions(MethodView):
    @require_member()
    @blp.response(200, OptionsSchema, example=examples.PASSKEY_OPTIONS)
    @documented_errors(blp, *PROTECTED)
    @blp.doc(**BEARER)
    def post(self) -> dict[str, Any]:
        """Options pour confirmer mon identité avec une clé d'accès

        À passer à `navigator.credentials.get()`, puis la réponse à POST /me/reauthentication
        (`credential`). Seules les clés de ce compte sont proposées.
        """
        return {"options": json.loads(use_case().reauthentication_options(
            g.session.account_id))}


@blp.route("/me/reauthentication")
class Reauthentication(MethodView):
    @require_member()
    @blp.arguments(ReauthenticationSchema, example=examples.REAUTHENTICATION)
    @blp.response(204)
    @documented_errors(blp, *PROTECTED, *JSON_BODY, invalid=("password", "Mot de passe "
                                                                         "incorrect."))
    @blp.doc(**BEARER)
    def post(self, data: dict[str, Any]) -> None:
        """Confirmer mon identité

        Une preuve et une seule : `password`, `credential` (réponse aux options de
        POST /me/reauthentication/options) ou `recovery_code` (dépensé). Vaut 5 minutes dans
        cette session. Un mot de passe ou un code faux compte pour le blocage du compte.
        """
        s, account_id = services(), g.session.account_id
        if "password" in data:
            s.use_cases.sign_in.confirm_password(account_id, data["password"], "password")
        elif "credential" in data:
            use_case().reauthenticate(account_id, data["credential"])
        else:
            use_case().reauthenticate_with_code(account_id, data["recovery_code"])
        s.sessions.reauthenticated(g.session.digest, s.clock())


@blp.route("/sessions/passkey/options")
class PasskeySignInOptions(MethodView):
    @blp.response(200, OptionsSchema, example=examples.PASSKEY_OPTIONS)
    @documented_errors(blp, "rate_limited")
    def post(self) -> dict[str, Any]:
        """Options pour se connecter avec une clé d'accès

        Sans identifiant : le navigateur propose les clés de l'Espace Client qu'il connaît.
        """
        return {"options": json.loads(use_case().sign_in_options())}


@blp.route("/sessions/passkey")
class PasskeySignIn(MethodView):
    @blp.arguments(PasskeySignInSchema, example=examples.PASSKEY_SIGN_IN)
    @blp.response(201, SessionSchema, example=examples.SESSION)
    @documented_errors(blp, *JSON_BODY, "invalid_credentials", "rate_limited",
                       invalid=("credential", "Champ obligatoire."))
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Se connecter avec une clé d'accès

        Comme POST /sessions : 201 et un jeton ; 401 `invalid_credentials` pour toute réponse
        refusée (défi inconnu, déjà servi ou expiré, origine, signature, compteur, clé inconnue).
        """
        return session_json(use_case().sign_in(data["credential"]))


@blp.route("/sessions/recovery-code")
class RecoveryCodeSignIn(MethodView):
    @blp.arguments(RecoveryCodeSignInSchema, example=examples.RECOVERY_CODE_SIGN_IN)
    @blp.response(201, SessionSchema, example=examples.SESSION)
    @documented_errors(blp, *JSON_BODY, "invalid_credentials", "rate_limited",
                       invalid=("recovery_code", "Champ obligatoire."))
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Se connecter avec un code de secours

        L'identifiant et l'un des codes de secours, qui est alors dépensé. Un code faux compte
        pour le blocage du compte, comme un mot de passe faux.
        """
        return session_json(use_case().sign_in_with_code(
            data["identifier"], data["recovery_code"]))
