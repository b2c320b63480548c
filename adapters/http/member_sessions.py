"""A member in control: their sessions (list, end one, end all the others) and the export of
their data (CONTRACT.md, "Members in control")."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask.views import MethodView

from adapters.http import Blueprint
from adapters.http.auth import BEARER, require_member
from adapters.http.member_data import attachment_headers, devices, document, export, session_views
from adapters.http.openapi import MEMBER_SESSION, documented_errors
from adapters.http.session_schemas import EXPORT, SESSIONS, ExportSchema, MemberSessionsSchema
from adapters.sessions import bind_user_agent

blp = Blueprint(
    "member_sessions", __name__, url_prefix="/api/v1",
    description="Mes appareils connectés et mes données",
)


@blp.before_app_request
def remember_the_device() -> None:
    # A sign-in, by the API or the pages, opens its session with this request's device.
    bind_user_agent(request.headers.get("User-Agent"))


@blp.route("/me/sessions")
class MySessions(MethodView):
    @require_member()
    @blp.response(200, MemberSessionsSchema, example=SESSIONS)
    @documented_errors(blp, *MEMBER_SESSION)
    @blp.doc(**BEARER)
    def get(self) -> dict[str, Any]:
        """Mes appareils connectés

        Les sessions ouvertes du membre, la plus récemment utilisée d'abord : début, dernière
        activité, appareil (tiré de l'en-tête User-Agent, « Appareil inconnu » sans lui) ;
        `current` marque celle de ce jeton. Ni jeton ni empreinte n'y figurent.
        """
        sessions = devices().listed(g.session.account_id)
        return {"sessions": session_views(sessions, g.session.digest)}

    @require_member()
    @blp.response(204)
    @documented_errors(blp, *MEMBER_SESSION, "conflict")
    @blp.doc(**BEARER)
    def delete(self) -> None:
        """Déconnecter tous les autres appareils

        Ajout au contrat : ferme aussitôt toutes les sessions du membre sauf celle de ce jeton.
        Chaque session fermée est un événement du compte (« Session fermée sur un autre
        appareil »).
        """
        devices().end_others(g.session.account_id, g.session.digest)


@blp.route("/me/sessions/<session_id>")
class MySession(MethodView):
    @require_member()
    @blp.response(204)
    @documented_errors(
        blp, *MEMBER_SESSION, "not_found", "conflict",
        not_found="Aucune session ouverte du membre n'a cet identifiant (celle d'un autre "
        "membre non plus).",
    )
    @blp.doc(**BEARER)
    def delete(self, session_id: str) -> None:
        """Déconnecter un appareil

        La session cesse aussitôt de fonctionner ; celle de ce jeton aussi, c'est alors une
        déconnexion. Fermer celle d'un autre appareil est un événement du compte.
        """
        devices().end(g.session.account_id, session_id, current=g.session.digest)


@blp.route("/me/export")
class MyData(MethodView):
    @require_member()
    @blp.response(
        200, ExportSchema, example=EXPORT,
        headers={"Content-Disposition": {
            "description": '`attachment; filename="mes-donnees-<identifiant>.json"`.',
            "schema": {"type": "string"},
        }},
    )
    @documented_errors(blp, *MEMBER_SESSION, "conflict")
    @blp.doc(**BEARER)
    def get(self) -> Any:
        """Télécharger mes données

        Un document JSON en pièce jointe (RGPD, articles 15 et 20) : le compte, son historique
        en mots (événement, instant, auteur), les sessions, les clés d'accès (noms et dates),
        les remboursements et les préférences ; jamais une empreinte, un jeton, un code ni la
        réponse secrète. Chaque export est un événement du compte.
        """
        data = export().for_member(g.session.account_id)
        return document(data, g.session.digest), 200, attachment_headers(data.identifier)
